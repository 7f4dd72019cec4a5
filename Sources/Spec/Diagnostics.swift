// Diagnostics: where (file, 1-based line and column, dotted key), what and why. The loader
// collects them all and throws one `SpecError`, which renders them once, compiler style:
//
//   experiments/x.yaml:12:5: error: optimizer.lr must be > 0 (got -0.001)
//      12 |   lr: -0.001
//         |       ^

import Foundation

public struct SourceLocation: Codable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var file: String
    /// 1-based.
    public var line: Int
    /// 1-based, in Unicode scalars (as libyaml counts).
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }
}

public struct Diagnostic: Codable, Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Codable, Hashable, Sendable {
        case error, warning
    }

    /// What kind of problem, for tools (`runner plan --json`) and tests; the message says it for people.
    public enum Code: String, Codable, Hashable, Sendable {
        case unknownKey = "unknown-key"
        case keyNotForKind = "key-not-for-kind"
        case wrongType = "wrong-type"
        case outOfRange = "out-of-range"
        case notOneOf = "not-one-of"
        case missingKey = "missing-key"
        case invalidValue = "invalid-value"
        case syntax
        case duplicateKey = "duplicate-key"
        case tooManyNodes = "too-many-nodes"
        case fileUnreadable = "file-unreadable"
        case extendsCycle = "extends-cycle"
        case duplicateVariant = "duplicate-variant"
    }

    public var severity: Severity
    public var code: Code
    /// Nil only for problems that have no place in a file (e.g. the named file cannot be read).
    public var location: SourceLocation?
    /// Dotted key path of the value concerned (`optimizer.lr`), empty for the document itself.
    public var path: String
    public var message: String

    public init(severity: Severity = .error, code: Code = .invalidValue, location: SourceLocation?, path: String,
                message: String) {
        self.severity = severity
        self.code = code
        self.location = location
        self.path = path
        self.message = message
    }

    /// `file:line:column: error: message` (without the source excerpt).
    public var description: String {
        let place = location.map { "\($0): " } ?? ""
        return "\(place)\(severity.rawValue): \(message)"
    }
}

// MARK: - Typed constructors (call sites never build message strings by hand)

extension Diagnostic {
    static func unknownKey(_ path: String, suggestion: String?, at location: SourceLocation?) -> Diagnostic {
        let hint = suggestion.map { " (did you mean '\($0)'?)" } ?? ""
        return Diagnostic(code: .unknownKey, location: location, path: path, message: "unknown key '\(path)'\(hint)")
    }

    static func keyNotForKind(_ path: String, kind: String, owner: String, at location: SourceLocation?) -> Diagnostic {
        Diagnostic(code: .keyNotForKind, location: location, path: path,
                   message: "key '\(path)' does not apply to \(owner) kind '\(kind)'")
    }

    static func wrongType(_ path: String, expected: String, got: String, at location: SourceLocation?) -> Diagnostic {
        Diagnostic(code: .wrongType, location: location, path: path, message: "\(path) must be \(expected) (got \(got))")
    }

    static func outOfRange(_ path: String, requirement: String, got: String, at location: SourceLocation?) -> Diagnostic {
        Diagnostic(code: .outOfRange, location: location, path: path, message: "\(path) must be \(requirement) (got \(got))")
    }

    static func notOneOf(_ path: String, allowed: [String], got: String, suggestion: String?,
                         at location: SourceLocation?) -> Diagnostic {
        let hint = suggestion.map { " (did you mean '\($0)'?)" } ?? ""
        return Diagnostic(code: .notOneOf, location: location, path: path,
                          message: "\(path) must be one of \(allowed.joined(separator: ", ")) (got '\(got)')\(hint)")
    }

    static func missingKey(_ path: String, at location: SourceLocation?) -> Diagnostic {
        Diagnostic(code: .missingKey, location: location, path: path, message: "missing required key '\(path)'")
    }

