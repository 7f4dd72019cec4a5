import ArgumentParser
import Foundation
import Store

/// `runner unlock LOCK-ID`: removes the store lock with that id, for a holder on another host
/// that is gone (a lock of this host is taken over automatically when its process is gone).
struct UnlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Remove the store lock with this id (an apply that died on another host).",
        discussion: "The id is printed by `runner apply` when it waits or fails with --no-wait. Exit 1 when the store is not locked or the id differs.")

    @Argument(help: ArgumentHelp("The lock id.", valueName: "LOCK-ID")) var id: String
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let store = try storeOptions.openExisting()
        do {
            let holder = try store.lock().unlock(id: id)
            Console.out("removed \(holder.summary)")
        } catch {
            throw CLIFailure(.invalidInput, "unlock: \(error)")
        }
    }
}
