// matrix / ablate / variants → named sets of dotted-key overrides. Each set is merged into the
// document and decoded like the document itself, so a typo in an override gets the same
// file:line:column diagnostic and suggestion as a typo anywhere else.
//
//   matrix:   cartesian product of the listed values (first axis outermost), minus `exclude`
//   ablate:   `baseline` (no override) + one variant per entry — one factor at a time
//   variants: named override sets, used as they are (may be combined with ablate)

import Foundation

struct OverrideSpec {
    /// The dotted key as written (`model.attention`).
    var path: String
    var keyLocation: SourceLocation
    var value: SourceNode

    /// Key segments; a gate metric keeps its dots (`gate.rmse.mua.max` → gate, rmse.mua, max).
    var segments: [String] {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.first == "gate", parts.count > 2 else { return parts }
        let rest = parts.dropFirst().joined(separator: ".")
        if Metrics.all.contains(rest) { return ["gate", rest] }
        return ["gate", parts.dropFirst().dropLast().joined(separator: "."), parts.last!]
    }

    var display: Override { Override(path: path, value: value.flowText) }
}

struct VariantPlan {
    var name: String
    var location: SourceLocation
    var overrides: [OverrideSpec]
}

enum Expansion {
    static let sectionKeys: Set<String> = ["matrix", "ablate", "variants"]
    /// Keys that cannot be overridden per variant (they describe the experiment, not a variant).
    static let fixedKeys: Set<String> = ["name", "description", "extends", "matrix", "ablate", "variants", "executor"]
    static let maxVariants = 10_000

    /// The variants the document declares; `baseline` alone when it declares none.
    static func plans(for root: SourceNode, reader: Reader) -> [VariantPlan] {
        let matrix = root.entry("matrix"), ablate = root.entry("ablate"), variants = root.entry("variants")
        var plans: [VariantPlan] = []
        if let matrix, !matrix.value.isNull {
            if let other = ablate ?? variants {
                reader.report(.invalid("matrix", "matrix cannot be combined with \(other.key) in one file",
                                       at: other.keyLocation))
            }
            plans = matrixPlans(matrix, reader: reader)
        } else {
            if let ablate, !ablate.value.isNull {
                plans.append(VariantPlan(name: "baseline", location: ablate.keyLocation, overrides: []))
                plans += named(ablate, reader: reader, allowEmpty: false)
            }
            if let variants, !variants.value.isNull {
                plans += named(variants, reader: reader, allowEmpty: true)
            }
        }
        if plans.isEmpty { plans = [VariantPlan(name: "baseline", location: root.location, overrides: [])] }
        var seen: [String: SourceLocation] = [:]
        for p in plans {
            if seen[p.name] != nil {
                reader.report(.duplicateVariant(p.name, path: p.name, at: p.location))
            } else {
                seen[p.name] = p.location
            }
        }
        return plans
    }

    /// `ablate` / `variants`: name → mapping of dotted-key overrides.
    private static func named(_ section: SourceNode.Entry, reader: Reader, allowEmpty: Bool) -> [VariantPlan] {
        guard let entries = section.value.entries else {
            reader.report(.wrongType(section.key, expected: "a mapping of variant name → overrides",
                                     got: section.value.shortDescription, at: section.value.location))
            return []
        }
        var plans: [VariantPlan] = []
        for e in entries {
            let path = join(section.key, e.key)
            if !isValidName(e.key) {
                reader.report(.invalid(path, "variant name '\(e.key)' must be letters, digits, '.', '_', '=', ',' or '-'",
                                       at: e.keyLocation))
            }
            if section.key == "ablate", e.key == "baseline" {
                reader.report(.duplicateVariant("baseline", path: path, at: e.keyLocation))
                continue
            }
            var overrides: [OverrideSpec] = []
            if e.value.isNull || e.value.entries?.isEmpty == true {
                if !allowEmpty {
                    reader.report(.invalid(path, "\(path) has no overrides (an ablation must change something)",
                                           at: e.value.location))
                }
            } else if let o = e.value.entries {
                overrides = o.compactMap { override($0, in: path, reader: reader) }
            } else {
                reader.report(.wrongType(path, expected: "a mapping of dotted keys to values",
                                         got: e.value.shortDescription, at: e.value.location))
            }
            plans.append(VariantPlan(name: e.key, location: e.keyLocation, overrides: overrides))
        }
        return plans
    }

    private static func override(_ e: SourceNode.Entry, in section: String, reader: Reader) -> OverrideSpec? {
        let segments = e.key.split(separator: ".", omittingEmptySubsequences: false)
        if segments.contains(where: \.isEmpty) {
            reader.report(.invalid(join(section, e.key), "malformed dotted key '\(e.key)'", at: e.keyLocation))
            return nil
        }
        if fixedKeys.contains(String(segments[0])) {
            reader.report(.invalid(e.key, "'\(segments[0])' cannot be overridden in a variant", at: e.keyLocation))
            return nil
        }
        return OverrideSpec(path: e.key, keyLocation: e.keyLocation, value: e.value)
    }

