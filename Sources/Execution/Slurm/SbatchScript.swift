import Foundation

/// One step as a Slurm job: what `SbatchScript.render` needs to know about it.
public struct SlurmStepJob: Hashable, Sendable {
    /// Content key; the job runs `runner step KEY --store DIR`.
    public var key: String
    /// The step's name in the experiment, e.g. `train[attention, seed 28]`.
    public var name: String
    public var experiment: String
    /// `--cpus-per-task`.
    public var cores: Int
    /// The step's memory estimate in MiB, for `--mem` (`SlurmOptions.memoryMB` or an extra `--mem…`
    /// argument override it); nil and no override leave it to the partition's default.
    public var memoryMB: Int?
    /// Absolute path the job's stdout and stderr go to (`--output`, appended across retries).
    public var logPath: String
    /// Jobs this one waits for (`--dependency=afterok:…`).
    public var dependencyJobIds: [String]

    public init(key: String, name: String, experiment: String, cores: Int, memoryMB: Int?, logPath: String, dependencyJobIds: [String]) {
        self.key = key; self.name = name; self.experiment = experiment; self.cores = cores
        self.memoryMB = memoryMB; self.logPath = logPath; self.dependencyJobIds = dependencyJobIds
    }
}

/// An sbatch invocation: arguments on the command line, the batch script on stdin.
public struct SbatchSubmission: Hashable, Sendable {
    /// Arguments after `sbatch`.
    public var arguments: [String]
    /// The batch script sbatch reads from stdin.
    public var script: String

    /// The same submission as one shell command a user could paste (`runner plan --executor slurm` shows it).
    public var shellText: String {
        let command = (["sbatch"] + arguments).map(SbatchScript.shellQuoted).joined(separator: " ")
        return command + " <<'SBATCH'\n" + script + "SBATCH\n"
    }
}

/// Pure rendering of a step's sbatch command line and batch script.
public enum SbatchScript {
    /// - Parameters:
    ///   - runner: absolute path of the `runner` executable, visible on the compute nodes.
    ///   - store: absolute path of the store, on a file system all nodes share.
    ///   - stepCommand: what follows the runner path before the key (`["step"]`).
    public static func render(_ job: SlurmStepJob, options: SlurmOptions, runner: String, store: String,
                              stepCommand: [String] = ["step"]) -> SbatchSubmission {
        var arguments = [
            "--parsable",
            "--job-name=\(job.experiment):\(job.name)",
            "--cpus-per-task=\(max(1, job.cores))",
        ]
        if let memory = options.memoryArgumentMB(estimate: job.memoryMB) { arguments.append("--mem=\(max(1, memory))M") }
        arguments += ["--output=\(job.logPath)", "--open-mode=append"]
        if !job.dependencyJobIds.isEmpty {
            arguments += ["--dependency=afterok:" + job.dependencyJobIds.joined(separator: ":"), "--kill-on-invalid-dep=yes"]
        }
        if let partition = options.partition { arguments.append("--partition=\(partition)") }
        if let account = options.account { arguments.append("--account=\(account)") }
        if let qos = options.qos { arguments.append("--qos=\(qos)") }
        if let time = options.timeLimit { arguments.append("--time=\(time)") }
        arguments += options.extraArguments

        var script = "#!/bin/sh\n"
        script += "# runner: step \(oneLine(job.name)) of experiment \(oneLine(job.experiment)), key \(job.key)\n"
        // The step's threads follow its cores, as the local executor sets them (ChildEnvironment).
        let threads = max(1, job.cores)
        script += "export RUNNER_THREADS=\(threads) OPENBLAS_NUM_THREADS=\(threads) OMP_NUM_THREADS=\(threads)\n"
        if let coreType = options.openblasCoreType { script += "export OPENBLAS_CORETYPE=\(shellQuoted(coreType))\n" }
        script += "exec " + ([runner] + stepCommand + [job.key, "--store", store]).map(shellQuoted).joined(separator: " ") + "\n"
        return SbatchSubmission(arguments: arguments, script: script)
    }

    /// POSIX shell quoting: bare when only safe characters, else single quotes.
    public static func shellQuoted(_ text: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
        if !text.isEmpty && text.allSatisfy({ safe.contains($0) }) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private static func oneLine(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ")
    }
}
