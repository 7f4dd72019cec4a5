import Store

/// Content keys: SHA-256 (hex) over the canonical JSON of
/// `{"schema": keySchema, "kind": kind, "version": code version, "params": params, "inputs": {role: key}}`.
/// Nothing else enters a key: no threads, cores, paths of the store, clocks, gates or descriptions.
public enum ContentKey {
    /// Version of the key encoding itself. Bump it when the encoded object changes shape;
    /// every key changes with it.
    public static let keySchema = 1

    /// The exact object whose canonical text is hashed.
    public static func hashedObject(kind: PlanStepKind, version: Int, params: JSONValue, inputs: [String: String]) -> JSONValue {
        .object([
            "schema": .number(Double(keySchema)),
            "kind": .string(kind.rawValue),
            "version": .number(Double(version)),
            "params": params,
            "inputs": .object(inputs.mapValues { .string($0) }),
        ])
    }

    /// The content key of a step of `kind` at its current code version.
    public static func compute(kind: PlanStepKind, params: JSONValue, inputs: [String: String]) -> String {
        compute(kind: kind, version: kind.codeVersion, params: params, inputs: inputs)
    }

    public static func compute(kind: PlanStepKind, version: Int, params: JSONValue, inputs: [String: String]) -> String {
        Digest.sha256(hashedObject(kind: kind, version: version, params: params, inputs: inputs).canonicalData)
    }

    /// The same key from the params' canonical text, so callers holding the canonical texts of
    /// the params' parts (`objectText`) need not re-encode them. Equal to `compute(kind:params:inputs:)`
    /// whenever `paramsText == params.canonicalText` (checked by tests on every planned step).
    static func compute(kind: PlanStepKind, paramsText: String, inputs: [String: String]) -> String {
        let inputsText = JSONValue.object(inputs.mapValues { .string($0) }).canonicalText
        let text = objectText([
            ("inputs", inputsText),
            ("kind", JSONValue.string(kind.rawValue).canonicalText),
            ("params", paramsText),
            ("schema", JSONValue.number(Double(keySchema)).canonicalText),
            ("version", JSONValue.number(Double(kind.codeVersion)).canonicalText),
        ])
        return Digest.sha256(text)
    }

    /// Canonical text of an object from its members' canonical texts: keys sorted and written
    /// as `JSONValue.canonicalText` writes them.
    static func objectText(_ fields: [(key: String, text: String)]) -> String {
        var out = "{"
        for (i, field) in fields.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { out += "," }
            out += JSONValue.string(field.key).canonicalText
            out += ":"
            out += field.text
        }
        return out + "}"
    }
}
