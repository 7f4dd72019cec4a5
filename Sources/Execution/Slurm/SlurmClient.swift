import Foundation

/// Runs the Slurm commands (`sbatch`, `squeue`, `scontrol`, `scancel`, `sinfo`) as subprocesses
/// and parses what they print. No `sacct`: clusters often have no accounting database.
public final class SlurmClient {
    /// Directories searched for the Slurm commands (the PATH of the runner by default).
    public let searchPath: String

    public init(searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") {
        self.searchPath = searchPath
    }

    /// Checks, before anything is submitted, that the commands exist, the controller answers
    /// and the partition (when one is asked for) exists.
    public func preflight(partition: String?) throws {
        for command in ["sbatch", "squeue", "scontrol", "scancel", "sinfo"] { _ = try executable(command) }
        let ping = try run("scontrol", ["ping"])
        let pingText = (ping.stdout + ping.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
        guard ping.status == 0, pingText.contains("UP") else { throw SlurmError.controllerDown(detail: pingText) }
        if let partition {
            let info = try run("sinfo", ["-h", "-p", partition, "-o", "%R"])
            guard info.status == 0 else { throw SlurmError.commandFailed(command: "sinfo -h -p \(partition)", status: info.status, stderr: info.stderr) }
            // sinfo -p accepts a comma list; every one must exist.
            let known = Set(info.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) })
            for name in partition.split(separator: ",").map(String.init) where !known.contains(name) {
                throw SlurmError.unknownPartition(name)
            }
        }
    }

    /// Submits a job; returns its id. sbatch's own message when it refuses (bad partition, account, limits).
    public func submit(_ submission: SbatchSubmission, stepName: String) throws -> String {
        let result = try run("sbatch", submission.arguments, stdin: submission.script)
        guard result.status == 0 else {
            throw SlurmError.submissionRejected(step: stepName, message: SlurmClient.message(result.stderr, status: result.status))
        }
        return try SbatchOutput.jobId(result.stdout)
    }

    /// Every job of this user Slurm still knows (pending, running, and finished within `MinJobAge`), by id.
    public func queue() throws -> [String: SlurmJobStatus] {
        let result = try run("squeue", ["--me", "-h", "-t", "all", "-o", SqueueParser.format])
        guard result.status == 0 else {
            throw SlurmError.commandFailed(command: "squeue", status: result.status, stderr: result.stderr)
        }
        var byId: [String: SlurmJobStatus] = [:]
        for job in try SqueueParser.parse(result.stdout) { byId[job.jobId] = job }
        return byId
    }

    /// Details of one job; nil when Slurm no longer knows it ("Invalid job id specified").
    public func showJob(_ jobId: String) throws -> ScontrolJob? {
        let result = try run("scontrol", ["show", "job", "-o", jobId])
        if result.status != 0 {
            if result.stderr.contains("Invalid job id") { return nil }
            throw SlurmError.commandFailed(command: "scontrol show job \(jobId)", status: result.status, stderr: result.stderr)
        }
        return try ScontrolParser.parse(result.stdout).first
    }

    /// Asks Slurm to cancel jobs. Jobs that already ended are not an error.
    public func cancel(_ jobIds: [String]) throws {
        guard !jobIds.isEmpty else { return }
        let result = try run("scancel", jobIds)
        if result.status != 0, !result.stderr.contains("already completing or completed"), !result.stderr.contains("Invalid job id") {
            throw SlurmError.commandFailed(command: "scancel " + jobIds.joined(separator: " "), status: result.status, stderr: result.stderr)
        }
    }

    // MARK: subprocesses

    public struct CommandResult {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Absolute path of a command on `searchPath`.
    public func executable(_ command: String) throws -> String {
        for directory in searchPath.split(separator: ":") where !directory.isEmpty {
            let candidate = directory + "/" + command
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw SlurmError.notInstalled(command: command, path: searchPath)
    }

    /// Runs a command to completion, feeding `stdin`, collecting both outputs.
    public func run(_ command: String, _ arguments: [String], stdin: String? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executable(command))
        process.arguments = arguments
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        let inPipe = stdin.map { _ in Pipe() }
        process.standardInput = inPipe ?? FileHandle.nullDevice
        try process.run()
        if let inPipe, let stdin {
            inPipe.fileHandleForWriting.write(Data(stdin.utf8))
            try? inPipe.fileHandleForWriting.close()
        }
        // Read stderr on another thread so neither pipe can fill up and block the child.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.data = errPipe.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.data
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus,
                             stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self))
    }

    /// sbatch prints "sbatch: error: …" lines; the last one is the reason.
    static func message(_ stderr: String, status: Int32) -> String {
        let lines = stderr.split(whereSeparator: \.isNewline).map { $0.replacingOccurrences(of: "sbatch: error: ", with: "") }
        return lines.isEmpty ? "sbatch exited with status \(status)" : lines.joined(separator: "; ")
    }
}
