import Crypto
import Foundation

/// SHA-256 as lowercase hex, the name of every object and step key in the store.
public enum Digest {
    /// Hex SHA-256 of bytes.
    public static func sha256(_ data: Data) -> String {
        hex(SHA256.hash(data: data))
    }

    /// Hex SHA-256 of a string's UTF-8 bytes.
    public static func sha256(_ text: String) -> String {
        sha256(Data(text.utf8))
    }

    /// Hex SHA-256 of a file, read in chunks so a large file never sits in memory.
    public static func sha256(fileAt url: URL) throws -> String {
        let file = try PosixFile(openForReadingAt: url.path)
        defer { file.close() }
        var hasher = SHA256()
        try file.readChunks { hasher.update(bufferPointer: $0) }
        return hex(hasher.finalize())
    }

    /// True for 64 lowercase hex characters.
    public static func isValid(_ digest: String) -> Bool {
        digest.utf8.count == 64 && digest.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let table = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
