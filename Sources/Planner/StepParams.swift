import Store

/// The parameters of each step kind, taken from a variant's resolved configuration. These are
/// exactly what the content key hashes and what the step implementation decodes; docs/plan.md
/// lists them. Sections that cannot change a step's output (gates, descriptions, titles) are
/// never picked up, so editing them leaves every key alone.
enum StepParams {
    enum Source {
        case synthetic(JSONValue)
        case hdf5(dir: String)
    }

    static func source(_ v: VariantInput, experiment: String) throws -> Source {
        guard case .object(let fields)? = v.value(at: "data.source") else {
            throw PlannerError.missingSection(experiment: experiment, variant: v.name, path: "data.source", expected: "an object with `synthetic` or `hdf5`")
        }
        if let synthetic = fields["synthetic"].map(unwrapEnumPayload), case .object = synthetic {
            return .synthetic(synthetic)
        }
        if let hdf5 = fields["hdf5"].map(unwrapEnumPayload), case .string(let dir)? = hdf5[path: "dir"] {
            return .hdf5(dir: dir)
        }
        throw PlannerError.missingSection(experiment: experiment, variant: v.name, path: "data.source", expected: "`synthetic {count, size, seed}` or `hdf5 {dir}`")
    }

    /// Swift's synthesized Codable encodes `case synthetic(X)` as `{"synthetic": {"_0": X}}`;
    /// the YAML form has no `_0` level.
    static func unwrapEnumPayload(_ value: JSONValue) -> JSONValue {
        if case .object(let o) = value, o.count == 1, let inner = o["_0"] { return inner }
        return value
    }

    static func section(_ v: VariantInput, _ path: String, experiment: String) throws -> JSONValue {
        guard let value = v.value(at: path) else {
            throw PlannerError.missingSection(experiment: experiment, variant: v.name, path: path, expected: "present")
        }
        return value
    }

    static func generate(_ synthetic: JSONValue) -> JSONValue { synthetic }

    static func ingest(dir: String, fingerprint: DirectoryFingerprint) -> JSONValue {
        .object(["dir": .string(dir), "listing_sha256": .string(fingerprint.sha256), "files": .number(Double(fingerprint.phantomFiles))])
    }

    static func clean(_ v: VariantInput, experiment: String) throws -> JSONValue {
        try section(v, "data.clean", experiment: experiment)
    }

    static func split(_ v: VariantInput, experiment: String) throws -> JSONValue {
        try section(v, "data.split", experiment: experiment)
    }

    /// Sections of the training step; `seed` is the replicate's seed.
    static let trainSections = ["model", "loss", "optimizer", "schedule", "training"]

    /// The train step's sections, checked present once per variant.
    static func trainSections(_ v: VariantInput, experiment: String) throws -> [(key: String, section: CanonicalJSON)] {
        try trainSections.map { name in
            guard let section = v.sections[name] else {
                throw PlannerError.missingSection(experiment: experiment, variant: v.name, path: name, expected: "present")
            }
            return (name, section)
        }
    }

    /// `{model, loss, optimizer, schedule, training, seed}` and its canonical text, composed from
    /// the sections' texts.
    static func train(_ sections: [(key: String, section: CanonicalJSON)], seed: Int) -> (params: JSONValue, text: String) {
        let seedValue = JSONValue.number(Double(seed))
        var fields: [String: JSONValue] = ["seed": seedValue]
        var texts: [(key: String, text: String)] = [("seed", seedValue.canonicalText)]
        for (name, section) in sections {
            fields[name] = section.value
            texts.append((name, section.text))
        }
        return (.object(fields), ContentKey.objectText(texts))
    }

    /// The whole `evaluate` section (split, metrics, data_range, checkpoint): gate thresholds
    /// live in the top-level `gate`, which no step reads, so nothing needs removing here.
    static func evaluate(_ v: VariantInput, experiment: String) throws -> CanonicalJSON {
        guard let section = v.sections["evaluate"], case .object = section.value else {
            throw PlannerError.missingSection(experiment: experiment, variant: v.name, path: "evaluate", expected: "an object")
        }
        return section
    }

    static func metrics(_ v: VariantInput) -> [JSONValue] {
        if case .array(let items)? = v.value(at: "evaluate.metrics") { return items }
        return []
    }

    static func seeds(_ v: VariantInput, experiment: String) throws -> [Int] {
        guard case .array(let items)? = v.value(at: "seeds"), !items.isEmpty else {
            throw PlannerError.missingSection(experiment: experiment, variant: v.name, path: "seeds", expected: "a non-empty list of integers")
        }
        var seen = Set<Int>(), out: [Int] = []
        for item in items {
            guard case .number(let d) = item, d == d.rounded(), abs(d) < 1e15 else {
                throw PlannerError.missingSection(experiment: experiment, variant: v.name, path: "seeds", expected: "a list of integers")
            }
            if seen.insert(Int(d)).inserted { out.append(Int(d)) }
        }
        return out
    }
}
