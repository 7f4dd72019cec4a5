import ArgumentParser
import Foundation
import Planner
import Store

/// `runner gc FILE… [--dry-run]`: keep every step (and object) the given experiments reference,
/// remove everything else, under the store lock.
struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove from the store what none of the given experiments references.",
        discussion: "Steps of every variant and seed of the files are kept, run or not. Exit 1 on invalid input.")

    @Argument(help: ArgumentHelp("The experiment files whose steps to keep.", valueName: "FILE")) var files: [String]
    @OptionGroup var storeOptions: StoreOptions
    @Flag(help: "Only show what would be removed.") var dryRun = false
    @Flag(help: "Fail at once when an apply holds the store lock.") var noWait = false
    @Flag(help: "JSON output.") var json = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give the experiment files whose steps to keep") }
    }

    func run() throws {
        let inputs = try ExperimentLoading.inputs(paths: files)
        let store = try storeOptions.openExisting()
        let lock: LockHandle
        do {
            lock = try store.lock().acquire(command: "runner gc", wait: noWait ? .noWait : .wait(timeout: nil)) { event in
                if case .waiting(let holder) = event, !json { Console.error(ApplyText.waiting(holder)) }
            }
        } catch { throw CLIFailure(.invalidInput, "gc: \(error)") }
        defer { try? lock.release() }
        let live: Set<String>
        do {
            let plan = try Planner.plan(inputs, store: store, cores: CoreBudget(total: 1), host: HostIdentity.current.name)
            live = Set(plan.steps.map(\.key))
        } catch { throw CLIFailure(.invalidInput, "gc: \(error)") }
        let gc: GCPlan
        do { gc = try GarbageCollector.plan(store, liveKeys: live) } catch { throw CLIFailure(.invalidInput, "gc: \(error)") }
        var freed: Int64 = 0
        if !dryRun {
            do { freed = try GarbageCollector.run(store, plan: gc, lock: lock) } catch { throw CLIFailure(.invalidInput, "gc: \(error)") }
        }
        if json {
            var fields: [String: JSONValue] = ["dry_run": .bool(dryRun), "plan": (try? JSONValue(encoding: gc)) ?? .null]
            if !dryRun { fields["bytes_freed"] = .number(Double(freed)) }
            Console.out(JSONValue.object(fields).canonicalText)
            return
        }
        let verb = dryRun ? "would remove" : "removed"
        if gc.isEmpty { Console.out("nothing to remove: every step in the store belongs to the given experiments"); return }
        Console.out("\(verb) \(gc.steps.count) step(s), \(gc.objects.count) object(s), \(gc.runs.count) run(s), "
                    + "\(gc.names.count) name(s), \(gc.temporaryFiles.count) temporary file(s): \(ByteCount.text(dryRun ? gc.bytes : freed))")
        if dryRun { for key in gc.steps { Console.out("  step \(key)") } }
    }
}
