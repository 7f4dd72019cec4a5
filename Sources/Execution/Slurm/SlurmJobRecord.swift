import Foundation
import Store

/// The Slurm jobs submitted for one step, kept in the step's record area as `steps/KEY/slurm.json`
/// (written atomically with the store's `AtomicFile`; the store has no API for executor data).
/// Written right after each `sbatch` returns, before anything else happens, so a submitting
/// process that dies loses nothing: `runner status` and the next `apply` find the jobs here.
public struct SlurmJobRecord: Codable, Hashable, Sendable {
    public struct Submission: Codable, Hashable, Sendable {
        public var jobId: String
        /// 1 for the first submission of this step in a run, 2 for its first retry, …
        public var attempt: Int
        public var submitted: Date
        /// Jobs this one waited for (`afterok`).
        public var dependencies: [String]

        public init(jobId: String, attempt: Int, submitted: Date, dependencies: [String]) {
            self.jobId = jobId; self.attempt = attempt; self.submitted = submitted; self.dependencies = dependencies
        }
    }

    public var key: String
    public var experiment: String
    public var name: String
    /// Every submission, oldest first; the last one is the job that counts.
    public var submissions: [Submission]

    public init(key: String, experiment: String, name: String, submissions: [Submission] = []) {
        self.key = key; self.experiment = experiment; self.name = name; self.submissions = submissions
    }

    public var latestJobId: String? { submissions.last?.jobId }

    public static func url(store: StoreLayout, key: String) throws -> URL {
        try store.stepDirectory(key).appendingPathComponent("slurm.json")
    }

    /// The record of a step, nil when it was never submitted to Slurm.
    public static func load(store: StoreLayout, key: String) throws -> SlurmJobRecord? {
        let url = try url(store: store, key: key)
        guard let data = try? Data(contentsOf: url) else { return nil }
        do {
            return try StoreJSON.decode(SlurmJobRecord.self, from: data)
        } catch {
            throw SlurmError.unusableStore(path: url.path, reason: "unreadable Slurm job record: \(error)")
        }
    }

    public func write(store: StoreLayout) throws {
        try AtomicFile.write(StoreJSON.encode(self), to: SlurmJobRecord.url(store: store, key: key))
    }
}
