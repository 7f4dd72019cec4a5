// The public entry point: an experiment file → typed, validated, expanded experiment.
//
//   1. read the file and, recursively, the files it `extends` (paths relative to the file that
//      names them; cycles rejected with the chain shown), deep-merged, the child winning;
//   2. read the variant sections (matrix / ablate / variants);
//   3. decode the document itself (the `baseline`) with every default filled in;
//   4. decode each variant (document + its overrides).
// Every problem of every step is collected; one `SpecError` carries them all.

import Foundation

public enum ExperimentLoader {
    /// Loads `path` (relative paths stay relative to the working directory in diagnostics).
    public static func load(path: String) throws -> LoadedExperiment {
        var files = FileSet()
        guard let root = files.loadTree(path: path, chain: [], from: nil) else {
            throw SpecError(diagnostics: files.diagnostics, sources: files.texts)
        }
        return try expand(root, files: files)
    }

    /// Loads YAML text as if it were the file `path` (`extends` and relative paths are resolved
    /// against `path`'s directory on disk). For tests and for editors that hold unsaved text.
    public static func load(text: String, path: String) throws -> LoadedExperiment {
        var files = FileSet()
        guard let root = files.loadTree(path: path, chain: [], from: nil, text: text) else {
            throw SpecError(diagnostics: files.diagnostics, sources: files.texts)
        }
        return try expand(root, files: files)
    }

    private static func expand(_ root: SourceNode, files: FileSet) throws -> LoadedExperiment {
        let planReader = Reader()
        let plans = Expansion.plans(for: root, reader: planReader)
        let names = plans.map(\.name)
        let document = root.removing(Expansion.sectionKeys)

        let baseReader = Reader()
        let base = ExperimentDecoder(reader: baseReader, variantNames: names).decode(document)
        var diagnostics = files.diagnostics + planReader.diagnostics + baseReader.diagnostics
        // Errors in the document would repeat in every variant: report them once, stop there.
        guard baseReader.diagnostics.isEmpty else { throw SpecError(diagnostics: diagnostics, sources: files.texts) }

        var variants: [Variant] = []
        variants.reserveCapacity(plans.count)
        for plan in plans {
            if plan.overrides.isEmpty {
                variants.append(Variant(name: plan.name, overrides: [], experiment: base))
                continue
            }
            let reader = Reader()
            let experiment = ExperimentDecoder(reader: reader, variantNames: names)
                .decode(Expansion.apply(plan.overrides, to: document))
            diagnostics += reader.diagnostics
            variants.append(Variant(name: plan.name, overrides: plan.overrides.map(\.display), experiment: experiment))
        }
        guard diagnostics.isEmpty else { throw SpecError(diagnostics: diagnostics, sources: files.texts) }
        return LoadedExperiment(experiment: base, variants: variants, sources: files.sources)
    }
}

/// The files read for one experiment, and the problems met reading them.
struct FileSet {
    var texts: [String: String] = [:]
    var sources: [SourceFile] = []
    var diagnostics: [Diagnostic] = []

    /// Reads `path` and the files it extends; the merged tree without `extends`.
    /// `chain` holds the files that extend this one (normalised paths), `from` the `extends`
    /// value that named it.
    mutating func loadTree(path: String, chain: [String], from: SourceNode?, text given: String? = nil) -> SourceNode? {
        let text: String
        let bytes: Data
        if let given {
            text = given
            bytes = Data(given.utf8)
        } else {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                let reason = FileManager.default.fileExists(atPath: path) ? "not a readable file" : "no such file"
                diagnostics.append(.fileUnreadable(path, reason: reason, at: from?.location,
                                                   key: from == nil ? "" : "extends"))
                return nil
            }
            guard let decoded = String(data: data, encoding: .utf8) else {
                diagnostics.append(.fileUnreadable(path, reason: "not UTF-8 text", at: from?.location,
                                                   key: from == nil ? "" : "extends"))
                return nil
            }
            text = decoded
            bytes = data
        }
        texts[path] = text
        sources.append(SourceFile(path: path, contents: bytes))

        guard let tree = SourceTree.parse(text, file: path, diagnostics: &diagnostics) else { return nil }
        guard tree.entries != nil else {
            diagnostics.append(.wrongType("", expected: "a mapping of keys (name, data, model, …)",
                                          got: tree.shortDescription, at: tree.location)
                .with(message: "an experiment file must be a mapping of keys (got \(tree.shortDescription))"))
            return nil
        }
        guard let ext = tree["extends"], !ext.isNull else { return tree.removing(["extends"]) }
        guard let relative = ext.string, ext.scalar != nil else {
            diagnostics.append(.wrongType("extends", expected: "a path to a YAML file", got: ext.shortDescription,
                                          at: ext.location))
            return nil
        }
        let basePath = Paths.resolve(relative, relativeTo: path)
        let me = Self.identity(path)
        let chainHere = chain + [me]
        if let start = chainHere.firstIndex(of: Self.identity(basePath)) {
            let shown = Array((chainDisplay + [path])[start...]) + [basePath]
            diagnostics.append(.extendsCycle(shown, at: ext.location))
            return nil
        }
        chainDisplay.append(path)
        defer { chainDisplay.removeLast() }
        guard let base = loadTree(path: basePath, chain: chainHere, from: ext) else { return nil }
        return SourceNode.merge(base: base, child: tree.removing(["extends"]))
    }

    /// Paths of the files on the current `extends` chain, as displayed.
    private var chainDisplay: [String] = []

    /// A file's identity for cycle detection: its absolute, normalised path.
    static func identity(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return Paths.normalize((absolute as NSString).resolvingSymlinksInPath)
    }
}

extension Diagnostic {
    func with(message: String) -> Diagnostic {
        var d = self
        d.message = message
        return d
    }
}