    private static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._=,-".contains($0)) }
    }

    // MARK: matrix

    private static func matrixPlans(_ section: SourceNode.Entry, reader: Reader) -> [VariantPlan] {
        guard let entries = section.value.entries else {
            reader.report(.wrongType("matrix", expected: "a mapping of dotted key → list of values",
                                     got: section.value.shortDescription, at: section.value.location))
            return []
        }
        var axes: [(spec: OverrideSpec, values: [SourceNode])] = []
        var excludeNode: SourceNode?
        for e in entries {
            if e.key == "exclude" {
                excludeNode = e.value
                continue
            }
            guard let axis = override(e, in: "matrix", reader: reader) else { continue }
            let path = join("matrix", e.key)
            guard let values = e.value.items else {
                reader.report(.wrongType(path, expected: "a list of values", got: e.value.shortDescription,
                                         at: e.value.location))
                continue
            }
            if values.isEmpty {
                reader.report(.invalid(path, "\(path) has no values (an empty axis gives no variants)",
                                       at: e.value.location))
                continue
            }
            var seen: Set<String> = []
            for v in values where !seen.insert(v.canonicalText).inserted {
                reader.report(.invalid(path, "\(path) lists the value \(v.flowText) twice", at: v.location))
            }
            axes.append((axis, values))
        }
        if axes.isEmpty {
            if reader.diagnostics.isEmpty {
                reader.report(.invalid("matrix", "matrix has no axes", at: section.value.location))
            }
            return []
        }
        let excludes = excludeRules(excludeNode, axes: axes.map { ($0.spec.path, $0.values) }, reader: reader)
        let total = axes.reduce(1) { $0.multipliedReportingOverflow(by: $1.values.count).partialValue }
        guard total <= maxVariants, total > 0 else {
            reader.report(.invalid("matrix", "matrix has \(total) combinations, more than \(maxVariants)",
                                   at: section.keyLocation))
            return []
        }
        let labels = axisLabels(axes.map(\.spec.path))
        var plans: [VariantPlan] = []
        var index = [Int](repeating: 0, count: axes.count)
        for _ in 0..<total {
            let chosen = axes.indices.map { axes[$0].values[index[$0]] }
            let excluded = excludes.contains { rule in
                rule.allSatisfy { axisIndex, canonical in chosen[axisIndex].canonicalText == canonical }
            }
            if !excluded {
                let name = axes.indices.map { "\(labels[$0])=\(compact(chosen[$0].flowText))" }.joined(separator: ",")
                let overrides = axes.indices.map { i -> OverrideSpec in
                    var o = axes[i].spec
                    o.value = chosen[i]
                    return o
                }
                plans.append(VariantPlan(name: name, location: chosen.last!.location, overrides: overrides))
            }
            // Odometer: the last axis turns fastest, so the first axis is outermost.
            var k = axes.count - 1
            while k >= 0 {
                index[k] += 1
                if index[k] < axes[k].values.count { break }
                index[k] = 0
                k -= 1
            }
        }
        if plans.isEmpty {
            reader.report(.invalid("matrix.exclude", "matrix.exclude removes every combination",
                                   at: excludeNode?.location ?? section.keyLocation))
        }
        return plans
    }

    /// Each rule: (axis index, canonical value) pairs that must all match for a combination to be skipped.
    private static func excludeRules(_ node: SourceNode?, axes: [(String, [SourceNode])],
                                     reader: Reader) -> [[(Int, String)]] {
        guard let node, !node.isNull else { return [] }
        guard let items = reader.list(node, "matrix.exclude") else { return [] }
        let names = axes.map(\.0)
        var rules: [[(Int, String)]] = []
        for (i, item) in items.enumerated() {
            let path = "matrix.exclude[\(i)]"
            guard let entries = item.entries, !entries.isEmpty else {
                reader.report(.wrongType(path, expected: "a mapping of matrix keys to values",
                                         got: item.shortDescription, at: item.location))
                continue
            }
            var rule: [(Int, String)] = []
            for e in entries {
                guard let axis = names.firstIndex(of: e.key) else {
                    reader.report(.invalid(join(path, e.key), "'\(e.key)' is not a matrix key"
                                           + (Suggest.nearest(e.key, in: names).map { " (did you mean '\($0)'?)" } ?? ""),
                                           at: e.keyLocation))
                    continue
                }
                let canonical = e.value.canonicalText
                if !axes[axis].1.contains(where: { $0.canonicalText == canonical }) {
                    reader.report(.invalid(join(path, e.key),
                                           "\(e.value.flowText) is not one of the values of matrix.\(e.key)",
                                           at: e.value.location))
                }
                rule.append((axis, canonical))
            }
            rules.append(rule)
        }
        return rules
    }

    /// The last key segment (`lr`), or the whole dotted key where two axes share a last segment.
    private static func axisLabels(_ paths: [String]) -> [String] {
        let last = paths.map { String($0.split(separator: ".").last ?? Substring($0)) }
        return paths.indices.map { i in last.filter { $0 == last[i] }.count > 1 ? paths[i] : last[i] }
    }

    private static func compact(_ text: String) -> String {
        text.replacingOccurrences(of: ", ", with: ",").replacingOccurrences(of: ": ", with: ":")
            .replacingOccurrences(of: "/", with: "_")
    }

    /// The document with a variant's overrides merged in, in order.
    static func apply(_ overrides: [OverrideSpec], to document: SourceNode) -> SourceNode {
        overrides.reduce(document) { doc, o in doc.merging(o.value, at: o.segments, keyLocation: o.keyLocation) }
    }
}
