import Foundation
import Store

/// What `runner predict --checkpoint C` and `runner export C` accept for C, resolved to a file:
/// - a safetensors file (e.g. an exported model, or an object of the store);
/// - a run: `runs/<id>` (relative to the store or to the working directory), the run's directory,
///   its `manifest.json`, or its bare id — the checkpoint its metrics were measured on;
/// - a step key (or a unique prefix of at least 6 characters): a train step → its `best.safetensors`
///   (`last.safetensors` with `which: .last`), an evaluate step → the checkpoint it evaluated.
/// Checkpoints in the store are hash-checked before they are handed out.
public struct ResolvedCheckpoint: Equatable, Sendable {
    public var url: URL
    /// How the user's argument was resolved, for messages and `--json` (e.g. `train step 3fa1…: best.safetensors`).
    public var origin: String
    /// SHA-256 when the checkpoint came from the store.
    public var digest: String?
}

public enum CheckpointLocator {
    public enum Which: String, Sendable { case best, last }

    public static func resolve(_ argument: String, storeRoot: URL, which: Which = .best,
                               workingDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) throws -> ResolvedCheckpoint {
        let fm = FileManager.default
        let local = URL(fileURLWithPath: argument, relativeTo: workingDirectory).standardizedFileURL
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: local.path, isDirectory: &isDirectory) {
            if !isDirectory.boolValue {
                if local.lastPathComponent == RunManifest.fileName {
                    return try fromManifest(local, storeRoot: storeRoot, which: which)
                }
                return ResolvedCheckpoint(url: local, origin: local.path, digest: nil)
            }
            let manifest = local.appendingPathComponent(RunManifest.fileName)
            if fm.fileExists(atPath: manifest.path) { return try fromManifest(manifest, storeRoot: storeRoot, which: which) }
            let named = local.appendingPathComponent(which == .best ? TrainStep.bestName : TrainStep.lastName)
            if fm.fileExists(atPath: named.path) { return ResolvedCheckpoint(url: named, origin: named.path, digest: nil) }
            throw StepError("\(argument): a directory without \(RunManifest.fileName) or \(named.lastPathComponent)")
        }

        guard fm.fileExists(atPath: storeRoot.appendingPathComponent("steps").path) || fm.fileExists(atPath: storeRoot.appendingPathComponent("runs").path) else {
            throw StepError("\(argument): no such file, and no store at \(storeRoot.path) to look it up as a run or step key (pass --store DIR)")
        }
        let snapshot = StoreSnapshot(root: storeRoot)
        var name = argument
        while name.hasSuffix("/") { name.removeLast() }
        if name.hasPrefix("runs/") { name = String(name.dropFirst("runs/".count)) }
        if !name.isEmpty, !name.contains("/"), (try? snapshot.runIDs())?.contains(name) == true {
            return try fromManifest(snapshot.layout.manifest(name), storeRoot: storeRoot, which: which)
        }
        if argument.hasPrefix("runs/") {
            throw StepError("\(argument): no such run in \(storeRoot.path)/runs")
        }
        let hex = Set("0123456789abcdef")
        guard name.count >= 6, name.allSatisfy({ hex.contains($0) }) else {
            throw StepError("\(argument): no such file, run or step key (in the store \(storeRoot.path))")
        }
        let keys = ((try? snapshot.stepKeys()) ?? []).filter { $0.hasPrefix(name) }
        guard keys.count == 1, let key = keys.first else {
            throw StepError(keys.isEmpty ? "\(argument): no such file, run or step key (in the store \(storeRoot.path))"
                                         : "\(argument): ambiguous step key prefix (\(keys.count) steps: \(keys.prefix(4).map { String($0.prefix(12)) }.joined(separator: ", "))…)")
        }
        return try fromStep(key, snapshot: snapshot, which: which)
    }

    /// The checkpoint of a run's manifest: the digest its metrics were measured on (`checkpointSHA256`),
    /// or the train step's `last.safetensors` when `which` is `.last`.
    static func fromManifest(_ url: URL, storeRoot: URL, which: Which) throws -> ResolvedCheckpoint {
        let manifest: Manifest
        do { manifest = try Manifest.read(from: url) } catch { throw StepError("cannot read the run manifest \(url.path): \(error)") }
        // A manifest inside a store (`<store>/runs/<id>/manifest.json`) resolves through that store.
        var storeRoot = storeRoot
        let candidate = url.deletingLastPathComponent().deletingLastPathComponent()
        if candidate.lastPathComponent == "runs",
           FileManager.default.fileExists(atPath: candidate.deletingLastPathComponent().appendingPathComponent("objects").path) {
            storeRoot = candidate.deletingLastPathComponent()
        }
        let snapshot = StoreSnapshot(root: storeRoot)
        if which == .best, let digest = manifest.checkpointSHA256 {
            return ResolvedCheckpoint(url: try object(digest, storeRoot: storeRoot, what: "checkpoint of run \(manifest.runID)"),
                                      origin: "run \(manifest.runID): \(manifest.checkpointPath ?? "checkpoint")", digest: digest)
        }
        guard let trainKey = manifest.inputKeys["model"] else {
            throw StepError("the run manifest \(url.path) names no checkpoint and no model input")
        }
        return try fromStep(trainKey, snapshot: snapshot, which: which)
    }

    static func fromStep(_ key: String, snapshot: StoreSnapshot, which: Which) throws -> ResolvedCheckpoint {
        let record: StepRecord?
        do { record = try snapshot.record(key) } catch { throw StepError("cannot read the record of step \(key): \(error)") }
        guard let record else { throw StepError("step \(key) has not run (no record in \(snapshot.root.path))") }
        guard record.status == .succeeded else { throw StepError("step \(key) (\(record.name)) did not succeed (\(record.status.rawValue))") }
        switch record.kind {
        case StepKind.train.rawValue:
            let name = which == .best ? TrainStep.bestName : TrainStep.lastName
            guard let digest = record.output.files[name] else { throw StepError("train step \(key) has no \(name)") }
            return ResolvedCheckpoint(url: try object(digest, storeRoot: snapshot.root, what: "\(name) of \(record.name)"),
                                      origin: "\(record.name) (step \(key.prefix(12))): \(name)", digest: digest)
        case StepKind.evaluate.rawValue:
            guard let model = record.request.inputs["model"] else { throw StepError("evaluate step \(key) has no model input") }
            if which == .best, case .string(let digest)? = try? metricsDocument(record, snapshot: snapshot)?[path: "checkpoint_sha256"] {
                return ResolvedCheckpoint(url: try object(digest, storeRoot: snapshot.root, what: "checkpoint of \(record.name)"),
                                          origin: "\(record.name) (step \(key.prefix(12))): its checkpoint", digest: digest)
            }
            return try fromStep(model, snapshot: snapshot, which: which)
        default:
            throw StepError("step \(key) is a \(record.kind) step; a checkpoint comes from a train or evaluate step or a run")
        }
    }

    private static func metricsDocument(_ record: StepRecord, snapshot: StoreSnapshot) throws -> JSONValue? {
        guard let digest = record.output.files[EvaluateStep.metricsName] else { return nil }
        return try JSONValue(jsonData: Data(contentsOf: object(digest, storeRoot: snapshot.root, what: EvaluateStep.metricsName)))
    }

    /// The object's path after checking its bytes against the digest (a corrupt checkpoint is never used).
    static func object(_ digest: String, storeRoot: URL, what: String) throws -> URL {
        do { return try ObjectStore(root: StoreLayout(root: storeRoot).objects).path(of: digest) } catch {
            throw StepError("\(what): \(error)")
        }
    }
}
