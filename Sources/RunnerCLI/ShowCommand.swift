import ArgumentParser

/// `runner show …`: read-only views of what apply produced.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show what apply produced.", subcommands: [ShowSplitCommand.self])
}
