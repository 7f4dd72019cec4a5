import ArgumentParser
import Foundation

/// The `runner` command; subcommands live one per file beside this one.
public struct RunnerCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "runner",
        abstract: "Declarative experiment graphs for Stage 1 NIR-DOT reconstruction networks.",
        discussion: """
        Exit codes: 0 success · 1 invalid input · 2 usage · 3 gate failed · 4 a step failed · 130 interrupted.
        """,
        subcommands: [PlanCommand.self, ApplyCommand.self, ReportCommand.self, RunsCommand.self, CheckCommand.self,
                      ReproduceCommand.self, PredictCommand.self, ExportCommand.self, StatusCommand.self, ShowCommand.self,
                      VerifyCommand.self, GCCommand.self, UnlockCommand.self, StepCommand.self]
    )
    public init() {}

    /// Runs the command line. Shadows ArgumentParser's `main()` to map its usage-error exit code
    /// (64, EX_USAGE) to the runner's 2.
    public static func main() {
        main(nil)
    }

    public static func main(_ arguments: [String]?) {
        signal(SIGPIPE, SIG_IGN)
        let code = run(arguments)
        Foundation.exit(code)
    }

    /// Parses and runs, returning the process exit code (for tests of the mapping).
    public static func run(_ arguments: [String]?) -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            return RunnerExit.success.rawValue
        } catch let code as ExitCode {
            return code.rawValue   // the command printed its own output
        } catch let failure as CLIFailure {
            Console.error(failure.message)
            return failure.exit.rawValue
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version: ArgumentParser's message goes to stdout.
                Console.out(fullMessage(for: error))
                return RunnerExit.success.rawValue
            }
            Console.error(fullMessage(for: error))
            if code == .validationFailure { return RunnerExit.usage.rawValue }
            return code.rawValue
        }
    }
}
