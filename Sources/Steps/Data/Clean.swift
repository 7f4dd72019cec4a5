import Foundation
import Phantoms
import Spec
import Store

/// `clean`: reads every phantom file of its `data` input and applies the cleaning rules. Writes
/// `cleaning-report.json` (accepted ids, rejected ids with reasons, per-phantom statistics for the
/// split) and re-uses the accepted phantom files as they are (`linkedFiles`, no copy).
/// A corrupt or truncated file is a rejection, never a failure of the step.
public struct CleanStep: StepImplementation {
    public static let kind = StepKind.clean
    public static let codeVersion = 1
    public static let reportName = "cleaning-report.json"
    public init() {}

    public func run(_ request: StepRequest, context: StepContext) throws -> StepResult {
        let spec = try DataParams.decode(CleanSpec.self, request.params, step: .clean)
        let rules = try DataParams.cleaningRules(spec)
        let input = try DataParams.input(context, role: "data", step: .clean)
        let (files, ignored) = DataParams.phantomFiles(input)
        var sources: [PhantomSource] = []
        var digests: [Int: (path: String, digest: String)] = [:]
        for file in files {
            guard digests[file.id] == nil else { throw StepError("clean: two files claim phantom \(file.id): \(digests[file.id]!.path) and \(file.path)") }
            let url: URL
            do { url = try context.objectPath(file.digest) } catch {
                throw StepError("clean: input object of \(file.path) is not available: \(error)")
            }
            sources.append(PhantomSource(id: file.id, url: url))
            digests[file.id] = (file.path, file.digest)
        }
        let total = sources.count
        context.progress(StepProgress(done: 0, total: total, message: "checking \(total) phantoms"))
        let result: CleaningResult
        do {
            result = try Cleaning.clean(sources, rules: rules, threads: max(1, context.threads),
                                        progress: { context.progress(StepProgress(done: $0, total: total, message: "phantoms")) },
                                        isCancelled: context.isCancelled)
        } catch is CancellationError {
            throw StepError("clean: cancelled")
        }

        let report = Self.report(result, files: digests, ignored: ignored, rules: spec)
        try DataParams.writeJSON(report, to: context.outputDirectory.appendingPathComponent(Self.reportName))
        var linked: [String: String] = [:]
        for id in result.accepted { linked[digests[id]!.path] = digests[id]!.digest }
        let fingerprint = ContentHash.dataset(result.accepted.map { ($0, result.hashes[$0]!) })
        var reasons: [String: JSONValue] = [:]
        for (code, count) in result.reasonCounts { reasons[code] = DataParams.int(count) }
        return StepResult(summary: .object([
            "phantoms": DataParams.int(total), "accepted": DataParams.int(result.accepted.count),
            "rejected": DataParams.int(result.rejected.count), "reasons": .object(reasons),
            "ignored_files": DataParams.int(ignored.count), "dataset_fingerprint": .string(fingerprint.description),
        ]), linkedFiles: linked)
    }

    static func report(_ result: CleaningResult, files: [Int: (path: String, digest: String)], ignored: [String], rules: CleanSpec) -> JSONValue {
        var stats: [String: JSONValue] = [:]
        for id in result.accepted {
            guard let s = result.stats[id] else { continue }
            stats[String(id)] = .object([
                "tumour_count": DataParams.int(s.tumourCount), "tumour_volume": DataParams.int(s.tumourVolume),
                "healthy_mua": .number(s.healthyMua), "healthy_musp": .number(s.healthyMusp),
                "tissue_coverage": .number(s.tissueCoverage), "voxels": DataParams.int(s.voxels), "content_hash": .string(result.hashes[id]!.description),
            ])
        }
        let rejected: [JSONValue] = result.rejected.map { entry in
            .object([
                "id": DataParams.int(entry.id), "file": .string(files[entry.id]?.path ?? ""),
                "reasons": .array(entry.reasons.map { .object(["code": .string($0.code), "message": .string($0.description)]) }),
            ])
        }
        return .object([
            "accepted": .array(result.accepted.map(DataParams.int)),
            "rejected": .array(rejected),
            "reason_counts": .object(result.reasonCounts.mapValues(DataParams.int)),
            "ignored_files": .array(ignored.map(JSONValue.string)),
            "stats": .object(stats),
            "rules": (try? JSONValue(encoding: rules)) ?? .null,
        ])
    }
}
