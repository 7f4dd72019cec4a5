import Store

/// What planning reads from a store, and nothing more. The store's read-only view conforms
/// (StoreConformance.swift); planning never writes through it.
public protocol PlanningStore {
    /// True when `steps/<key>/record.json` exists with status "succeeded".
    func isSucceeded(key: String) -> Bool
    /// Key of the last step recorded under `names/<experiment>/<stepName>.json`.
    func lastKey(experiment: String, stepName: String) -> String?
    /// Params and inputs of a recorded step, for "changed: why".
    func recordedStep(key: String) -> RecordedStep?
    /// Throughput recorded by earlier runs on this machine.
    func throughputSamples() -> [ThroughputSample]
}

/// A step as an earlier run recorded it.
public struct RecordedStep: Sendable, Hashable {
    public var kind: String
    public var params: JSONValue
    public var inputs: [String: String]

    public init(kind: String, params: JSONValue, inputs: [String: String]) {
        self.kind = kind; self.params = params; self.inputs = inputs
    }
}

/// A store with nothing in it, e.g. for planning without `.runner/`.
public struct EmptyStore: PlanningStore {
    public init() {}
    public func isSucceeded(key: String) -> Bool { false }
    public func lastKey(experiment: String, stepName: String) -> String? { nil }
    public func recordedStep(key: String) -> RecordedStep? { nil }
    public func throughputSamples() -> [ThroughputSample] { [] }
}
