import ArgumentParser

/// `runner show split FILE`: the strata distribution per part, from the split step's artifact.
struct ShowSplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "split", abstract: "Strata distribution per part of the split.")
    @Argument(help: ArgumentHelp("The experiment file.", valueName: "FILE")) var file: String
    @OptionGroup var storeOptions: StoreOptions
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        throw CLIFailure(.invalidInput, "show split: the split artifact format is not merged yet")
    }
}
