import CHDF5
import Foundation

/// A dataset carried through unchanged (the optional measurement datasets): its element type,
/// shape and raw little-endian bytes.
public struct RawArray: Hashable, Sendable {
    public var type: HDF5ElementType
    public var shape: [Int]
    public var bytes: [UInt8]
    public init(type: HDF5ElementType, shape: [Int], bytes: [UInt8]) {
        self.type = type; self.shape = shape; self.bytes = bytes
    }
}

/// One phantom: ground truth (2, D, H, W) float32 channels [μa, μs′] in mm⁻¹, tissue labels
/// (D, H, W) uint8 (0 air, 1 healthy tissue, 2… tumours), and any measurement datasets.
public struct Phantom: Hashable, Sendable {
    public var id: Int
    /// (D, H, W)
    public var size: [Int]
    public var groundTruth: [Float]
    public var tissueLabels: [UInt8]
    public var measurements: [String: RawArray]

    public init(id: Int, size: [Int], groundTruth: [Float], tissueLabels: [UInt8], measurements: [String: RawArray] = [:]) {
        self.id = id; self.size = size; self.groundTruth = groundTruth; self.tissueLabels = tissueLabels; self.measurements = measurements
    }

    public var voxelCount: Int { size.reduce(1, *) }
}

/// Why a phantom file could not be read as a phantom.
public enum PhantomFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// libhdf5 could not open or read it (missing, truncated, not HDF5, corrupt chunk…).
    case unreadable(HDF5Error)
    case missingDataset(path: String, dataset: String)
    case wrongType(path: String, dataset: String, expected: String, found: String)
    case wrongShape(path: String, dataset: String, expected: String, found: [Int])

    public var description: String {
        switch self {
        case .unreadable(let e): return "unreadable: \(e)"
        case .missingDataset(let p, let d): return "\(p): dataset '\(d)' is missing"
        case .wrongType(let p, let d, let e, let f): return "\(p): dataset '\(d)' has type \(f), expected \(e)"
        case .wrongShape(let p, let d, let e, let f): return "\(p): dataset '\(d)' has shape \(f), expected \(e)"
        }
    }
}

/// Reading and writing `<dir>/phantom_<k>/phantom_<k>_scan.h5`.
public enum PhantomIO {
    public static let groundTruthName = "ground_truth"
    public static let tissueLabelsName = "tissue_labels"
    public static let measurementNames = ["log_amplitude", "phase", "source_positions", "detector_positions", "measurement_links"]
    public static let gzipLevel = 4

    public static func relativePath(id: Int) -> String { "phantom_\(id)/phantom_\(id)_scan.h5" }

    public static func fileURL(directory: URL, id: Int) -> URL { directory.appendingPathComponent(relativePath(id: id)) }

    /// The phantom id of a path ending in `phantom_<k>_scan.h5`, if it has that form.
    public static func phantomID(fromPath path: String) -> Int? {
        let name = (path as NSString).lastPathComponent
        guard name.hasPrefix("phantom_"), name.hasSuffix("_scan.h5") else { return nil }
        return Int(name.dropFirst("phantom_".count).dropLast("_scan.h5".count))
    }

    // MARK: writing

    /// A phantom with its chunks already deflated: the CPU-heavy half of a write, safe to run on
    /// many threads at once. `nil` chunks mean libz was not found and libhdf5 compresses instead.
    public struct Encoded: Sendable {
        public let phantom: Phantom
        let channelChunks: [[UInt8]]?
        let labelChunk: [UInt8]?
    }

    public static func encode(_ phantom: Phantom) -> Encoded {
        guard let zlib = Zlib.shared else { return Encoded(phantom: phantom, channelChunks: nil, labelChunk: nil) }
        let n = phantom.voxelCount
        var channels: [[UInt8]] = []
        var ok = true
        phantom.groundTruth.withUnsafeBytes { raw in
            for c in 0..<(phantom.groundTruth.count / max(n, 1)) {
                let part = UnsafeRawBufferPointer(rebasing: raw[(c * n * 4)..<((c + 1) * n * 4)])
                if let z = zlib.deflate(part, level: gzipLevel) { channels.append(z) } else { ok = false }
            }
        }
        let labels = phantom.tissueLabels.withUnsafeBytes { zlib.deflate($0, level: gzipLevel) }
        guard ok, let labels else { return Encoded(phantom: phantom, channelChunks: nil, labelChunk: nil) }
        return Encoded(phantom: phantom, channelChunks: channels, labelChunk: labels)
    }

