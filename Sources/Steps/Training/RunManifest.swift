import COpenBLAS
import Foundation
import Store

/// The run's manifest (Store's `Manifest`), written by the evaluate step as its output file
/// `manifest.json`: steps never touch the store, so the CLI copies it to `runs/<run-id>/manifest.json`
/// after the evaluate step is recorded (run id = the evaluate step's key), adding what only the store
/// knows: the experiment name, the request chain (`steps`), the train step's cores and gate results.
enum RunManifest {
    static let fileName = "manifest.json"
    /// Version recorded in manifests until the CLI passes its own.
    static let runnerVersion = "0.1.0"

    static func make(request: StepRequest, context: StepContext, modelTree: ArtifactTree, checkpointName: String,
                     checkpointDigest: String, splitDigest: String, metrics: [String: Double], split: String) throws -> Manifest {
        let started = Date()
        // the train step's resolved parameters and history travel in its output tree
        var config: [String: JSONValue] = ["evaluate": request.params]
        var seed = 0
        var deterministic: Bool?
        if let digest = modelTree.files[TrainStep.paramsName],
           let params = try? JSONValue(jsonData: Data(contentsOf: context.objectPath(digest))) {
            config["train"] = params
            if case .number(let s)? = params[path: "seed"] { seed = Int(s) }
            if case .bool(let d)? = params[path: "training.deterministic"] { deterministic = d }
        }
        var history: [EpochRecord] = []
        if let digest = modelTree.files[TrainStep.historyName] {
            do {
                let epochs = try JSONDecoder().decode([EpochHistory].self, from: Data(contentsOf: context.objectPath(digest)))
                history = epochs.map { e in
                    var m = e.valMetrics
                    if let r = e.trainRMSE { m["train.rmse"] = r }
                    m["weight_decay"] = e.weightDecay
                    m["samples_per_second"] = e.samplesPerSecond
                    return EpochRecord(epoch: e.epoch, trainLoss: e.trainLoss, validationLoss: nil, learningRate: e.lr, metrics: m, seconds: e.seconds)
                }
            } catch {
                throw StepError("evaluate: cannot read the train step's \(TrainStep.historyName): \(error)")
            }
        }
        let dataset: String
        if case .string(let f)? = context.inputs["data"]?.summary[path: "dataset_fingerprint"] { dataset = f } else { dataset = "unknown" }
        let env = ProcessInfo.processInfo.environment
        let blas = BLASDescription(name: "OpenBLAS", version: String(cString: openblas_get_config()),
                                   coreType: String(cString: openblas_get_corename()) + (env["OPENBLAS_CORETYPE"].map { " (OPENBLAS_CORETYPE=\($0))" } ?? ""),
                                   threads: Int(openblas_get_num_threads()))
        var inputKeys = request.inputs
        inputKeys["evaluate"] = request.key
        return Manifest(runID: request.key, experiment: "", variant: variant(of: request.name), stepKey: request.key,
                        config: .object(config), inputKeys: inputKeys, datasetFingerprint: dataset, splitFingerprint: splitDigest,
                        seed: seed, runnerVersion: runnerVersion, runnerCommit: BuildInfo.commit(),
                        buildConfiguration: BuildInfo.configuration, deterministic: deterministic, host: HostDescription.detect(threads: context.threads, blas: blas),
                        history: history, finalMetrics: Dictionary(uniqueKeysWithValues: metrics.map { ("\(split).\($0.key)", $0.value) }),
                        checkpointPath: checkpointName, checkpointSHA256: checkpointDigest, started: started, finished: Date())
    }

    /// `evaluate[attention, seed 28]` → `attention`.
    static func variant(of name: String) -> String {
        guard let open = name.firstIndex(of: "["), let close = name.lastIndex(of: "]"), open < close else { return "" }
        return String(name[name.index(after: open)..<close].split(separator: ",").first ?? "").trimmingCharacters(in: .whitespaces)
    }
}
