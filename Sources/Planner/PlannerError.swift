/// Why an experiment could not be planned. The spec loader validates files first, so these
/// name configurations that reach the planner without a part it needs.
public enum PlannerError: Error, Equatable, CustomStringConvertible {
    /// A section the planner reads is missing or has the wrong shape.
    case missingSection(experiment: String, variant: String, path: String, expected: String)
    /// An `hdf5` source names a directory the inputs carry no fingerprint for.
    case unlistedDirectory(experiment: String, dir: String)
    /// A data directory could not be listed.
    case unreadableDirectory(dir: String, reason: String)
    /// Two experiments with the same name in one plan.
    case duplicateExperiment(String)
    /// An experiment without variants.
    case noVariants(experiment: String)
    /// The plan cannot be read back (saved plan files).
    case unsupportedPlanFormat(found: Int, supported: Int)

    public var description: String {
        switch self {
        case let .missingSection(experiment, variant, path, expected):
            return "\(experiment), variant \(variant): `\(path)` must be \(expected)"
        case let .unlistedDirectory(experiment, dir):
            return "\(experiment): data directory \(dir) was not listed"
        case let .unreadableDirectory(dir, reason):
            return "data directory \(dir): \(reason)"
        case let .duplicateExperiment(name):
            return "two experiments are named \(name); names must be unique within one plan"
        case let .noVariants(experiment):
            return "\(experiment): the experiment has no variants"
        case let .unsupportedPlanFormat(found, supported):
            return "plan format \(found) is not supported by this runner (it reads format \(supported)); make a new plan"
        }
    }
}