    static func invalid(_ path: String, _ message: String, at location: SourceLocation?) -> Diagnostic {
        Diagnostic(code: .invalidValue, location: location, path: path, message: message)
    }

    static func syntax(_ problem: String, at location: SourceLocation?) -> Diagnostic {
        Diagnostic(code: .syntax, location: location, path: "", message: "invalid YAML: \(problem)")
    }

    static func duplicateKey(_ key: String, path: String, at location: SourceLocation?) -> Diagnostic {
        Diagnostic(code: .duplicateKey, location: location, path: path, message: "duplicate key '\(key)'")
    }

    static func tooManyNodes(limit: Int, at location: SourceLocation?) -> Diagnostic {
        Diagnostic(code: .tooManyNodes, location: location, path: "",
                   message: "document expands to more than \(limit) nodes (YAML alias bomb?)")
    }

    static func fileUnreadable(_ path: String, reason: String, at location: SourceLocation?, key: String) -> Diagnostic {
        Diagnostic(code: .fileUnreadable, location: location, path: key, message: "cannot read '\(path)': \(reason)")
    }

    static func extendsCycle(_ chain: [String], at location: SourceLocation?) -> Diagnostic {
        Diagnostic(code: .extendsCycle, location: location, path: "extends",
                   message: "extends cycle: \(chain.joined(separator: " → "))")
    }

    static func duplicateVariant(_ name: String, path: String, at location: SourceLocation?) -> Diagnostic {
        Diagnostic(code: .duplicateVariant, location: location, path: path, message: "duplicate variant name '\(name)'")
    }
}

// MARK: - Suggestions

enum Suggest {
    /// The known key closest to `word` by edit distance, if it is close enough to be a typo.
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        let lower = word.lowercased()
        var best: (String, Int)?
        for c in candidates {
            let d = editDistance(lower, c.lowercased())
            if best == nil || d < best!.1 { best = (c, d) }
        }
        guard let (key, distance) = best else { return nil }
        let limit = max(2, min(lower.count, key.count) / 3)
        return distance <= limit ? key : nil
    }

    /// Damerau–Levenshtein (optimal string alignment): a swap of two letters counts as one edit.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[x.count][y.count]
    }
}

// MARK: - The error thrown by the loader

public struct SpecError: Error, CustomStringConvertible, Sendable {
    /// Sorted by file, line, column; no two equal.
    public var diagnostics: [Diagnostic]
    /// Text of the files the diagnostics point into, for the excerpts.
    public var sources: [String: String]

    public init(diagnostics: [Diagnostic], sources: [String: String] = [:]) {
        var seen = Set<Diagnostic>()
        self.diagnostics = diagnostics.filter { seen.insert($0).inserted }.sorted { a, b in
            switch (a.location, b.location) {
            case let (l?, r?): return l < r
            case (nil, _?): return true
            default: return false
            }
        }
        self.sources = sources
    }

    /// Every diagnostic with its source line and a caret under the column, and a count at the end.
    public var description: String {
        var out: [String] = []
        for d in diagnostics {
            out.append(d.description)
            if let loc = d.location, let text = sources[loc.file] {
                out.append(contentsOf: SpecError.excerpt(text, line: loc.line, column: loc.column))
            }
        }
        let n = diagnostics.filter { $0.severity == .error }.count
        out.append("\(n) error\(n == 1 ? "" : "s")")
        return out.joined(separator: "\n")
    }

    static func excerpt(_ text: String, line: Int, column: Int) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return [] }
        let source = String(lines[line - 1]).replacingOccurrences(of: "\r", with: "")
        let number = String(line)
        let gutter = String(repeating: " ", count: number.count)
        // Keep tabs so the caret lines up under them.
        let lead = source.unicodeScalars.prefix(max(0, column - 1)).map { $0 == "\t" ? "\t" : " " }.joined()
        return [" \(number) | \(source)", " \(gutter) | \(lead)^"]
    }
}
