import Foundation

/// One job as `scontrol show job -o ID` prints it: `Key=Value` pairs separated by spaces, on one line.
public struct ScontrolJob: Hashable, Sendable {
    /// Every field, by key (`JobState`, `Reason`, `Dependency`, `ExitCode`, `StdOut`, …).
    public var fields: [String: String]

    public init(fields: [String: String]) { self.fields = fields }

    public var jobId: String { fields["JobId"] ?? "" }
    public var name: String { fields["JobName"] ?? "" }
    public var state: SlurmJobState { SlurmJobState(fields["JobState"] ?? "") }
    public var reason: String { fields["Reason"] ?? "None" }
    /// `afterok:3(unfulfilled)`, `afterok:6(failed)`; nil for `(null)`.
    public var dependency: String? { fields["Dependency"].flatMap { $0 == "(null)" || $0.isEmpty ? nil : $0 } }
    /// The job's exit status (`ExitCode=<status>:<signal>`), and the signal that ended it (15 for scancel/timeout).
    public var exitStatus: Int? { exitCodeParts?.status }
    public var exitSignal: Int? { exitCodeParts?.signal }
    public var stdoutPath: String? { fields["StdOut"] }

    public var status: SlurmJobStatus { SlurmJobStatus(jobId: jobId, state: state, reason: reason) }

    private var exitCodeParts: (status: Int, signal: Int)? {
        guard let text = fields["ExitCode"] else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let status = Int(parts[0]), let signal = Int(parts[1]) else { return nil }
        return (status, signal)
    }
}

/// Parses `scontrol show job -o` output.
///
/// Values may contain spaces (job names such as `exp:train[a, seed 1]`, paths): a space-separated word
/// that does not start a new `Key=` continues the previous value. Keys are Slurm's field names
/// (letters, digits and `_:/` as in `AllocNode:Sid`, `CPUs/Task`).
public enum ScontrolParser {
    public static func parse(_ text: String) throws -> [ScontrolJob] {
        var jobs: [ScontrolJob] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let job = ScontrolJob(fields: parseFields(line))
            guard !job.jobId.isEmpty, job.fields["JobState"] != nil else {
                throw SlurmError.unparsableOutput(command: "scontrol show job", detail: "no JobId/JobState in '\(line.prefix(120))'")
            }
            jobs.append(job)
        }
        return jobs
    }

    static func parseFields(_ line: String) -> [String: String] {
        var fields: [String: String] = [:]
        var currentKey: String?
        for word in line.split(separator: " ", omittingEmptySubsequences: false) {
            if let eq = word.firstIndex(of: "="), isKey(word[..<eq]) {
                let key = String(word[..<eq])
                fields[key] = String(word[word.index(after: eq)...])
                currentKey = key
            } else if let key = currentKey {
                fields[key, default: ""] += " " + word
            }
        }
        // A trailing space after the last field leaves a space on its value.
        return fields.mapValues { $0.trimmingCharacters(in: .whitespaces) }
    }

    private static func isKey(_ text: Substring) -> Bool {
        guard let first = text.first, first.isLetter else { return false }
        return text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" || $0 == "/" }
    }
}

/// Parses `sbatch --parsable` output: `<id>` or `<id>;<cluster>`.
public enum SbatchOutput {
    public static func jobId(_ text: String) throws -> String {
        let line = text.split(separator: "\n").last.map { String($0) }?.trimmingCharacters(in: .whitespaces) ?? ""
        let id = line.split(separator: ";").first.map(String.init) ?? ""
        guard !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw SlurmError.unparsableOutput(command: "sbatch --parsable", detail: "expected a job id, got '\(text.trimmingCharacters(in: .whitespacesAndNewlines))'")
        }
        return id
    }
}
