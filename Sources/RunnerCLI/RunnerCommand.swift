import ArgumentParser

/// The `runner` command; subcommands live one per file beside this one.
public struct RunnerCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "runner",
        abstract: "Declarative experiment graphs for Stage 1 NIR-DOT reconstruction networks.",
        subcommands: [PlanCommand.self]
    )
    public init() {}
}
