import Foundation

/// A minimal PNG writer for the report's heat maps: 8-bit palette images (one byte per pixel, a
/// 256-colour palette), the zlib stream made of stored (uncompressed) deflate blocks so no zlib
/// is needed. A 64×64 slice is about 5 KB, small enough to inline as a data URI.
enum PNGEncoder {
    /// `indices` is row-major, `width × height` palette indices; `palette` has ≤ 256 RGB triples.
    static func palette(width: Int, height: Int, indices: [UInt8], palette: [(UInt8, UInt8, UInt8)]) -> [UInt8] {
        precondition(indices.count == width * height && !palette.isEmpty && palette.count <= 256)
        var raw = [UInt8]()
        raw.reserveCapacity((width + 1) * height)
        for row in 0..<height {
            raw.append(0)   // filter type None
            raw += indices[(row * width)..<((row + 1) * width)]
        }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = bigEndian32(UInt32(width)) + bigEndian32(UInt32(height))
        header += [8, 3, 0, 0, 0]   // bit depth 8, colour type 3 (palette), deflate, no filter set, no interlace
        chunk("IHDR", header, into: &png)
        chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] }, into: &png)
        chunk("IDAT", storedZlib(raw), into: &png)
        chunk("IEND", [], into: &png)
        return png
    }

    /// A zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 §3.2.4) with its Adler-32.
    static func storedZlib(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var start = 0
        repeat {
            let count = min(65_535, data.count - start)
            let final: UInt8 = start + count == data.count ? 1 : 0
            out.append(final)
            out += [UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8((~count >> 8) & 0xFF)]
            out += data[start..<(start + count)]
            start += count
        } while start < data.count
        return out + bigEndian32(adler32(data))
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return (b << 16) | a
    }

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in data { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    private static func chunk(_ type: String, _ data: [UInt8], into png: inout [UInt8]) {
        let typed = Array(type.utf8) + data
        png += bigEndian32(UInt32(data.count)) + typed + bigEndian32(crc32(typed))
    }

    private static func bigEndian32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }
}
