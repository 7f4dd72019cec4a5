import Foundation
import Steps

/// What `runner plan --executor slurm` shows: the sbatch commands an apply would run, as a bash
/// script a user could run by hand (job ids travel through shell variables into `afterok`).
/// Pure: nothing is submitted. Cached steps are not in `steps` and are never submitted.
public enum SlurmPlanScript {
    public static func render(_ steps: [StepRequest], memoryMB: [String: Int] = [:], experiment: String,
                              options: SlurmOptions, runner: String, store: String,
                              stepCommand: [String] = ["step"]) throws -> String {
        let order = try SlurmExecutor.topologicalOrder(steps)
        var variable: [String: String] = [:]
        var text = "#!/bin/bash\n"
        text += "# Slurm jobs of experiment \(experiment): \(order.count) step\(order.count == 1 ? "" : "s") to run"
        text += " (cached steps are not submitted).\n"
        if options.retries > 0 {
            text += "# runner apply also resubmits a failed job up to \(options.retries) time\(options.retries == 1 ? "" : "s").\n"
        }
        text += "set -euo pipefail\n"
        for (i, step) in order.enumerated() {
            let name = "job_\(i + 1)"
            variable[step.key] = name
            let dependencies = step.inputs.values.compactMap { variable[$0] }.sorted().map { "${\($0)}" }
            let job = SlurmStepJob(key: step.key, name: step.name, experiment: experiment, cores: step.cores,
                                   memoryMB: memoryMB[step.key], logPath: store + "/steps/\(step.key)/log.txt",
                                   dependencyJobIds: dependencies)
            let submission = SbatchScript.render(job, options: options, runner: runner, store: store, stepCommand: stepCommand)
            let command = (["sbatch"] + submission.arguments).map { argument in
                argument.contains("${job_") ? "\"" + argument + "\"" : SbatchScript.shellQuoted(argument)
            }.joined(separator: " ")
            text += "\n# \(step.name.replacingOccurrences(of: "\n", with: " "))\n"
            text += "\(name)=$(\(command) <<'SBATCH'\n\(submission.script)SBATCH\n)\n"
        }
        return text
    }
}
