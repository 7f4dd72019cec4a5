import Foundation
import Store
import XCTest

/// A clock the test moves by hand; `sleep` advances it instead of waiting.
final class ManualClock: @unchecked Sendable {
    var now = Date(timeIntervalSince1970: 1_800_000_000)
    var sleeps: [TimeInterval] = []
    func sleep(_ t: TimeInterval) { sleeps.append(t); now = now.addingTimeInterval(t) }
}

/// Lock contention between real processes: StoreProbe holds or competes for the lock.
final class LockTests: XCTestCase {
    func testSecondApplierWaitsThenGetsTheLockWhenTheFirstReleases() throws {
        let root = try makeTemporaryDirectory(self)
        let holder = try Probe(["lock", root.path])
        let holderID = try XCTUnwrap(try holder.expect("ready").first)
        var lock = StoreLock(storeRoot: root)
        lock.maxPollInterval = 0.01
        var events: [LockEvent] = []
        let handle = try lock.acquire(command: "runner apply x.yaml", wait: .wait(timeout: 60)) { event in
            events.append(event)
            // Told what it waits for, the second applier lets the first finish.
            if case .waiting = event { holder.send("release") }
        }
        guard case .waiting(let info)? = events.first else { return XCTFail("no waiting event: \(events)") }
        XCTAssertEqual(info.id, holderID)
        XCTAssertEqual(info.pid, holder.pid)
        XCTAssertEqual(info.host, HostIdentity.current.name)
        XCTAssertEqual(info.command, "StoreProbe lock")
        XCTAssertEqual(events.count, 1)
        try holder.expect("released")
        XCTAssertEqual(holder.finish(), 0)
        XCTAssertEqual(try lock.holder()?.id, handle.info.id)
        XCTAssertEqual(try lock.holder()?.command, "runner apply x.yaml")
        try handle.release()
        XCTAssertNil(try lock.holder())
    }

    func testNoWaitFailsAtOnceNamingTheHolder() throws {
        let root = try makeTemporaryDirectory(self)
        let holder = try Probe(["lock", root.path])
        let holderID = try XCTUnwrap(try holder.expect("ready").first)
        let clock = ManualClock()
        let lock = StoreLock(storeRoot: root, clock: { clock.now }, sleep: clock.sleep)
        XCTAssertThrowsError(try lock.acquire(command: "second", wait: .noWait)) { error in
            guard case StoreError.lockHeld(let info)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(info.id, holderID)
            XCTAssertEqual(info.pid, holder.pid)
            let message = "\(error)"
            XCTAssertTrue(message.contains("pid \(holder.pid)"), message)
            XCTAssertTrue(message.contains(holderID), message)
        }
        XCTAssertEqual(clock.sleeps, [], "noWait does not wait")
        holder.send()
        try holder.expect("released")
        XCTAssertEqual(holder.finish(), 0)
        let handle = try lock.acquire(command: "second", wait: .noWait)
        try handle.release()
    }

    func testStaleLockOfADeadProcessOnThisHostIsTakenOver() throws {
        let root = try makeTemporaryDirectory(self)
        let holder = try Probe(["lock", root.path])
        let holderID = try XCTUnwrap(try holder.expect("ready").first)
        holder.killHard()   // dies holding the lock
        let lock = StoreLock(storeRoot: root)
        XCTAssertEqual(try lock.holder()?.id, holderID, "the dead holder's lock is still there")
        var events: [LockEvent] = []
        let handle = try lock.acquire(command: "after crash", wait: .noWait) { events.append($0) }
        XCTAssertEqual(events.count, 1)
        guard case .tookOverStale(let stale)? = events.first else { return XCTFail("\(events)") }
        XCTAssertEqual(stale.id, holderID)
        XCTAssertEqual(try lock.holder()?.id, handle.info.id)
        try handle.release()
    }

