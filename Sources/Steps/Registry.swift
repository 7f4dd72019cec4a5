import Foundation

/// The step implementations by kind: what `runner step KEY` runs, and what `apply` checks before
/// scheduling. A kind without an implementation has a reason that says when it arrives.
public struct StepRegistry {
    private var implementations: [StepKind: any StepImplementation] = [:]

    /// Why a kind without an implementation cannot run yet.
    /// Empty while every kind is implemented; kept so a future kind can arrive planned-but-unbuilt.
    public static let notYetImplemented: [StepKind: String] = [:]

    public init(_ implementations: [any StepImplementation]) {
        for implementation in implementations {
            self.implementations[type(of: implementation).kind] = implementation
        }
    }

    /// Every implementation this runner ships.
    public static var standard: StepRegistry { StepRegistry(StandardSteps.all) }

    public func implementation(for kind: StepKind) -> (any StepImplementation)? { implementations[kind] }

    /// Nil when `kind` can run; otherwise the message a user sees.
    public func unavailableReason(_ kind: StepKind) -> String? {
        if implementations[kind] != nil { return nil }
        return StepRegistry.notYetImplemented[kind] ?? "no implementation of step kind '\(kind.rawValue)' in this runner"
    }

    /// The code version of each implemented kind (part of every content key of that kind).
    public var codeVersions: [StepKind: Int] {
        implementations.mapValues { type(of: $0).codeVersion }
    }
}
