import Foundation
import NN
import Phantoms
import Store
import Tensor

/// Why `runner predict` could not do its job; the message names the file and the reason.
public struct PredictError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One reconstructed phantom: where it came from, where it went, and its metrics against the
/// input's ground truth (Stage 1 is an autoencoder, so the input volume is the ground truth).
public struct PhantomPrediction: Sendable {
    public var id: Int
    public var input: URL
    public var output: URL
    /// rmse, rmse.mua, rmse.musp, ssim…, psnr…, mae… (raw mm⁻¹; PSNR at the data range).
    public var metrics: [String: Double]
}

public struct PredictionReport: Sendable {
    public var phantoms: [PhantomPrediction]
    /// The same metrics over every phantom: RMSE over all voxels, SSIM averaged over phantoms.
    public var total: [String: Double]
    public var size: Int
    public var standardized: Bool
    public var seconds: Double
}

/// `runner predict`: reconstructs phantom files with a trained Stage 1 model and writes each
/// reconstruction in the phantom layout (`<out>/phantom_<k>/phantom_<k>_scan.h5`: `ground_truth` =
/// the reconstruction, `tissue_labels` and measurement datasets carried from the input).
///
/// Nothing is half-written: reconstructions go to a hidden staging directory inside the output
/// directory and are renamed into place only after every input was read, reconstructed and written;
/// any failure (or cancellation) removes the staging directory.
public enum Predictor {
    public struct Options {
        public var checkpoint: URL
        /// The checkpoint as the user named it, for messages.
        public var checkpointName: String
        public var inputs: [URL]
        public var outputDirectory: URL
        public var threads: Int
        public var dataRange: Double
        public var batchSize: Int

        public init(checkpoint: URL, checkpointName: String? = nil, inputs: [URL], outputDirectory: URL,
                    threads: Int = 1, dataRange: Double = 1.0, batchSize: Int = 4) {
            self.checkpoint = checkpoint; self.checkpointName = checkpointName ?? checkpoint.path
            self.inputs = inputs; self.outputDirectory = outputDirectory
            self.threads = threads; self.dataRange = dataRange; self.batchSize = batchSize
        }
    }

    /// The phantom files named by `inputs` (files `phantom_<k>_scan.h5`, or directories searched
    /// recursively for them), sorted by id; each id at most once.
    public static func inputFiles(_ inputs: [URL]) throws -> [(id: Int, url: URL)] {
        let fm = FileManager.default
        var found: [(id: Int, url: URL)] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: input.path, isDirectory: &isDirectory) else {
                throw PredictError("\(input.path): no such file or directory")
            }
            if !isDirectory.boolValue {
                guard let id = PhantomIO.phantomID(fromPath: input.path) else {
                    throw PredictError("\(input.path): not a phantom file name (expected phantom_<k>_scan.h5)")
                }
                found.append((id, input.standardizedFileURL))
                continue
            }
            guard let walker = fm.enumerator(at: input, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else {
                throw PredictError("\(input.path): cannot list the directory")
            }
            var here: [(id: Int, url: URL)] = []
            for case let url as URL in walker {
                guard let id = PhantomIO.phantomID(fromPath: url.path),
                      (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
                here.append((id, url.standardizedFileURL))
            }
            guard !here.isEmpty else {
                throw PredictError("\(input.path): holds no phantom files (phantom_<k>/phantom_<k>_scan.h5)")
            }
            found += here
        }
        var byID: [Int: URL] = [:]
        for item in found {
            if let other = byID[item.id], other != item.url {
                throw PredictError("two inputs are phantom \(item.id): \(other.path) and \(item.url.path) (their reconstructions would have the same name)")
            }
            byID[item.id] = item.url
        }
        return byID.keys.sorted().map { ($0, byID[$0]!) }
    }

