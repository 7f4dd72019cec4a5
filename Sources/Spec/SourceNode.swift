// A YAML tree in which every node (scalars and mapping keys included) knows its file, line and
// column. Built from Yams' composed `Node` with a bound on the number of nodes visited (aliases
// are shared in Yams' tree, so a small "billion laughs" file would otherwise expand without
// limit when walked). `extends` merging and variant overrides work on this tree, so a value keeps
// the position of the file that wrote it.

import Foundation
import Yams

struct SourceNode: Sendable {
    struct Scalar: Sendable {
        var text: String
        /// Quoted or block scalars are always strings; plain ones are resolved (null, bool, number).
        var plain: Bool
    }

    struct Entry: Sendable {
        var key: String
        var keyLocation: SourceLocation
        var value: SourceNode
    }

    enum Value: Sendable {
        case scalar(Scalar)
        case mapping([Entry])
        case sequence([SourceNode])
    }

    var value: Value
    var location: SourceLocation

    init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }

    // MARK: Accessors

    var entries: [Entry]? {
        if case .mapping(let e) = value { return e }
        return nil
    }

    var items: [SourceNode]? {
        if case .sequence(let s) = value { return s }
        return nil
    }

    var scalar: Scalar? {
        if case .scalar(let s) = value { return s }
        return nil
    }

    subscript(key: String) -> SourceNode? {
        entries?.first { $0.key == key }?.value
    }

    func entry(_ key: String) -> Entry? {
        entries?.first { $0.key == key }
    }

    /// Plain `~`, `null`, or nothing at all.
    var isNull: Bool {
        guard let s = scalar, s.plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.text)
    }

    var bool: Bool? {
        guard let s = scalar, s.plain else { return nil }
        switch s.text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }

    /// Plain integers (YAML 1.2 core: optional sign, decimal digits).
    var int: Int? {
        guard let s = scalar, s.plain else { return nil }
        let t = s.text
        let digits = t.first == "-" || t.first == "+" ? t.dropFirst() : Substring(t)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(t.first == "+" ? String(t.dropFirst()) : t)
    }

    /// Plain numbers: integers, decimals, exponents (`1e-4` as well as `1.0e-4`), `.inf`, `.nan`.
    var double: Double? {
        guard let s = scalar, s.plain else { return nil }
        switch s.text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        let t = s.text
        guard !t.isEmpty, t.allSatisfy({ "0123456789.eE+-".contains($0) }),
              t.contains(where: { $0.isNumber }) else { return nil }
        return Double(t)
    }

    var string: String? {
        guard let s = scalar, !isNull else { return nil }
        return s.text
    }

    /// How the value reads in a message: `-0.001`, `'abc'`, `a mapping`, `a list`.
    var shortDescription: String {
        switch value {
        case .scalar(let s):
            if isNull { return "null" }
            if bool != nil || double != nil { return s.text }
            return "'\(s.text)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    /// Compact flow-style text, as written (for variant names and override display).
    var flowText: String {
        switch value {
        case .scalar(let s):
            if s.plain { return s.text }
            return "\"" + s.text.replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .mapping(let entries):
            return "{" + entries.map { "\($0.key): \($0.value.flowText)" }.joined(separator: ", ") + "}"
        case .sequence(let items):
            return "[" + items.map(\.flowText).joined(separator: ", ") + "]"
        }
    }

    /// A text equal for values that mean the same (numbers normalised, mapping keys sorted), to
    /// compare matrix values with `exclude` entries.
    var canonicalText: String {
        switch value {
        case .scalar(let s):
            if isNull { return "null" }
            if let b = bool { return b ? "true" : "false" }
            if let d = double { return "#\(d)" }
            return "\"\(s.text)\""
        case .mapping(let entries):
            return "{" + entries.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.canonicalText)" }
                .joined(separator: ",") + "}"
        case .sequence(let items):
            return "[" + items.map(\.canonicalText).joined(separator: ",") + "]"
        }
    }
}

// MARK: - From Yams

enum SourceTree {
    /// Upper bound on nodes visited while converting one document (aliases counted every time they
    /// are used), so an alias bomb is reported instead of exhausting memory.
    static let nodeLimit = 100_000

