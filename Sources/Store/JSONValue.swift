import Foundation

/// A JSON value with a canonical encoding: object keys sorted, numbers normalised,
/// no insignificant whitespace. Content keys, step parameters and parameter-level
/// diffs are all computed on this type, so two specs that mean the same thing
/// encode to the same bytes.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Encodes any `Encodable` value into a `JSONValue` tree.
    public init<T: Encodable>(encoding value: T) throws {
        self = try JSONValue(jsonData: JSONEncoder().encode(value))
    }

    /// Parses JSON text.
    public init(jsonData data: Data) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// Decodes the tree into a `Decodable` type.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(canonicalText.utf8))
    }

    /// The canonical text: sorted keys, integral numbers without a fraction,
    /// other numbers in the shortest form that round-trips.
    public var canonicalText: String {
        var out = ""
        write(into: &out)
        return out
    }

    public var canonicalData: Data { Data(canonicalText.utf8) }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d): out += JSONValue.format(d)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, key) in fields.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(key, into: &out)
                out += ":"
                fields[key]!.write(into: &out)
            }
            out += "}"
        }
    }

    static func format(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"   // Swift prints the shortest representation that round-trips
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20: out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// Value at a dotted path (`optimizer.lr`), if present.
    public subscript(path path: String) -> JSONValue? {
        var node = self
        for part in path.split(separator: ".") {
            guard case .object(let fields) = node, let next = fields[String(part)] else { return nil }
            node = next
        }
        return node
    }

    /// Leaf-level differences between two trees, as dotted paths with old and new values
    /// (`nil` where a side lacks the path). Arrays compare as whole values.
    public static func differences(from old: JSONValue, to new: JSONValue, prefix: String = "") -> [(path: String, old: JSONValue?, new: JSONValue?)] {
        if case .object(let a) = old, case .object(let b) = new {
            var out: [(String, JSONValue?, JSONValue?)] = []
            for key in Set(a.keys).union(b.keys).sorted() {
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                switch (a[key], b[key]) {
                case let (x?, y?): out += differences(from: x, to: y, prefix: path)
                case let (x, y): out.append((path, x, y))
                }
            }
            return out
        }
        return old == new ? [] : [(prefix, old, new)]
    }
}

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { canonicalText }
}