    func testLockOfAnotherHostIsNeverJudgedStale() throws {
        let root = try makeTemporaryDirectory(self)
        // A process that calls itself node-b (a cluster node sharing the store) takes the lock and dies.
        let holder = try Probe(["lock", root.path, "node-b"])
        let holderID = try XCTUnwrap(try holder.expect("ready").first)
        holder.killHard()
        let clock = ManualClock()
        var lock = StoreLock(storeRoot: root, clock: { clock.now }, sleep: clock.sleep)
        lock.maxPollInterval = 1
        XCTAssertThrowsError(try lock.acquire(command: "x", wait: .noWait)) { error in
            guard case StoreError.lockHeld(let info)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(info.host, "node-b")
        }
        // Waiting with a timeout gives up after it, on the injected clock (no real sleeping).
        var waited: [LockInfo] = []
        XCTAssertThrowsError(try lock.acquire(command: "x", wait: .wait(timeout: 30)) { event in
            if case .waiting(let info) = event { waited.append(info) }
        }) { error in
            guard case StoreError.lockHeld(let info)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(info.id, holderID)
        }
        XCTAssertEqual(waited.map(\.id), [holderID], "told once what it waits for")
        XCTAssertGreaterThanOrEqual(clock.now.timeIntervalSince1970 - 1_800_000_000, 30)
        XCTAssertEqual(clock.sleeps.first, 0.01)
        XCTAssertEqual(clock.sleeps.max(), 1, "polling interval is bounded")
        // Only `unlock LOCK-ID` removes it, and only with the right id.
        XCTAssertThrowsError(try lock.unlock(id: "wrong")) { error in
            guard case StoreError.lockIDMismatch(let expected, let h)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(expected, "wrong"); XCTAssertEqual(h.id, holderID)
        }
        let removed = try lock.unlock(id: holderID)
        XCTAssertEqual(removed.host, "node-b")
        XCTAssertThrowsError(try lock.unlock(id: holderID)) { error in
            guard case StoreError.notLocked? = error as? StoreError else { return XCTFail("\(error)") }
        }
        let handle = try lock.acquire(command: "x", wait: .noWait)
        try handle.release()
    }

    func testTwoProcessesNeverHoldTheLockTogether() throws {
        let root = try makeTemporaryDirectory(self)
        let log = root.appendingPathComponent("critical.log")
        XCTAssertTrue(FileManager.default.createFile(atPath: log.path, contents: nil))
        let a = try Probe(["lock-loop", root.path, "25", log.path])
        let b = try Probe(["lock-loop", root.path, "25", log.path])
        try a.expect("ready"); try b.expect("ready")
        a.send(); b.send()
        try a.expect("done"); try b.expect("done")
        XCTAssertEqual(a.finish(), 0); XCTAssertEqual(b.finish(), 0)
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 100)
        // Every "enter P" is immediately followed by "exit P": critical sections never interleave.
        for i in stride(from: 0, to: lines.count, by: 2) {
            XCTAssertTrue(lines[i].hasPrefix("enter "), lines[i])
            XCTAssertEqual(lines[i + 1], "exit " + lines[i].dropFirst("enter ".count))
        }
        XCTAssertNil(try StoreLock(storeRoot: root).holder())
    }

    func testReleaseAndUnlockEdgeCases() throws {
        let root = try makeTemporaryDirectory(self)
        let lock = StoreLock(storeRoot: root)
        XCTAssertNil(try lock.holder())
        let first = try lock.acquire(command: "one", wait: .noWait)
        // Waiting for a lock this very process holds could never end: refused at once.
        XCTAssertThrowsError(try lock.acquire(command: "two", wait: .wait(timeout: nil)))
        try lock.unlock(id: first.info.id)
        XCTAssertThrowsError(try first.release(), "a lock removed by unlock is not ours to release")
        let second = try lock.acquire(command: "two", wait: .noWait)
        XCTAssertThrowsError(try first.release()) { error in
            guard case StoreError.lockIDMismatch? = error as? StoreError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try lock.holder()?.id, second.info.id)
        try second.release()
        try second.release()   // idempotent
        // A garbage lock file is reported, not overwritten.
        try Data("not json".utf8).write(to: root.appendingPathComponent("lock"))
        XCTAssertThrowsError(try lock.acquire(command: "three", wait: .noWait)) { error in
            guard case StoreError.lockUnreadable? = error as? StoreError else { return XCTFail("\(error)") }
        }
    }
}