    /// Parses YAML text; returns nil and appends diagnostics on failure. An empty document is an
    /// empty mapping.
    static func parse(_ text: String, file: String, diagnostics: inout [Diagnostic]) -> SourceNode? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            diagnostics.append(diagnostic(for: error, file: file, text: text))
            return nil
        } catch {
            diagnostics.append(.syntax("\(error)", at: SourceLocation(file: file, line: 1, column: 1)))
            return nil
        }
        guard let root else {
            return SourceNode(.mapping([]), at: SourceLocation(file: file, line: 1, column: 1))
        }
        var budget = nodeLimit
        var problems: [Diagnostic] = []
        guard let tree = convert(root, file: file, path: "", budget: &budget, diagnostics: &problems) else {
            if budget < 0 {
                diagnostics.append(.tooManyNodes(limit: nodeLimit, at: location(root.mark, file)))
            }
            diagnostics.append(contentsOf: problems)
            return nil
        }
        if !problems.isEmpty {
            diagnostics.append(contentsOf: problems)
            return nil
        }
        return tree
    }

    static func location(_ mark: Mark?, _ file: String) -> SourceLocation {
        SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    private static func convert(_ node: Node, file: String, path: String, budget: inout Int,
                                diagnostics: inout [Diagnostic]) -> SourceNode? {
        budget -= 1
        if budget < 0 { return nil }
        let loc = location(node.mark, file)
        switch node {
        case .scalar(let s):
            // Quoted and block scalars, and an explicit `!!str` tag, make a string; plain ones resolve.
            let plain = (s.style == .plain || s.style == .any) && s.tag.rawValue != Tag.Name.str.rawValue
            return SourceNode(.scalar(.init(text: s.string, plain: plain)), at: loc)
        case .sequence(let seq):
            var items: [SourceNode] = []
            items.reserveCapacity(seq.count)
            for (i, child) in seq.enumerated() {
                guard let c = convert(child, file: file, path: "\(path)[\(i)]", budget: &budget,
                                      diagnostics: &diagnostics) else { return nil }
                items.append(c)
            }
            return SourceNode(.sequence(items), at: loc)
        case .mapping(let map):
            var entries: [SourceNode.Entry] = []
            var seen: Set<String> = []
            // YAML merge keys (`<<: *defaults`): keys written in the mapping itself win.
            let explicit = Set(map.compactMap { k, _ -> String? in
                guard case .scalar(let ks) = k, !isMergeKey(ks) else { return nil }
                return ks.string
            })
            for (k, v) in map {
                budget -= 1
                if budget < 0 { return nil }
                let keyLoc = location(k.mark, file)
                if case .scalar(let ks) = k, isMergeKey(ks) {
                    guard let merged = convert(v, file: file, path: path, budget: &budget, diagnostics: &diagnostics)
                    else { return nil }
                    let sources = merged.items ?? [merged]
                    for source in sources {
                        guard let more = source.entries else {
                            diagnostics.append(.invalid(path, "'<<' merges mappings only (got \(source.shortDescription))",
                                                        at: source.location))
                            continue
                        }
                        for e in more where !explicit.contains(e.key) && seen.insert(e.key).inserted {
                            entries.append(e)
                        }
                    }
                    continue
                }
                guard case .scalar(let ks) = k else {
                    diagnostics.append(.invalid(path, "mapping keys must be plain words (got a \(k.isMapping ? "mapping" : "list") as a key)", at: keyLoc))
                    continue
                }
                let childPath = path.isEmpty ? ks.string : "\(path).\(ks.string)"
                if !seen.insert(ks.string).inserted {
                    diagnostics.append(.duplicateKey(ks.string, path: childPath, at: keyLoc))
                    continue
                }
                guard let c = convert(v, file: file, path: childPath, budget: &budget, diagnostics: &diagnostics)
                else { return nil }
                entries.append(SourceNode.Entry(key: ks.string, keyLocation: keyLoc, value: c))
            }
            return SourceNode(.mapping(entries), at: loc)
        case .alias(let a):
            // Yams resolves aliases while composing; an unresolved one is an undefined anchor.
            diagnostics.append(.syntax("undefined alias '\(a.anchor.rawValue)'", at: loc))
            return nil
        }
    }

    private static func isMergeKey(_ s: Node.Scalar) -> Bool {
        s.string == "<<" && (s.style == .plain || s.style == .any)
    }

    private static func diagnostic(for error: YamlError, file: String, text: String) -> Diagnostic {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let ctx = context.map { " (\($0.text))" } ?? ""
            return .syntax("\(problem)\(ctx)", at: location(mark, file))
        case let .duplicatedKeysInMapping(duplicates, context):
            let key = duplicates.first ?? "?"
            let first = location(context.mark, file)
            let repeatLine = secondOccurrence(of: key, after: context.mark, in: text)
            return .duplicateKey(key, path: key, at: repeatLine.map {
                SourceLocation(file: file, line: $0.line, column: $0.column) } ?? first)
        case let .reader(problem, offset, _, _):
            var line = 1, column = 1
            if let offset {
                for ch in text.unicodeScalars.prefix(offset) {
                    if ch == "\n" { line += 1; column = 1 } else { column += 1 }
                }
            }
            return .syntax(problem, at: SourceLocation(file: file, line: line, column: column))
        default:
            return .syntax("\(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
    }

    /// Yams reports a duplicated key at its first occurrence; point at the repeat instead, which
    /// is the line to fix: the next line after `mark` that starts (after indentation) with `key:`.
    private static func secondOccurrence(of key: String, after mark: Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line <= lines.count else { return nil }
        for index in mark.line..<lines.count {
            let line = lines[index]
            let indent = line.prefix { $0 == " " }.count
            let rest = line.dropFirst(indent)
            if indent + 1 == mark.column, rest.hasPrefix("\(key):") {
                return (index + 1, indent + 1)
            }
        }
        return nil
    }
}

private extension Node {
    var isMapping: Bool {
        if case .mapping = self { return true }
        return false
    }
}

// MARK: - Merging (extends, overrides)

extension SourceNode {
    /// Deep merge, `child` wins. Mappings merge key by key; anything else is replaced. A mapping
    /// whose `kind` changes (schedule, dropout, …) or whose single choice key changes
    /// (`data.source: {synthetic: …}` → `{hdf5: …}`) is replaced whole, so no knob of the old
    /// kind leaks into the new one.
    static func merge(base: SourceNode, child: SourceNode) -> SourceNode {
        guard let b = base.entries, let c = child.entries else { return child }
        if let bk = base["kind"]?.string, let ck = child["kind"]?.string, bk != ck { return child }
        if isChoice(b), isChoice(c), b[0].key != c[0].key { return child }
        var merged = b
        for entry in c {
            if let i = merged.firstIndex(where: { $0.key == entry.key }) {
                merged[i].value = merge(base: merged[i].value, child: entry.value)
                merged[i].keyLocation = entry.keyLocation
            } else {
                merged.append(entry)
            }
        }
        return SourceNode(.mapping(merged), at: child.location)
    }

    /// Single-key mappings naming one of a set of alternatives.
    private static func isChoice(_ entries: [Entry]) -> Bool {
        entries.count == 1 && ["synthetic", "hdf5", "slurm", "local"].contains(entries[0].key)
    }

    /// Merges `value` in at a dotted path; missing intermediate mappings are created at
    /// `keyLocation` (the override's own position, so errors point at it).
    func merging(_ value: SourceNode, at segments: [String], keyLocation: SourceLocation) -> SourceNode {
        guard let first = segments.first else { return SourceNode.merge(base: self, child: value) }
        var entries = self.entries ?? []
        let rest = Array(segments.dropFirst())
        if let i = entries.firstIndex(where: { $0.key == first }) {
            let existing = entries[i].value
            let container = rest.isEmpty || existing.entries != nil ? existing
                : SourceNode(.mapping([]), at: keyLocation)
            entries[i].value = container.merging(value, at: rest, keyLocation: keyLocation)
            entries[i].keyLocation = keyLocation
        } else {
            let fresh = rest.isEmpty ? value
                : SourceNode(.mapping([]), at: keyLocation).merging(value, at: rest, keyLocation: keyLocation)
            entries.append(Entry(key: first, keyLocation: keyLocation, value: fresh))
        }
        return SourceNode(.mapping(entries), at: self.entries == nil ? keyLocation : location)
    }

    func removing(_ keys: Set<String>) -> SourceNode {
        guard let e = entries else { return self }
        return SourceNode(.mapping(e.filter { !keys.contains($0.key) }), at: location)
    }
}
