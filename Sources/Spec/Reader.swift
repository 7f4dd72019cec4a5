// Typed reads from a `SourceNode` that record a diagnostic instead of failing: every read
// returns a usable value (the default on error), so one pass finds every problem in a file.

import Foundation

/// A numeric requirement such as `> 0`, `in [0, 1)` or `between 1 and 3`.
struct Bounds {
    var lo: Double?
    var loInclusive = true
    var hi: Double?
    var hiInclusive = true

    static let any = Bounds()
    static let positive = Bounds(lo: 0, loInclusive: false)
    static let nonNegative = Bounds(lo: 0)
    static let atLeastOne = Bounds(lo: 1)
    static let unitInterval = Bounds(lo: 0, hi: 1)
    /// [0, 1): rates, betas, momentum.
    static let unitOpen = Bounds(lo: 0, hi: 1, hiInclusive: false)
    /// (0, 1): factors that must shrink.
    static let openUnit = Bounds(lo: 0, loInclusive: false, hi: 1, hiInclusive: false)

    static func between(_ lo: Int, _ hi: Int) -> Bounds { Bounds(lo: Double(lo), hi: Double(hi)) }

    func contains(_ x: Double) -> Bool {
        if x.isNaN { return false }
        if let lo, loInclusive ? x < lo : x <= lo { return false }
        if let hi, hiInclusive ? x > hi : x >= hi { return false }
        if lo == nil || hi == nil, x.isInfinite { return false }
        return true
    }

    var requirement: String {
        switch (lo, hi) {
        case let (lo?, hi?):
            if loInclusive && hiInclusive { return "between \(fmt(lo)) and \(fmt(hi))" }
            return "in \(loInclusive ? "[" : "(")\(fmt(lo)), \(fmt(hi))\(hiInclusive ? "]" : ")")"
        case let (lo?, nil): return "\(loInclusive ? ">=" : ">") \(fmt(lo))"
        case let (nil, hi?): return "\(hiInclusive ? "<=" : "<") \(fmt(hi))"
        case (nil, nil): return "a finite number"
        }
    }
}

func fmt(_ x: Double) -> String {
    if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
    return "\(x)"
}

func join(_ path: String, _ key: String) -> String {
    path.isEmpty ? key : "\(path).\(key)"
}

/// A mapping whose keys were checked against the known ones.
struct Fields {
    let node: SourceNode
    let path: String

    /// The value of `key`, nil when absent or null (null means "use the default").
    subscript(key: String) -> SourceNode? {
        guard let v = node[key], !v.isNull else { return nil }
        return v
    }

    func path(_ key: String) -> String { join(path, key) }

    /// Position to blame for a missing key or a rule across keys: the mapping itself.
    var location: SourceLocation { node.location }
}

final class Reader {
    private(set) var diagnostics: [Diagnostic] = []

    func report(_ d: Diagnostic) { diagnostics.append(d) }

    // MARK: Structure

    /// Checks that `node` is a mapping with only `keys`; unknown keys get the nearest known one
    /// suggested. `otherKinds` lists keys valid for another `kind` of the same section.
    func fields(_ node: SourceNode, _ path: String, keys: [String], kind: (name: String, owner: String,
                allKeys: [String])? = nil) -> Fields? {
        guard let entries = node.entries else {
            report(.wrongType(path, expected: "a mapping", got: node.shortDescription, at: node.location))
            return nil
        }
        for e in entries where !keys.contains(e.key) {
            let full = join(path, e.key)
            if let kind, kind.allKeys.contains(e.key) {
                report(.keyNotForKind(full, kind: kind.name, owner: kind.owner, at: e.keyLocation))
            } else {
                let suggestion = Suggest.nearest(e.key, in: keys).map { join(path, $0) }
                report(.unknownKey(full, suggestion: suggestion, at: e.keyLocation))
            }
        }
        return Fields(node: node, path: path)
    }

    // MARK: Scalars

    func number(_ node: SourceNode, _ path: String, _ bounds: Bounds = .any) -> Double? {
        guard let x = node.double else {
            report(.wrongType(path, expected: "a number", got: node.shortDescription, at: node.location))
            return nil
        }
        guard bounds.contains(x) else {
            report(.outOfRange(path, requirement: bounds.requirement, got: node.scalar?.text ?? fmt(x), at: node.location))
            return nil
        }
        return x
    }

