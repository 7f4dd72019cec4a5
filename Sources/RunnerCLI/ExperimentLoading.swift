import Foundation
import Planner
import Store

/// Reads experiment files (or a saved plan) into what the planner needs, turning every
/// problem into an invalid-input failure with file:line:column. Writes nothing.
enum ExperimentLoading {
    /// The saved plan when the arguments are one `.json` file, else nil.
    static func savedPlan(_ files: [String]) throws -> Plan? {
        guard files.count == 1, files[0].hasSuffix(".json") else { return nil }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: files[0])) } catch {
            throw CLIFailure(.invalidInput, "\(files[0]): cannot read the saved plan: \(error.localizedDescription)")
        }
        do { return try Plan.decode(jsonData: data) } catch {
            throw CLIFailure(.invalidInput, "\(files[0]): not a plan saved by `runner plan -o`: \(error)")
        }
    }

    static func inputs(paths: [String]) throws -> PlanInputs {
        throw CLIFailure(.invalidInput, "experiment files cannot be read yet (the Spec loader is not merged)")
    }

    static func inputs(for plan: Plan) throws -> PlanInputs {
        try inputs(paths: plan.experiments)
    }
}