    public static func run(_ options: Options, progress: (Int, Int) -> Void = { _, _ in },
                           isCancelled: () -> Bool = { false }) throws -> PredictionReport {
        let started = Date()
        HeapPolicy.keepLargeBuffers(environment: ProcessInfo.processInfo.environment)
        guard options.dataRange > 0, options.dataRange.isFinite else { throw PredictError("--data-range must be > 0 (got \(options.dataRange))") }
        let trained: TrainedModel
        do { trained = try TrainedModel.load(options.checkpoint, name: options.checkpointName) } catch {
            throw PredictError("checkpoint: \(error)")
        }
        let size = trained.config.inputSize
        let files = try inputFiles(options.inputs)
        let out = options.outputDirectory.standardizedFileURL
        for file in files where PhantomIO.fileURL(directory: out, id: file.id).standardizedFileURL.path == file.url.path {
            throw PredictError("\(file.url.path): the output would overwrite this input (choose another -o directory)")
        }

        let (staging, createdOutput) = try makeStaging(out)
        var results: [PhantomPrediction] = []
        var metrics: [PhantomMetrics] = []
        do {
            var start = 0
            while start < files.count {
                if isCancelled() { throw PredictError("cancelled; nothing was written") }
                let chunk = Array(files[start..<min(start + max(1, options.batchSize), files.count)])
                var phantoms: [Phantom] = []
                for file in chunk {
                    let phantom: Phantom
                    do { phantom = try PhantomIO.read(file.url, id: file.id, threads: options.threads) } catch {
                        throw PredictError("\(file.url.path): not a readable phantom: \(error)")
                    }
                    guard phantom.size == [size, size, size] else {
                        throw PredictError("\(file.url.path): the phantom is \(phantom.size.map(String.init).joined(separator: "×")) voxels but the checkpoint was trained on \(size)³ volumes")
                    }
                    guard phantom.groundTruth.allSatisfy(\.isFinite) else {
                        throw PredictError("\(file.url.path): ground_truth contains NaN or Inf")
                    }
                    phantoms.append(phantom)
                }
                let x = try Tensor(shape: [phantoms.count, 2, size, size, size], storage: phantoms.flatMap(\.groundTruth))
                let y = try trained.predict(x, threads: options.threads)
                guard y.isFinite else { throw PredictError("the model's reconstruction of \(chunk.map { "phantom \($0.id)" }.joined(separator: ", ")) is not finite") }
                let v = 2 * size * size * size
                for (k, phantom) in phantoms.enumerated() {
                    let m = try PhantomMetrics(prediction: y, target: x, sample: k, size: size, dataRange: options.dataRange)
                    let reconstruction = Phantom(id: phantom.id, size: phantom.size,
                                                 groundTruth: Array(y.storage[(k * v)..<((k + 1) * v)]),
                                                 tissueLabels: phantom.tissueLabels, measurements: phantom.measurements)
                    do { try PhantomIO.write(reconstruction, to: staging) } catch {
                        throw PredictError("\(out.path): cannot write the reconstruction of phantom \(phantom.id): \(error)")
                    }
                    metrics.append(m)
                    results.append(PhantomPrediction(id: phantom.id, input: chunk[k].url,
                                                     output: PhantomIO.fileURL(directory: out, id: phantom.id), metrics: m.table))
                }
                start += chunk.count
                progress(start, files.count)
            }
            // Every reconstruction is written: move them into place.
            for result in results {
                let staged = PhantomIO.fileURL(directory: staging, id: result.id)
                do {
                    try FileManager.default.createDirectory(at: result.output.deletingLastPathComponent(), withIntermediateDirectories: true)
                } catch { throw PredictError("\(out.path): cannot create \(result.output.deletingLastPathComponent().lastPathComponent): \(error.localizedDescription)") }
                guard rename(staged.path, result.output.path) == 0 else {
                    throw PredictError("\(result.output.path): cannot move the reconstruction into place: \(String(cString: strerror(errno)))")
                }
            }
            try? FileManager.default.removeItem(at: staging)
        } catch {
            try? FileManager.default.removeItem(at: staging)
            if createdOutput { rmdir(out.path) }   // only if still empty
            throw error
        }
        let total = PhantomMetrics.aggregate(metrics, dataRange: options.dataRange).table
        return PredictionReport(phantoms: results, total: total, size: size, standardized: trained.standardization != nil,
                                seconds: Date().timeIntervalSince(started))
    }

    /// Creates the output directory (when absent) and a hidden staging directory inside it, so the
    /// final renames stay on one filesystem; an unwritable destination fails here, before any work.
    private static func makeStaging(_ out: URL) throws -> (staging: URL, createdOutput: Bool) {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let existed = fm.fileExists(atPath: out.path, isDirectory: &isDirectory)
        if existed, !isDirectory.boolValue {
            throw PredictError("\(out.path): the output exists and is not a directory")
        }
        let staging = out.appendingPathComponent(".predict-staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try fm.createDirectory(at: out, withIntermediateDirectories: true)
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            if !existed { rmdir(out.path) }
            throw PredictError("\(out.path): cannot write the output directory: \(error.localizedDescription)")
        }
        return (staging, !existed)
    }

    /// The report as JSON (non-finite numbers, e.g. the PSNR of a perfect reconstruction, as null).
    public static func json(_ report: PredictionReport, checkpoint: ResolvedCheckpoint, output: URL) -> JSONValue {
        func numbers(_ m: [String: Double]) -> JSONValue { .object(m.mapValues { $0.isFinite ? .number($0) : .null }) }
        var cp: [String: JSONValue] = ["path": .string(checkpoint.url.path), "origin": .string(checkpoint.origin)]
        if let d = checkpoint.digest { cp["sha256"] = .string(d) }
        return .object([
            "checkpoint": .object(cp),
            "output": .string(output.standardizedFileURL.path),
            "size": .number(Double(report.size)),
            "standardized_targets": .bool(report.standardized),
            "seconds": .number(report.seconds),
            "phantoms": .array(report.phantoms.map { p in
                .object(["id": .number(Double(p.id)), "input": .string(p.input.path), "output": .string(p.output.path), "metrics": numbers(p.metrics)])
            }),
            "total": numbers(report.total),
        ])
    }
}
