import Foundation
import Planner
import Spec
import Store

/// Reads experiment files (or a saved plan) into what the planner needs, turning every problem
/// into an invalid-input failure (Spec errors carry file:line:column and an excerpt). Writes nothing.
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

    static func load(paths: [String]) throws -> [LoadedExperiment] {
        var loaded: [LoadedExperiment] = []
        var failures: [String] = []
        for path in paths {
            do { loaded.append(try ExperimentLoader.load(path: path)) } catch let error as SpecError {
                failures.append(error.description)
            } catch {
                failures.append("\(path): \(error)")
            }
        }
        if !failures.isEmpty { throw CLIFailure(.invalidInput, failures.joined(separator: "\n")) }
        return loaded
    }

    static func inputs(paths: [String]) throws -> PlanInputs {
        try gather(load(paths: paths))
    }

    static func gather(_ loaded: [LoadedExperiment]) throws -> PlanInputs {
        do { return try PlanInputs.gather(loaded) } catch let error as SpecError {
            throw CLIFailure(.invalidInput, error.description)
        } catch {
            throw CLIFailure(.invalidInput, "\(error)")
        }
    }

    /// The inputs a saved plan was made from, read again now from the files it names.
    static func inputs(for plan: Plan) throws -> PlanInputs {
        for path in plan.experimentFiles where !FileManager.default.fileExists(atPath: path) {
            throw CLIFailure(.invalidInput, "apply: the saved plan is stale; run `runner plan` again:\n  - \(path) is gone")
        }
        return try inputs(paths: plan.experimentFiles)
    }
}
