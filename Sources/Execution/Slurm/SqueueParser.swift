import Foundation

/// Parses `squeue -h -o '%i|%T|%r'` (job id, full state name, reason), the one format the runner asks for.
/// `|` cannot occur in ids, states or reasons, so the split is unambiguous.
public enum SqueueParser {
    /// The `-o` format string that `parse` reads.
    public static let format = "%i|%T|%r"

    /// One status per non-empty line. A malformed line is an error naming the line.
    public static func parse(_ text: String) throws -> [SlurmJobStatus] {
        var jobs: [SlurmJobStatus] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3, !fields[0].isEmpty, !fields[1].isEmpty else {
                throw SlurmError.unparsableOutput(command: "squeue", detail: "line \(index + 1): expected 'id|STATE|reason', got '\(line)'")
            }
            jobs.append(SlurmJobStatus(jobId: fields[0], state: SlurmJobState(fields[1]), reason: fields[2]))
        }
        return jobs
    }
}
