import CHDF5
import Foundation

/// A failed HDF5 call: which file, which object, which libhdf5 function, and libhdf5's own message.
public struct HDF5Error: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var object: String
    public var call: String
    public var detail: String

    public init(path: String, object: String = "", call: String, detail: String = "") {
        self.path = path; self.object = object; self.call = call; self.detail = detail
    }

    public var description: String {
        let at = object.isEmpty ? path : "\(path):/\(object)"
        return detail.isEmpty ? "\(at): \(call) failed" : "\(at): \(call) failed: \(detail)"
    }
}

/// The element types a phantom file may hold (what `numpy.dtype` would call them).
public enum HDF5ElementType: String, Codable, Hashable, Sendable {
    case float32, float64, int8, uint8, int16, uint16, int32, uint32, int64, uint64

    public var byteCount: Int {
        switch self {
        case .int8, .uint8: return 1
        case .int16, .uint16: return 2
        case .float32, .int32, .uint32: return 4
        case .float64, .int64, .uint64: return 8
        }
    }

    /// The native (little-endian on this machine) memory type of libhdf5.
    var nativeType: hid_t {
        switch self {
        case .float32: return chdf5_native_float()
        case .float64: return chdf5_native_double()
        case .uint8: return chdf5_native_uint8()
        case .int32: return chdf5_native_int32()
        case .int64: return chdf5_native_int64()
        case .int8: return H5T_NATIVE_INT8_g
        case .int16: return H5T_NATIVE_INT16_g
        case .uint16: return H5T_NATIVE_UINT16_g
        case .uint32: return H5T_NATIVE_UINT32_g
        case .uint64: return H5T_NATIVE_UINT64_g
        }
    }
}

/// libhdf5 set-up shared by every entry point. The library is built thread-safe here, which makes
/// its automatic error printing a per-thread setting: every entry point silences it for its thread,
/// so failures come back as `HDF5Error` values and nothing is printed to stderr.
enum HDF5Library {
    static let opened: Bool = H5open() >= 0

    static func prepare(path: String) throws {
        guard opened else { throw HDF5Error(path: path, call: "H5open", detail: "libhdf5 could not be initialised") }
        H5Eset_auto2(hid_t(H5E_DEFAULT), nil, nil)
    }

    /// The innermost message of the calling thread's error stack (the most specific reason).
    static func lastMessage() -> String {
        final class Box { var messages: [String] = [] }
        let box = Box()
        let unmanaged = Unmanaged.passRetained(box)
        defer { unmanaged.release() }
        H5Ewalk2(hid_t(H5E_DEFAULT), H5E_WALK_UPWARD, { _, err, data in
            guard let err, let data else { return 0 }
            let box = Unmanaged<Box>.fromOpaque(data).takeUnretainedValue()
            if let desc = err.pointee.desc { box.messages.append(String(cString: desc)) }
            return 0
        }, unmanaged.toOpaque())
        H5Eclear2(hid_t(H5E_DEFAULT))
        return box.messages.first ?? ""
    }
}

/// One libhdf5 identifier, closed exactly once when its owner goes away.
final class HDF5Handle {
    let id: hid_t
    private let close: (hid_t) -> herr_t
    init(_ id: hid_t, close: @escaping (hid_t) -> herr_t) { self.id = id; self.close = close }
    deinit { _ = close(id) }
}

/// An open HDF5 file. Datasets opened from it keep it alive.
public final class HDF5File {
    public let path: String
    let handle: HDF5Handle

    private init(path: String, id: hid_t) {
        self.path = path
        self.handle = HDF5Handle(id, close: H5Fclose)
    }

