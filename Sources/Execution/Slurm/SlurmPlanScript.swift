import Foundation
import Steps

/// One job `runner plan --executor slurm` shows: the sbatch command an apply would run for a step.
/// Job ids are not known before submission, so dependencies name the shell variables the script
/// keeps them in (`job_1`), and `dependsOn` names the steps.
public struct SlurmPlannedJob: Codable, Hashable, Sendable {
    public var key: String
    public var name: String
    /// Shell variable holding this job's id in the script (`job_3`).
    public var variable: String
    /// Keys of the steps of this plan whose jobs this one waits for (`afterok`).
    public var dependsOn: [String]
    public var cores: Int
    /// The `--mem` it asks for, in MiB (nil: none).
    public var memoryMB: Int?
    /// Arguments after `sbatch`; an `afterok` dependency reads `--dependency=afterok:${job_1}`.
    public var arguments: [String]
    /// The batch script sbatch reads from stdin.
    public var script: String

    enum CodingKeys: String, CodingKey {
        case key, name, variable, dependsOn = "depends_on", cores, memoryMB = "memory_mb", arguments, script
    }
}

/// What `runner plan --executor slurm` shows: the sbatch commands an apply would run, as a bash
/// script a user could run by hand (job ids travel through shell variables into `afterok`), or as
/// data (`jobs`, for `--json`). Pure: nothing is submitted. Cached steps are not in `steps` and
/// are never submitted.
public enum SlurmPlanScript {
    /// The jobs in submission order (every job after the jobs it depends on).
    public static func jobs(_ steps: [StepRequest], memoryMB: [String: Int] = [:], experiment: String,
                            experimentNames: [String: String] = [:], options: SlurmOptions, runner: String, store: String,
                            stepCommand: [String] = ["step"]) throws -> [SlurmPlannedJob] {
        let order = try SlurmExecutor.topologicalOrder(steps)
        var variable: [String: String] = [:]
        var jobs: [SlurmPlannedJob] = []
        for (i, step) in order.enumerated() {
            let name = "job_\(i + 1)"
            variable[step.key] = name
            let upstream = Set(step.inputs.values).filter { variable[$0] != nil }.sorted { variable[$0]! < variable[$1]! }
            let job = SlurmStepJob(key: step.key, name: step.name, experiment: experimentNames[step.key] ?? experiment,
                                   cores: step.cores, memoryMB: memoryMB[step.key], logPath: store + "/steps/\(step.key)/log.txt",
                                   dependencyJobIds: upstream.map { "${\(variable[$0]!)}" })
            let submission = SbatchScript.render(job, options: options, runner: runner, store: store, stepCommand: stepCommand)
            jobs.append(SlurmPlannedJob(key: step.key, name: step.name, variable: name, dependsOn: upstream, cores: max(1, step.cores),
                                        memoryMB: options.memoryArgumentMB(estimate: memoryMB[step.key]),
                                        arguments: submission.arguments, script: submission.script))
        }
        return jobs
    }

    public static func render(_ steps: [StepRequest], memoryMB: [String: Int] = [:], experiment: String,
                              experimentNames: [String: String] = [:], options: SlurmOptions, runner: String, store: String,
                              stepCommand: [String] = ["step"]) throws -> String {
        render(try jobs(steps, memoryMB: memoryMB, experiment: experiment, experimentNames: experimentNames, options: options,
                        runner: runner, store: store, stepCommand: stepCommand),
               experiment: experiment, options: options)
    }

    public static func render(_ jobs: [SlurmPlannedJob], experiment: String, options: SlurmOptions) -> String {
        var text = "#!/bin/bash\n"
        text += "# Slurm jobs of experiment \(experiment): \(jobs.count) step\(jobs.count == 1 ? "" : "s") to run"
        text += " (cached steps are not submitted).\n"
        if options.retries > 0 {
            text += "# runner apply also resubmits a failed job up to \(options.retries) time\(options.retries == 1 ? "" : "s").\n"
        }
        text += "set -euo pipefail\n"
        for job in jobs {
            let command = (["sbatch"] + job.arguments).map { argument in
                argument.contains("${job_") ? "\"" + argument + "\"" : SbatchScript.shellQuoted(argument)
            }.joined(separator: " ")
            text += "\n# \(job.name.replacingOccurrences(of: "\n", with: " "))\n"
            text += "\(job.variable)=$(\(command) <<'SBATCH'\n\(job.script)SBATCH\n)\n"
        }
        return text
    }
}