    /// Writes the phantom to `<directory>/phantom_<k>/phantom_<k>_scan.h5` as h5py would:
    /// ground_truth float32 (2,D,H,W) chunked (1,D,H,W), tissue_labels uint8 (D,H,W) chunked whole,
    /// both gzip level 4; measurements contiguous. Written under a temporary name and renamed,
    /// so a reader never sees half a file.
    @discardableResult
    public static func write(_ phantom: Phantom, to directory: URL) throws -> URL {
        try write(encode(phantom), to: directory)
    }

    @discardableResult
    public static func write(_ encoded: Encoded, to directory: URL) throws -> URL {
        let phantom = encoded.phantom
        let url = fileURL(directory: directory, id: phantom.id)
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw HDF5Error(path: folder.path, call: "createDirectory", detail: "\(error.localizedDescription)")
        }
        let tmp = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        do {
            try writeFile(encoded, at: tmp)
            guard rename(tmp.path, url.path) == 0 else {
                throw HDF5Error(path: url.path, call: "rename", detail: String(cString: strerror(errno)))
            }
        } catch {
            unlink(tmp.path)
            throw error
        }
        return url
    }

    private static func writeFile(_ encoded: Encoded, at url: URL) throws {
        let p = encoded.phantom
        let (d, h, w) = (p.size[0], p.size[1], p.size[2])
        let file = try HDF5File.create(at: url)
        let gt = try file.createDataset(groundTruthName, type: .float32, shape: [2, d, h, w], chunk: [1, d, h, w], gzipLevel: gzipLevel)
        if let chunks = encoded.channelChunks {
            for (c, chunk) in chunks.enumerated() {
                try chunk.withUnsafeBytes { try gt.writeRawChunk(at: [c, 0, 0, 0], bytes: $0) }
            }
        } else {
            try p.groundTruth.withUnsafeBytes { try gt.write(as: .float32, from: $0) }
        }
        let labels = try file.createDataset(tissueLabelsName, type: .uint8, shape: [d, h, w], chunk: [d, h, w], gzipLevel: gzipLevel)
        if let chunk = encoded.labelChunk {
            try chunk.withUnsafeBytes { try labels.writeRawChunk(at: [0, 0, 0], bytes: $0) }
        } else {
            try p.tissueLabels.withUnsafeBytes { try labels.write(as: .uint8, from: $0) }
        }
        for name in p.measurements.keys.sorted() {
            let m = p.measurements[name]!
            let ds = try file.createDataset(name, type: m.type, shape: m.shape)
            try m.bytes.withUnsafeBytes { try ds.write(as: m.type, from: $0) }
        }
        try file.flush()
    }

    // MARK: reading

    /// Reads and checks a phantom file: both datasets present, float32 / uint8, shapes (2,D,H,W)
    /// and (D,H,W). Measurement datasets with a numeric type are carried along; others are skipped.
    ///
    /// Fast path: when a dataset is stored as h5py and runner write it (one deflated or raw chunk
    /// per channel, little-endian), its chunks are fetched as stored and inflated straight into the
    /// arrays, on up to `threads` threads at once (outside libhdf5's global lock). Any other layout is
    /// read through libhdf5.
    public static func read(_ url: URL, id: Int? = nil, threads: Int = 1) throws -> Phantom {
        let path = url.path
        do {
            let file = try HDF5File.open(at: url)
            let names = try file.rootNames()
            for required in [groundTruthName, tissueLabelsName] where !names.contains(required) {
                throw PhantomFileError.missingDataset(path: path, dataset: required)
            }
            let gt = try file.openDataset(groundTruthName)
            let gtType = try gt.typeDescription()
            guard gtType == HDF5ElementType.float32.rawValue else {
                throw PhantomFileError.wrongType(path: path, dataset: groundTruthName, expected: "float32", found: gtType)
            }
            let gtShape = try gt.shape()
            guard gtShape.count == 4, gtShape[0] == 2, gtShape[1...].allSatisfy({ $0 > 0 }) else {
                throw PhantomFileError.wrongShape(path: path, dataset: groundTruthName, expected: "(2, D, H, W)", found: gtShape)
            }
            let size = Array(gtShape[1...])
            let labels = try file.openDataset(tissueLabelsName)
            let labelType = try labels.typeDescription()
            guard labelType == HDF5ElementType.uint8.rawValue else {
                throw PhantomFileError.wrongType(path: path, dataset: tissueLabelsName, expected: "uint8", found: labelType)
            }
            let labelShape = try labels.shape()
            guard labelShape == size else {
                throw PhantomFileError.wrongShape(path: path, dataset: tissueLabelsName, expected: "\(size) (as ground_truth)", found: labelShape)
            }
            let n = size.reduce(1, *)
            var groundTruth = [Float](repeating: 0, count: 2 * n)
            var tissueLabels = [UInt8](repeating: 0, count: n)
            try groundTruth.withUnsafeMutableBytes { gtBuffer in
                try tissueLabels.withUnsafeMutableBytes { labelBuffer in
                    let gtJobs = try chunkJobs(gt, chunk: [1] + size, count: 2, into: gtBuffer)
                    let labelJobs = try chunkJobs(labels, chunk: size, count: 1, into: labelBuffer)
                    if gtJobs == nil { try gt.read(as: .float32, into: gtBuffer) }
                    if labelJobs == nil { try labels.read(as: .uint8, into: labelBuffer) }
                    try decode((gtJobs ?? []) + (labelJobs ?? []), path: path, threads: threads)
                }
            }
            var measurements: [String: RawArray] = [:]
            for name in names where name != groundTruthName && name != tissueLabelsName {
                guard let ds = try? file.openDataset(name), let type = try ds.elementType() else { continue }
                measurements[name] = RawArray(type: type, shape: try ds.shape(), bytes: try ds.readBytes(as: type))
            }
            let phantomID = id ?? phantomID(fromPath: path) ?? 0
            return Phantom(id: phantomID, size: size, groundTruth: groundTruth, tissueLabels: tissueLabels, measurements: measurements)
        } catch let e as HDF5Error {
            throw PhantomFileError.unreadable(e)
        }
    }

    /// One chunk to decode: its stored bytes and where its elements go.
    private struct ChunkJob {
        let dataset: String
        let stored: [UInt8]
        let deflated: Bool
        let target: UnsafeMutableRawBufferPointer
    }

    /// The stored chunks of `ds` when it has exactly `count` chunks of shape `chunk` laid out one
    /// after another along the first axis, deflate as its only filter (or none) and little-endian
    /// bytes; nil when the layout is anything else (then libhdf5 reads it).
    private static func chunkJobs(_ ds: HDF5Dataset, chunk: [Int], count: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> [ChunkJob]? {
        guard Zlib.shared != nil, try ds.chunkShape() == chunk, try ds.isLittleEndian() else { return nil }
        let filters = try ds.filters().map(\.id)
        guard filters.isEmpty || filters == [1] else { return nil }
        let chunkBytes = buffer.count / count
        var jobs: [ChunkJob] = []
        for c in 0..<count {
            let offset = [c * chunk[0]] + [Int](repeating: 0, count: chunk.count - 1)
            guard let (stored, mask) = try ds.readRawChunk(at: offset) else { return nil }
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[(c * chunkBytes)..<((c + 1) * chunkBytes)])
            jobs.append(ChunkJob(dataset: ds.name, stored: stored, deflated: !filters.isEmpty && mask & 1 == 0, target: target))
        }
        return jobs
    }

    private static func decode(_ jobs: [ChunkJob], path: String, threads: Int) throws {
        guard let zlib = Zlib.shared, !jobs.isEmpty else { return }
        try ParallelLoop.run(count: jobs.count, threads: threads) { j in
            let job = jobs[j]
            let ok: Bool = job.stored.withUnsafeBytes { stored in
                if job.deflated { return zlib.inflate(stored, into: job.target) }
                guard stored.count == job.target.count else { return false }
                job.target.copyMemory(from: stored)
                return true
            }
            guard ok else {
                throw HDF5Error(path: path, object: job.dataset, call: job.deflated ? "inflate" : "H5Dread_chunk",
                                detail: "chunk \(j) is corrupt (\(job.stored.count) stored bytes do not decode to \(job.target.count))")
            }
        }
    }
}
