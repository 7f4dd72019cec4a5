import Store

/// Planning: experiments × a read-only store view → `Plan`. A pure function of its arguments:
/// it starts no process, writes no file and reads no clock, so the same inputs and the same
/// store give the same plan, byte for byte.
public enum Planner {
    ///
    /// `host` selects whose recorded throughput prices the steps (`HostIdentity.current.name`
    /// in the CLI); `cores` sets the cores each step asks for. Neither enters a key.
    public static func plan(_ inputs: PlanInputs, store: some StoreReader, cores: CoreBudget, host: String) throws -> Plan {
        var seenExperiments = Set<String>()
        var graphs: [ExperimentGraph] = []
        for experiment in inputs.experiments {
            guard seenExperiments.insert(experiment.name).inserted else { throw PlannerError.duplicateExperiment(experiment.name) }
            graphs.append(try ExperimentGraph.build(experiment, directories: inputs.directories, cores: cores))
        }

        var throughput: [PlanStepKind: ThroughputRecord?] = [:]
        for kind in PlanStepKind.allCases { throughput[kind] = try store.throughput(kind: kind.rawValue, host: host) }
        var presence = StorePresence(store)
        var steps: [PlannedStep] = []
        var index: [String: Int] = [:]
        var succeededKeys = Set<String>()
        var lastKeys: [String: JSONValue] = [:]

        for graph in graphs {
            for step in graph.steps {
                let lastKey = presence.mayHaveName(experiment: graph.experiment, name: step.name)
                    ? try store.lastKey(experiment: graph.experiment, name: step.name) : nil
                lastKeys[graph.experiment + "/" + step.name] = lastKey.map(JSONValue.string) ?? .null
                if let existing = index[step.key] {
                    steps[existing].alsoNamed.append(StepName(experiment: graph.experiment, name: step.name))
                    continue
                }
                let succeeded = presence.mayHaveStep(step.key) && store.isCached(step.key)
                if succeeded { succeededKeys.insert(step.key) }
                let (status, why) = succeeded ? (PlanStepStatus.cached, []) : try classify(step, lastKey: lastKey, store: store)
                index[step.key] = steps.count
                steps.append(PlannedStep(step: step, experiment: graph.experiment, status: status, why: why,
                                         estimate: CostModel.estimate(work: step.work, measured: throughput[step.kind] ?? nil)))
            }
        }

        if cores.sharedByTrainSteps, let memory = cores.memoryMB { fitSharedTrainSteps(&steps, cores: cores, memoryMB: memory) }

        let fingerprint = JSONValue.object([
            "succeeded": .array(succeededKeys.sorted().map(JSONValue.string)),
            "names": .object(lastKeys),
        ])
        return Plan(experiments: inputs.experiments.map(\.name), experimentFiles: inputs.files, sources: inputs.sources, dataDirectories: inputs.directories,
                    storeFingerprint: Digest.sha256(fingerprint.canonicalData), cores: cores, host: host, steps: steps)
    }

    /// Gives an experiment's train steps more cores each — so fewer of them run side by side —
    /// when the modelled memory of those running together exceeds `memoryMB`.
    static func fitSharedTrainSteps(_ steps: inout [PlannedStep], cores: CoreBudget, memoryMB: Int) {
        let byKey = Dictionary(steps.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        for experiment in Set(steps.map(\.experiment)) {
            let trains = steps.indices.filter { steps[$0].kind == .train && steps[$0].experiment == experiment }
            guard let perStep = trains.map({ steps[$0].cores }).min(), perStep < cores.total else { continue }
            let peak = trains.map { MemoryModel.memoryMB(steps[$0], steps: byKey) }.max() ?? 0
            let fitting = max(1, memoryMB / max(1, peak))
            let sideBySide = cores.total / perStep
            guard sideBySide > fitting else { continue }
            let widened = min(cores.total, (cores.total + fitting - 1) / fitting)
            for i in trains { steps[i].cores = max(steps[i].cores, widened) }
        }
    }

    /// new or changed, and why, for a step whose key has no succeeded record.
    static func classify(_ step: GraphStep, lastKey: String?, store: some StoreReader) throws -> (PlanStepStatus, [StepChange]) {
        guard let lastKey else { return (.new, []) }
        if lastKey == step.key { return (.new, [.unfinished]) }
        guard let previous = try store.request(lastKey) else { return (.changed, [.previousRecordMissing(key: lastKey)]) }
        var why: [StepChange] = JSONValue.differences(from: previous.params, to: step.params).map {
            .parameter(path: $0.path, old: $0.old, new: $0.new)
        }
        for role in Set(previous.inputs.keys).union(step.inputs.keys).sorted() where previous.inputs[role] != step.inputs[role] {
            why.append(.input(role: role, old: previous.inputs[role], new: step.inputs[role]))
        }
        if why.isEmpty { why = [.codeVersion] }
        return (.changed, why)
    }
}
