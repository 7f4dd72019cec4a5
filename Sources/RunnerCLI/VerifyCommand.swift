import ArgumentParser
import Foundation
import Store

/// `runner verify [--repair]`: re-hash every object and check every record; with `--repair`,
/// remove what is broken (under the store lock) so the next apply re-makes it.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every object and record of the store; --repair removes what is broken.",
        discussion: "Exit codes: 0 the store is clean (or was repaired) · 1 problems found (without --repair) or no store.")

    @OptionGroup var storeOptions: StoreOptions
    @Flag(help: "Remove corrupt objects, records that point at missing or corrupt objects, stale markers and temporary files.")
    var repair = false
    @Flag(help: "Fail at once when an apply holds the store lock (--repair only).") var noWait = false
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        let store = try storeOptions.openExisting()
        let view = VerifyView(json: json)
        var lock: LockHandle?
        if repair {
            do {
                lock = try store.lock().acquire(command: "runner verify --repair", wait: noWait ? .noWait : .wait(timeout: nil)) { event in
                    if case .waiting(let holder) = event, !json { Console.error(ApplyText.waiting(holder)) }
                }
            } catch { throw CLIFailure(.invalidInput, "verify: \(error)") }
        }
        defer { try? lock?.release() }
        let report: VerifyReport
        do { report = try StoreVerifier.verify(store) } catch { throw CLIFailure(.invalidInput, "verify: \(error)") }
        var repaired: RepairResult?
        if let lock, !report.isClean {
            do { repaired = try StoreVerifier.repair(store, report: report, lock: lock) } catch {
                throw CLIFailure(.invalidInput, "verify --repair: \(error)")
            }
        }
        view.show(report, repaired: repaired)
        if !report.isClean && repaired == nil { throw ExitCode(RunnerExit.invalidInput.rawValue) }
    }
}
