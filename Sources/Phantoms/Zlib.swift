import Foundation

/// zlib's one-shot `compress2` / `uncompress`, looked up at run time in the libz that libhdf5
/// already loads (Phantoms imports only Foundation and CHDF5, and libhdf5's deflate filter runs
/// under the library's global lock). Calling zlib directly lets phantoms be deflated and
/// inflated on several threads at once; the bytes are exactly those of HDF5's deflate filter
/// (a zlib stream at the dataset's level). When libz cannot be found, callers fall back to
/// libhdf5's own filter.
struct Zlib: @unchecked Sendable {
    private typealias Compress2 = @convention(c) (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt>?, UnsafePointer<UInt8>?, UInt, Int32) -> Int32
    private typealias Uncompress = @convention(c) (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt>?, UnsafePointer<UInt8>?, UInt) -> Int32
    private typealias CompressBound = @convention(c) (UInt) -> UInt

    private let compress2: Compress2
    private let uncompress: Uncompress
    private let compressBound: CompressBound

    static let shared: Zlib? = {
        for name in ["libz.so.1", "libz.so", "libz.dylib"] {
            guard let lib = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            guard let c = dlsym(lib, "compress2"), let u = dlsym(lib, "uncompress"), let b = dlsym(lib, "compressBound") else { continue }
            return Zlib(compress2: unsafeBitCast(c, to: Compress2.self),
                        uncompress: unsafeBitCast(u, to: Uncompress.self),
                        compressBound: unsafeBitCast(b, to: CompressBound.self))
        }
        return nil
    }()

    /// A zlib stream of `input` at `level`.
    func deflate(_ input: UnsafeRawBufferPointer, level: Int) -> [UInt8]? {
        let bound = Int(compressBound(UInt(input.count)))
        var out = [UInt8](repeating: 0, count: bound)
        var outCount = UInt(bound)
        let status = out.withUnsafeMutableBufferPointer { dst in
            compress2(dst.baseAddress, &outCount, input.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt(input.count), Int32(level))
        }
        guard status == 0 else { return nil }
        out.removeLast(bound - Int(outCount))
        return out
    }

    /// Inflates a zlib stream into `output`, which must be filled exactly.
    func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        var outCount = UInt(output.count)
        let status = uncompress(output.baseAddress?.assumingMemoryBound(to: UInt8.self), &outCount,
                                input.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt(input.count))
        return status == 0 && Int(outCount) == output.count
    }
}
