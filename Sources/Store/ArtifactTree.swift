/// A step's output as stored: relative file paths mapped to the SHA-256 (hex) of
/// the object holding each file's bytes, plus a small JSON summary (counts,
/// metrics) that views and later steps can read without opening any object.
/// Two steps may reference the same object; nothing is copied.
public struct ArtifactTree: Codable, Hashable, Sendable {
    public var files: [String: String]
    public var summary: JSONValue

    public init(files: [String: String] = [:], summary: JSONValue = .object([:])) {
        self.files = files
        self.summary = summary
    }
}