    /// Creates (or truncates) a file.
    public static func create(at url: URL) throws -> HDF5File {
        let path = url.path
        try HDF5Library.prepare(path: path)
        let id = H5Fcreate(path, chdf5_acc_trunc(), hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT))
        guard id >= 0 else { throw HDF5Error(path: path, call: "H5Fcreate", detail: HDF5Library.lastMessage()) }
        return HDF5File(path: path, id: id)
    }

    /// Opens an existing file read-only. A missing, truncated or non-HDF5 file is an `HDF5Error`.
    public static func open(at url: URL) throws -> HDF5File {
        let path = url.path
        try HDF5Library.prepare(path: path)
        guard FileManager.default.fileExists(atPath: path) else {
            throw HDF5Error(path: path, call: "H5Fopen", detail: "no such file")
        }
        let id = H5Fopen(path, chdf5_acc_rdonly(), hid_t(H5P_DEFAULT))
        guard id >= 0 else { throw HDF5Error(path: path, call: "H5Fopen", detail: HDF5Library.lastMessage()) }
        return HDF5File(path: path, id: id)
    }

    func error(_ call: String, _ object: String = "", _ detail: String? = nil) -> HDF5Error {
        HDF5Error(path: path, object: object, call: call, detail: detail ?? HDF5Library.lastMessage())
    }

    /// Names of the links in the root group, sorted.
    public func rootNames() throws -> [String] {
        try HDF5Library.prepare(path: path)
        var info = H5G_info_t()
        guard H5Gget_info(handle.id, &info) >= 0 else { throw error("H5Gget_info") }
        var names: [String] = []
        for i in 0..<info.nlinks {
            let size = H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, hid_t(H5P_DEFAULT))
            guard size >= 0 else { throw error("H5Lget_name_by_idx") }
            var buffer = [CChar](repeating: 0, count: Int(size) + 1)
            guard H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buffer, Int(size) + 1, hid_t(H5P_DEFAULT)) >= 0 else {
                throw error("H5Lget_name_by_idx")
            }
            names.append(String(cString: buffer))
        }
        return names.sorted()
    }

    public func contains(_ name: String) throws -> Bool {
        try HDF5Library.prepare(path: path)
        let r = H5Lexists(handle.id, name, hid_t(H5P_DEFAULT))
        guard r >= 0 else { throw error("H5Lexists", name) }
        return r > 0
    }

    public func openDataset(_ name: String) throws -> HDF5Dataset {
        try HDF5Library.prepare(path: path)
        let id = H5Dopen2(handle.id, name, hid_t(H5P_DEFAULT))
        guard id >= 0 else { throw error("H5Dopen2", name) }
        return HDF5Dataset(file: self, name: name, handle: HDF5Handle(id, close: H5Dclose))
    }

    /// Creates a dataset; with `chunk` it is chunked, with `gzipLevel` also deflate-compressed
    /// (what h5py's `create_dataset(chunks=…, compression="gzip", compression_opts=level)` makes).
    /// Modification times are not recorded, so equal data gives byte-identical files.
    public func createDataset(_ name: String, type: HDF5ElementType, shape: [Int], chunk: [Int]? = nil, gzipLevel: Int? = nil) throws -> HDF5Dataset {
        try HDF5Library.prepare(path: path)
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil)
        guard space >= 0 else { throw error("H5Screate_simple", name) }
        let spaceHandle = HDF5Handle(space, close: H5Sclose)
        let dcpl = H5Pcreate(chdf5_p_dataset_create())
        guard dcpl >= 0 else { throw error("H5Pcreate", name) }
        let dcplHandle = HDF5Handle(dcpl, close: H5Pclose)
        guard H5Pset_obj_track_times(dcpl, false) >= 0 else { throw error("H5Pset_obj_track_times", name) }
        if let chunk {
            var chunkDims = chunk.map { hsize_t($0) }
            guard H5Pset_chunk(dcpl, Int32(chunkDims.count), &chunkDims) >= 0 else { throw error("H5Pset_chunk", name) }
            if let gzipLevel {
                guard H5Pset_deflate(dcpl, UInt32(gzipLevel)) >= 0 else { throw error("H5Pset_deflate", name) }
            }
        }
        let fileType: hid_t = type == .float32 ? H5T_IEEE_F32LE_g : type.nativeType
        let id = H5Dcreate2(handle.id, name, fileType, spaceHandle.id, hid_t(H5P_DEFAULT), dcplHandle.id, hid_t(H5P_DEFAULT))
        guard id >= 0 else { throw error("H5Dcreate2", name) }
        return HDF5Dataset(file: self, name: name, handle: HDF5Handle(id, close: H5Dclose))
    }

    /// Flushes buffered data to disk.
    public func flush() throws {
        guard H5Fflush(handle.id, H5F_SCOPE_LOCAL) >= 0 else { throw error("H5Fflush") }
    }
}

