import Foundation

/// How steps are submitted: `executor: {slurm: {...}}` in an experiment or `--executor slurm` flags.
/// None of these enter content keys.
public struct SlurmOptions: Hashable, Codable, Sendable {
    /// `--partition`; nil: the cluster's default partition.
    public var partition: String?
    /// `--account`; nil: the user's default account.
    public var account: String?
    /// `--time` in a Slurm time format (`90`, `1:30:00`, `2-00:00:00`); nil: the partition's default.
    public var timeLimit: String?
    /// `--qos`.
    public var qos: String?
    /// More sbatch arguments, passed through unchanged (e.g. `["--constraint=avx512"]`).
    public var extraArguments: [String]
    /// How many times a failed, cancelled, timed-out, node-failed or preempted job is submitted again.
    public var retries: Int
    /// Seconds between two looks at squeue.
    public var pollInterval: Double
    /// Exported in the job script when set (Debian's OpenBLAS needs it on CPUs it does not know).
    public var openblasCoreType: String?
    /// `--mem` in MiB for every job, instead of each step's estimate (`--mem` flag). nil: the estimates.
    public var memoryMB: Int?

    public init(partition: String? = nil, account: String? = nil, timeLimit: String? = nil, qos: String? = nil,
                extraArguments: [String] = [], retries: Int = 2, pollInterval: Double = 2,
                openblasCoreType: String? = nil, memoryMB: Int? = nil) {
        self.partition = partition; self.account = account; self.timeLimit = timeLimit; self.qos = qos
        self.extraArguments = extraArguments; self.retries = retries; self.pollInterval = pollInterval
        self.openblasCoreType = openblasCoreType; self.memoryMB = memoryMB
    }

    /// True when the extra arguments set the job's memory themselves (`--mem`, `--mem-per-cpu`,
    /// `--mem-per-gpu`): then the runner passes no `--mem` of its own.
    public var extraArgumentsSetMemory: Bool {
        extraArguments.contains { argument in
            ["--mem", "--mem-per-cpu", "--mem-per-gpu"].contains { argument == $0 || argument.hasPrefix($0 + "=") }
        }
    }

    /// The `--mem` of a job whose estimate is `estimateMB`: the user's value wins, extra arguments
    /// that set memory suppress it.
    public func memoryArgumentMB(estimate estimateMB: Int?) -> Int? {
        if extraArgumentsSetMemory { return nil }
        return memoryMB ?? estimateMB
    }

    /// A Slurm memory size (`--mem` syntax: a number with an optional K, M, G or T suffix, M by
    /// default) in MiB; nil when it is not one.
    public static func parseMemory(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let last = trimmed.last else { return nil }
        let factors: [Character: Double] = ["K": 1.0 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024]
        let factor = factors[Character(last.uppercased())]
        let digits = factor == nil ? trimmed : String(trimmed.dropLast())
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Double(digits), value > 0 else { return nil }
        return max(1, Int((value * (factor ?? 1)).rounded(.up)))
    }

    /// Checks what can be checked without a cluster.
    public func validate() throws {
        for (name, value) in [("partition", partition), ("account", account), ("qos", qos)] {
            if let value, value.isEmpty || value.contains(where: \.isWhitespace) {
                throw SlurmError.invalidOption(name: name, value: value, reason: "must be a non-empty name without spaces")
            }
        }
        if let timeLimit, !SlurmOptions.isTimeLimit(timeLimit) {
            throw SlurmError.invalidOption(name: "time limit", value: timeLimit,
                                           reason: "expected minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (or UNLIMITED)")
        }
        if let memoryMB, memoryMB < 1 {
            throw SlurmError.invalidOption(name: "memory", value: String(memoryMB), reason: "must be at least 1 MiB")
        }
        if retries < 0 {
            throw SlurmError.invalidOption(name: "retries", value: String(retries), reason: "must be 0 or more")
        }
        if !(pollInterval > 0) {
            throw SlurmError.invalidOption(name: "poll interval", value: String(pollInterval), reason: "must be more than 0 seconds")
        }
        for argument in extraArguments where !argument.hasPrefix("-") {
            throw SlurmError.invalidOption(name: "extra sbatch argument", value: argument,
                                           reason: "must be an option starting with '-' (write '--opt=value' as one argument)")
        }
    }

    /// Slurm's time formats (sbatch --time).
    static func isTimeLimit(_ text: String) -> Bool {
        if ["UNLIMITED", "INFINITE"].contains(text.uppercased()) { return true }
        func numbers(_ part: Substring, count: ClosedRange<Int>) -> Bool {
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            return count.contains(pieces.count) && pieces.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
        }
        let dayParts = text.split(separator: "-", omittingEmptySubsequences: false)
        switch dayParts.count {
        case 1: return numbers(dayParts[0], count: 1...3)
        case 2: return numbers(dayParts[0], count: 1...1) && numbers(dayParts[1], count: 1...3)
        default: return false
        }
    }
}
