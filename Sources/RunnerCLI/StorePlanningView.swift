import Foundation
import Planner
import Store

/// The store as planning reads it: read-only, through the store's snapshot.
struct StorePlanningView: PlanningStore {
    let reader: StoreReader

    init(store: StoreReader) { reader = store }

    func isSucceeded(key: String) -> Bool { reader.isCached(key) }

    func lastKey(experiment: String, stepName: String) -> String? {
        try? reader.lastKey(experiment: experiment, name: stepName)
    }

    func recordedStep(key: String) -> RecordedStep? {
        if let record = try? reader.record(key) {
            return RecordedStep(kind: record.request.kind, params: record.request.params, inputs: record.request.inputs)
        }
        if let request = try? reader.request(key) {
            return RecordedStep(kind: request.kind, params: request.params, inputs: request.inputs)
        }
        return nil
    }

    func throughputSamples() -> [ThroughputSample] {
        var out: [ThroughputSample] = []
        for kind in PlanStepKind.allCases {
            guard let records = try? reader.throughput(kind: kind.rawValue) else { continue }
            for r in records where r.secondsPerUnit > 0 {
                guard let (unit, size) = ThroughputKey.parse(unit: r.unit) else { continue }
                out.append(ThroughputSample(kind: kind.rawValue, unit: unit, size: size, unitsPerCPUSecond: 1 / r.secondsPerUnit))
            }
        }
        return out
    }
}

/// How apply files throughput in the store: per step kind and host, with the volume size in the
/// unit (`phantom@64`), so measurements at 32³ and 64³ never average together.
enum ThroughputKey {
    static func kind(_ step: PlannedStep) -> String { step.kind.rawValue }
    static func unit(_ step: PlannedStep) -> String { "\(step.work.unit)@\(step.work.size)" }
    static func parse(unit: String) -> (String, Int)? {
        guard let at = unit.lastIndex(of: "@"), let size = Int(unit[unit.index(after: at)...]) else { return nil }
        return (String(unit[..<at]), size)
    }
}
