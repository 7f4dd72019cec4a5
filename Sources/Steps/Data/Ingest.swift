import Foundation
import Phantoms
import Store

/// `ingest`: an existing directory of phantom files (`<dir>/phantom_<k>/phantom_<k>_scan.h5`, as
/// h5py writes them) brought into the store. Files are hard-linked into the output directory when
/// the filesystem allows (the store then copies their bytes into objects), copied otherwise.
/// Nothing is checked here beyond the file names: reading and judging the files is `clean`'s job.
public struct IngestStep: StepImplementation {
    public static let kind = StepKind.ingest
    public static let codeVersion = 1
    public init() {}

    struct Params: Decodable { var dir: String }

    public func run(_ request: StepRequest, context: StepContext) throws -> StepResult {
        let params = try DataParams.decode(Params.self, request.params, step: .ingest)
        let dir = URL(fileURLWithPath: params.dir)
        let files = try Self.phantomFiles(in: dir)
        guard !files.isEmpty else { throw StepError("ingest: \(dir.path) holds no phantom_<k>/phantom_<k>_scan.h5 files") }
        let fm = FileManager.default
        var bytes = 0
        for (n, (id, source)) in files.enumerated() {
            if context.isCancelled() { throw StepError("ingest: cancelled") }
            let target = PhantomIO.fileURL(directory: context.outputDirectory, id: id)
            do {
                try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                do { try fm.linkItem(at: source, to: target) } catch { try fm.copyItem(at: source, to: target) }
                bytes += (try fm.attributesOfItem(atPath: target.path)[.size] as? Int) ?? 0
            } catch {
                throw StepError("ingest: cannot copy \(source.path): \(error.localizedDescription)")
            }
            context.progress(StepProgress(done: n + 1, total: files.count, message: "files"))
        }
        return StepResult(summary: .object(["phantoms": DataParams.int(files.count), "bytes": DataParams.int(bytes), "dir": .string(params.dir)]))
    }

    /// `phantom_<k>/phantom_<k>_scan.h5` under `dir`, by id.
    static func phantomFiles(in dir: URL) throws -> [(Int, URL)] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw StepError("ingest: data directory \(dir.path) does not exist")
        }
        let entries: [String]
        do { entries = try fm.contentsOfDirectory(atPath: dir.path) } catch {
            throw StepError("ingest: cannot list \(dir.path): \(error.localizedDescription)")
        }
        var out: [(Int, URL)] = []
        for entry in entries where entry.hasPrefix("phantom_") {
            guard let id = Int(entry.dropFirst("phantom_".count)) else { continue }
            let file = dir.appendingPathComponent(entry).appendingPathComponent("phantom_\(id)_scan.h5")
            if fm.fileExists(atPath: file.path) { out.append((id, file)) }
        }
        return out.sorted { $0.0 < $1.0 }
    }
}
