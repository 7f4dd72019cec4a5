import Foundation
import XCTest

/// A temporary directory with an experiment file and a store, inspected the way a user would:
/// through the runner's output and the files of the store.
final class Workspace {
    let dir: URL
    var store: URL { dir.appendingPathComponent(".runner") }

    init(_ name: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-e2e-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// A data-only experiment: synthetic phantoms at 32³, cleaned and split.
    static func dataExperiment(name: String = "tiny", count: Int = 36, seed: Int = 7, splitSeed: Int = 28) -> String {
        """
        name: \(name)
        description: end-to-end test data
        data:
          source: {synthetic: {count: \(count), size: 32, seed: \(seed)}}
          split:
            ratios: {train: 0.8, val: 0.1, test: 0.1}
            stratify_by: [tumour_count]
            seed: \(splitSeed)
        model: {base_channels: 4, latent_dim: 16}
        training: {epochs: 1, batch_size: 4}
        seeds: [1]
        """
    }

    func run(_ args: [String]) throws -> RunResult { try runner(args, in: dir) }
    func start(_ args: [String]) throws -> RunnerProcess { try RunnerProcess(args, in: dir) }

    /// Step records in the store: kind → [status].
    func records() throws -> [String: [String]] {
        let steps = store.appendingPathComponent("steps")
        var out: [String: [String]] = [:]
        for key in (try? FileManager.default.contentsOfDirectory(atPath: steps.path)) ?? [] {
            let url = steps.appendingPathComponent(key).appendingPathComponent("record.json")
            guard let data = try? Data(contentsOf: url),
                  let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let request = json["request"] as? [String: Any], let kind = request["kind"] as? String,
                  let status = json["status"] as? String else { continue }
            out[kind, default: []].append(status)
        }
        return out
    }

    /// Keys of steps with an incomplete marker.
    func incompleteMarkers() -> [String] {
        let steps = store.appendingPathComponent("steps")
        return ((try? FileManager.default.contentsOfDirectory(atPath: steps.path)) ?? []).filter {
            FileManager.default.fileExists(atPath: steps.appendingPathComponent($0).appendingPathComponent("incomplete.json").path)
        }
    }

    /// Pids of the step processes that hold incomplete markers (the running steps).
    func runningStepPIDs() -> [Int32] {
        let steps = store.appendingPathComponent("steps")
        return incompleteMarkers().compactMap { key in
            guard let data = try? Data(contentsOf: steps.appendingPathComponent(key).appendingPathComponent("incomplete.json")),
                  let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
            return (json["pid"] as? NSNumber)?.int32Value
        }
    }

    /// Every file under the store (relative paths).
    func storeFiles() -> [String] {
        guard let e = FileManager.default.enumerator(atPath: store.path) else { return [] }
        return e.compactMap { $0 as? String }.filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: store.appendingPathComponent($0).path, isDirectory: &isDir) && !isDir.boolValue
        }
    }
}

/// The JSON-lines events of `apply --json`.
struct ApplyEvents {
    var lines: [[String: Any]]

    init(_ stdout: String) {
        lines = stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    func kinds(of event: String) -> [String] {
        lines.filter { $0["event"] as? String == event }.compactMap { $0["kind"] as? String }
    }
    var summary: [String: Any]? { lines.last { $0["event"] as? String == "summary" } }
    var planned: [String: Any]? { lines.first { $0["event"] as? String == "planned" } }
}