/// An open dataset. Holds its file open.
public final class HDF5Dataset {
    public let file: HDF5File
    public let name: String
    let handle: HDF5Handle

    init(file: HDF5File, name: String, handle: HDF5Handle) {
        self.file = file; self.name = name; self.handle = handle
    }

    private func error(_ call: String, _ detail: String? = nil) -> HDF5Error { file.error(call, name, detail) }

    public func shape() throws -> [Int] {
        let space = H5Dget_space(handle.id)
        guard space >= 0 else { throw error("H5Dget_space") }
        let spaceHandle = HDF5Handle(space, close: H5Sclose)
        let rank = H5Sget_simple_extent_ndims(spaceHandle.id)
        guard rank >= 0 else { throw error("H5Sget_simple_extent_ndims") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        guard H5Sget_simple_extent_dims(spaceHandle.id, &dims, nil) >= 0 else { throw error("H5Sget_simple_extent_dims") }
        return dims.map { Int($0) }
    }

    /// The element type stored in the file, or nil for a type phantom files never hold (strings, compounds…).
    public func elementType() throws -> HDF5ElementType? {
        let type = H5Dget_type(handle.id)
        guard type >= 0 else { throw error("H5Dget_type") }
        let typeHandle = HDF5Handle(type, close: H5Tclose)
        let size = H5Tget_size(typeHandle.id)
        switch H5Tget_class(typeHandle.id) {
        case H5T_FLOAT:
            return size == 4 ? .float32 : size == 8 ? .float64 : nil
        case H5T_INTEGER:
            let signed = H5Tget_sign(typeHandle.id) == H5T_SGN_2
            switch size {
            case 1: return signed ? .int8 : .uint8
            case 2: return signed ? .int16 : .uint16
            case 4: return signed ? .int32 : .uint32
            case 8: return signed ? .int64 : .uint64
            default: return nil
            }
        default:
            return nil
        }
    }

    /// A human name of the stored type for error messages (`float64`, `string`, …).
    public func typeDescription() throws -> String {
        if let t = try elementType() { return t.rawValue }
        let type = H5Dget_type(handle.id)
        guard type >= 0 else { throw error("H5Dget_type") }
        let typeHandle = HDF5Handle(type, close: H5Tclose)
        switch H5Tget_class(typeHandle.id) {
        case H5T_STRING: return "string"
        case H5T_COMPOUND: return "compound"
        case H5T_ENUM: return "enum"
        default: return "unsupported type"
        }
    }

    /// Reads the whole dataset converted to `type` into `buffer`, which must hold exactly its elements.
    public func read(as type: HDF5ElementType, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard H5Dread(handle.id, type.nativeType, H5S_ALL, H5S_ALL, hid_t(H5P_DEFAULT), buffer.baseAddress) >= 0 else {
            throw error("H5Dread")
        }
    }

    public func readFloats() throws -> [Float] {
        let count = try shape().reduce(1, *)
        var out = [Float](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try read(as: .float32, into: $0) }
        return out
    }

    public func readBytes(as type: HDF5ElementType) throws -> [UInt8] {
        let count = try shape().reduce(1, *)
        var out = [UInt8](repeating: 0, count: count * type.byteCount)
        try out.withUnsafeMutableBytes { try read(as: type, into: $0) }
        return out
    }

    /// Writes the whole dataset from memory laid out as `type`.
    public func write(as type: HDF5ElementType, from buffer: UnsafeRawBufferPointer) throws {
        guard H5Dwrite(handle.id, type.nativeType, H5S_ALL, H5S_ALL, hid_t(H5P_DEFAULT), buffer.baseAddress) >= 0 else {
            throw error("H5Dwrite")
        }
    }

    /// Writes one already-filtered (e.g. deflated) chunk at `offset` (element coordinates).
    public func writeRawChunk(at offset: [Int], filterMask: UInt32 = 0, bytes: UnsafeRawBufferPointer) throws {
        var off = offset.map { hsize_t($0) }
        guard H5Dwrite_chunk(handle.id, hid_t(H5P_DEFAULT), filterMask, &off, bytes.count, bytes.baseAddress) >= 0 else {
            throw error("H5Dwrite_chunk")
        }
    }

    /// One stored chunk exactly as on disk (still filtered), and its filter mask (bit i set = filter
    /// i skipped). Nil when the chunk was never written.
    public func readRawChunk(at offset: [Int]) throws -> (bytes: [UInt8], filterMask: UInt32)? {
        var off = offset.map { hsize_t($0) }
        var size: hsize_t = 0
        guard H5Dget_chunk_storage_size(handle.id, &off, &size) >= 0 else { throw error("H5Dget_chunk_storage_size") }
        guard size > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var mask: UInt32 = 0
        guard H5Dread_chunk(handle.id, hid_t(H5P_DEFAULT), &off, &mask, &bytes) >= 0 else { throw error("H5Dread_chunk") }
        return (bytes, mask)
    }

    /// True when the stored bytes are little-endian (or single bytes), i.e. raw chunks can be used as memory.
    public func isLittleEndian() throws -> Bool {
        let type = H5Dget_type(handle.id)
        guard type >= 0 else { throw error("H5Dget_type") }
        let typeHandle = HDF5Handle(type, close: H5Tclose)
        return H5Tget_size(typeHandle.id) == 1 || H5Tget_order(typeHandle.id) == H5T_ORDER_LE
    }

    /// Chunk shape, or nil for a contiguous dataset.
    public func chunkShape() throws -> [Int]? {
        let dcpl = H5Dget_create_plist(handle.id)
        guard dcpl >= 0 else { throw error("H5Dget_create_plist") }
        let dcplHandle = HDF5Handle(dcpl, close: H5Pclose)
        guard H5Pget_layout(dcplHandle.id) == H5D_CHUNKED else { return nil }
        var dims = [hsize_t](repeating: 0, count: 32)
        let rank = H5Pget_chunk(dcplHandle.id, 32, &dims)
        guard rank >= 0 else { throw error("H5Pget_chunk") }
        return dims.prefix(Int(rank)).map { Int($0) }
    }

    /// The filter pipeline: (filter id, client values), e.g. deflate = (1, [level]).
    public func filters() throws -> [(id: Int32, values: [UInt32])] {
        let dcpl = H5Dget_create_plist(handle.id)
        guard dcpl >= 0 else { throw error("H5Dget_create_plist") }
        let dcplHandle = HDF5Handle(dcpl, close: H5Pclose)
        let n = H5Pget_nfilters(dcplHandle.id)
        guard n >= 0 else { throw error("H5Pget_nfilters") }
        var out: [(Int32, [UInt32])] = []
        for i in 0..<UInt32(n) {
            var flags: UInt32 = 0
            var count = 8
            var values = [UInt32](repeating: 0, count: 8)
            var name = [CChar](repeating: 0, count: 64)
            var config: UInt32 = 0
            let id = H5Pget_filter2(dcplHandle.id, i, &flags, &count, &values, 64, &name, &config)
            guard id >= 0 else { throw error("H5Pget_filter2") }
            out.append((id, Array(values.prefix(count))))
        }
        return out
    }
}
