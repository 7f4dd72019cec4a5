import Foundation

/// The request of a step as the store keeps it: the fields of `Steps.StepRequest`
/// (which Store cannot import), with the kind as its raw string.
public struct StepRequestRecord: Codable, Hashable, Sendable {
    public var key: String
    public var kind: String
    public var name: String
    public var params: JSONValue
    public var inputs: [String: String]
    public var cores: Int

    public init(key: String, kind: String, name: String, params: JSONValue, inputs: [String: String], cores: Int) {
        self.key = key; self.kind = kind; self.name = name; self.params = params; self.inputs = inputs; self.cores = cores
    }
}

public enum StepStatus: String, Codable, Hashable, Sendable {
    case succeeded, failed
}

/// What happened when a step ran. A record with status `succeeded` is what
/// "cached" means; a failed one is kept for its error and log.
public struct StepRecord: Codable, Hashable, Sendable {
    public var request: StepRequestRecord
    public var status: StepStatus
    /// The output files (as object digests) and summary; empty for a failed step.
    public var output: ArtifactTree
    public var started: Date
    public var finished: Date
    /// Wall-clock seconds the step ran.
    public var duration: Double
    public var host: String
    public var pid: Int32
    /// The step's log, relative to the store root (`steps/KEY/log.txt`).
    public var logPath: String
    /// The failure message for a failed step.
    public var error: String?
    public var runnerVersion: String

    public var key: String { request.key }
    public var kind: String { request.kind }
    public var name: String { request.name }

    public init(request: StepRequestRecord, status: StepStatus, output: ArtifactTree = ArtifactTree(),
                started: Date, finished: Date, host: String, pid: Int32, logPath: String,
                error: String? = nil, runnerVersion: String) {
        self.request = request; self.status = status; self.output = output
        self.started = StoreTime.normalized(started); self.finished = StoreTime.normalized(finished)
        self.duration = finished.timeIntervalSince(started)
        self.host = host; self.pid = pid; self.logPath = logPath; self.error = error; self.runnerVersion = runnerVersion
    }
}

/// Written when a step starts and removed when its record is written, so a step
/// that crashed is never mistaken for a finished one.
public struct IncompleteMarker: Codable, Hashable, Sendable {
    public var key: String
    public var host: String
    public var pid: Int32
    public var started: Date

    public init(key: String, host: String, pid: Int32, started: Date) {
        self.key = key; self.host = host; self.pid = pid; self.started = StoreTime.normalized(started)
    }

    /// Judged from `host`: a marker is stale when it was written on this host by a
    /// process that no longer exists. A marker from another host cannot be judged here.
    public func isStale(on host: String, isAlive: (Int32) -> Bool = HostIdentity.isProcessAlive) -> Bool {
        self.host == host && !isAlive(pid)
    }
}

/// The last step recorded under a human name within an experiment; the planner
/// diffs its params against the new ones to say why a step changed.
public struct NameIndexEntry: Codable, Hashable, Sendable {
    public var experiment: String
    public var name: String
    public var key: String
    public var recorded: Date

    public init(experiment: String, name: String, key: String, recorded: Date) {
        self.experiment = experiment; self.name = name; self.key = key; self.recorded = StoreTime.normalized(recorded)
    }
}

/// Measured speed of a step kind on a host: seconds per unit of work (a phantom,
/// an epoch-sample…), as a running mean over the runs recorded so far.
public struct ThroughputRecord: Codable, Hashable, Sendable {
    public var kind: String
    public var host: String
    /// What one unit is, e.g. "phantom" or "sample-epoch".
    public var unit: String
    public var secondsPerUnit: Double
    /// Number of runs averaged.
    public var samples: Int
    /// Total units measured over those runs.
    public var units: Double
    public var updated: Date

    public init(kind: String, host: String, unit: String, secondsPerUnit: Double, samples: Int, units: Double, updated: Date) {
        self.kind = kind; self.host = host; self.unit = unit; self.secondsPerUnit = secondsPerUnit
        self.samples = samples; self.units = units; self.updated = StoreTime.normalized(updated)
    }
}