    func integer(_ node: SourceNode, _ path: String, _ bounds: Bounds = .any) -> Int? {
        guard let x = node.int else {
            if let s = node.scalar, s.plain, node.double != nil,
               s.text.drop(while: { $0 == "-" || $0 == "+" }).allSatisfy({ $0.isASCII && $0.isNumber }) {
                report(.outOfRange(path, requirement: "an integer of at most 18 digits", got: node.scalar!.text,
                                   at: node.location))
                return nil
            }
            let got = node.double != nil ? "\(node.scalar!.text), not a whole number" : node.shortDescription
            report(.wrongType(path, expected: "an integer", got: got, at: node.location))
            return nil
        }
        guard bounds.contains(Double(x)) else {
            report(.outOfRange(path, requirement: bounds.requirement, got: String(x), at: node.location))
            return nil
        }
        return x
    }

    func boolean(_ node: SourceNode, _ path: String) -> Bool? {
        guard let b = node.bool else {
            report(.wrongType(path, expected: "true or false", got: node.shortDescription, at: node.location))
            return nil
        }
        return b
    }

    func text(_ node: SourceNode, _ path: String) -> String? {
        guard let s = node.scalar, !node.isNull else {
            report(.wrongType(path, expected: "a string", got: node.shortDescription, at: node.location))
            return nil
        }
        return s.text
    }

    func word(_ node: SourceNode, _ path: String, allowed: [String]) -> String? {
        guard let s = node.scalar, !node.isNull else {
            report(.wrongType(path, expected: "one of \(allowed.joined(separator: ", "))", got: node.shortDescription,
                              at: node.location))
            return nil
        }
        guard allowed.contains(s.text) else {
            report(.notOneOf(path, allowed: allowed, got: s.text, suggestion: Suggest.nearest(s.text, in: allowed),
                             at: node.location))
            return nil
        }
        return s.text
    }

    func choice<E: RawRepresentable & CaseIterable>(_ node: SourceNode, _ path: String, _: E.Type) -> E?
    where E.RawValue == String {
        word(node, path, allowed: E.allCases.map(\.rawValue)).flatMap(E.init(rawValue:))
    }

    func list(_ node: SourceNode, _ path: String) -> [SourceNode]? {
        guard let items = node.items else {
            report(.wrongType(path, expected: "a list", got: node.shortDescription, at: node.location))
            return nil
        }
        return items
    }

    /// `[lo, hi]` with lo <= hi, both within `bounds`.
    func interval(_ node: SourceNode, _ path: String, _ bounds: Bounds) -> Interval? {
        guard let items = node.items, items.count == 2 else {
            report(.wrongType(path, expected: "a list [lo, hi] of two numbers", got: node.items.map {
                "a list of \($0.count)" } ?? node.shortDescription, at: node.location))
            return nil
        }
        guard let lo = number(items[0], path + "[0]", bounds), let hi = number(items[1], path + "[1]", bounds) else {
            return nil
        }
        guard lo <= hi else {
            report(.invalid(path, "\(path) must have lo <= hi (got [\(fmt(lo)), \(fmt(hi))])", at: node.location))
            return nil
        }
        return Interval(lo, hi)
    }

    // MARK: Reading fields with defaults

    func number(_ f: Fields, _ key: String, _ value: inout Double, _ bounds: Bounds = .any) {
        if let n = f[key], let x = number(n, f.path(key), bounds) { value = x }
    }

    func integer(_ f: Fields, _ key: String, _ value: inout Int, _ bounds: Bounds = .any) {
        if let n = f[key], let x = integer(n, f.path(key), bounds) { value = x }
    }

    func boolean(_ f: Fields, _ key: String, _ value: inout Bool) {
        if let n = f[key], let x = boolean(n, f.path(key)) { value = x }
    }

    func choice<E: RawRepresentable & CaseIterable>(_ f: Fields, _ key: String, _ value: inout E)
    where E.RawValue == String {
        if let n = f[key], let x = choice(n, f.path(key), E.self) { value = x }
    }

    func interval(_ f: Fields, _ key: String, _ value: inout Interval, _ bounds: Bounds) {
        if let n = f[key], let x = interval(n, f.path(key), bounds) { value = x }
    }

    /// A list of words from `allowed`, returned in the order of `allowed` without repeats (so
    /// `[rot90, flip]` and `[flip, rot90, flip]` mean and encode the same).
    func wordSet(_ node: SourceNode, _ path: String, allowed: [String]) -> [String]? {
        if node.isNull { return [] }
        let items: [SourceNode]
        if node.scalar != nil {
            if node.string == "none" { return [] }
            items = [node]
        } else {
            guard let l = list(node, path) else { return nil }
            items = l
        }
        var chosen = Set<String>()
        var ok = true
        for (i, item) in items.enumerated() {
            if let w = word(item, "\(path)[\(i)]", allowed: allowed) { chosen.insert(w) } else { ok = false }
        }
        return ok ? allowed.filter(chosen.contains) : nil
    }
}
