import Store

extension JSONValue {
    /// The canonical encoding laid out for people: sorted keys, two-space indentation,
    /// one member per line, same numbers and escapes as `canonicalText`.
    public var prettyText: String {
        var out = ""
        writePretty(into: &out, indent: 0)
        out += "\n"
        return out
    }

    private func writePretty(into out: inout String, indent: Int) {
        let pad = String(repeating: "  ", count: indent + 1), closing = String(repeating: "  ", count: indent)
        switch self {
        case .array(let items) where !items.isEmpty:
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += pad
                item.writePretty(into: &out, indent: indent + 1)
                out += i + 1 < items.count ? ",\n" : "\n"
            }
            out += closing + "]"
        case .object(let fields) where !fields.isEmpty:
            out += "{\n"
            let keys = fields.keys.sorted()
            for (i, key) in keys.enumerated() {
                out += pad + JSONValue.string(key).canonicalText + ": "
                fields[key]!.writePretty(into: &out, indent: indent + 1)
                out += i + 1 < keys.count ? ",\n" : "\n"
            }
            out += closing + "}"
        default:
            out += canonicalText
        }
    }
}
