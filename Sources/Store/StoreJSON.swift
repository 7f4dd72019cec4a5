import Foundation

/// How the store writes and reads its JSON files: sorted keys, pretty-printed for
/// people who open them, dates as ISO 8601 UTC with milliseconds.
public enum StoreJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(formatDate(date))
        }
        var data = try encoder.encode(value)
        data.append(0x0a)
        return data
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let text = try c.decode(String.self)
            guard let date = parseDate(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO 8601 date: \(text)")
            }
            return date
        }
        return try decoder.decode(T.self, from: data)
    }

    /// Reads and decodes a store file; `nil` when the file does not exist.
    static func read<T: Decodable>(_ type: T.Type, at url: URL) throws -> T? {
        try read(T.self, atPath: url.path)
    }

    static func read<T: Decodable>(_ type: T.Type, atPath path: String) throws -> T? {
        let data: Data
        do {
            guard let d = try FileOps.readFile(path) else { return nil }
            data = d
        } catch StoreError.io(_, _, let reason) {
            throw StoreError.unreadable(path: path, reason: reason)
        }
        do { return try decode(T.self, from: data) } catch {
            throw StoreError.unreadable(path: path, reason: describe(error))
        }
    }

    static func write<T: Encodable>(_ value: T, to url: URL) throws {
        let data: Data
        do { data = try encode(value) } catch {
            throw StoreError.unreadable(path: url.path, reason: "cannot encode: \(error)")
        }
        try AtomicFile.write(data, to: url)
    }

    static func formatDate(_ date: Date) -> String { StoreTime.format(date) }

    static func parseDate(_ text: String) -> Date? { StoreTime.parse(text) }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            return "missing field '\(path(ctx.codingPath + [key]))'"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            return "wrong type at '\(path(ctx.codingPath))': \(ctx.debugDescription)"
        case DecodingError.dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? "not valid JSON" : "invalid value at '\(path(ctx.codingPath))': \(ctx.debugDescription)"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
