import Foundation
import Store
import XCTest

/// A writer killed mid-write leaves no visible artifact. Each test starts a real
/// child process (StoreProbe) that writes through the store, waits until it is
/// provably mid-write, SIGKILLs it, and inspects the store.
final class CrashSafetyTests: XCTestCase {
    func testObjectWriterKilledBeforeCommitLeavesNoObject() throws {
        let root = try makeTemporaryDirectory(self).appendingPathComponent("store")
        let probe = try Probe(["write-object", root.path])
        let written = try probe.expect("ready")
        XCTAssertEqual(written, ["4194304"])
        let store = try RunnerStore(root: root)
        // 4 MiB are on disk, in a temporary file only.
        let temps = try store.objects.temporaryFiles()
        XCTAssertEqual(temps.count, 1)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: temps[0].path)[.size] as? Int, 4 << 20)
        probe.killHard()
        XCTAssertEqual(probe.process.terminationReason, .uncaughtSignal)

        XCTAssertEqual(try store.objects.allDigests(), [], "no object appeared")
        // verify sees the leftover as stale (its writer died on this host) and repair removes it.
        let report = try StoreVerifier.verify(store)
        XCTAssertEqual(report.temporaryFiles.map(\.stale), [true])
        XCTAssertFalse(report.isClean)
        let lock = try store.lock().acquire(command: "test", wait: .noWait)
        let repaired = try StoreVerifier.repair(store, report: report, lock: lock)
        try lock.release()
        XCTAssertEqual(repaired.removedTemporaryFiles.count, 1)
        XCTAssertEqual(repaired.bytesFreed, 4 << 20)
        XCTAssertEqual(try store.objects.temporaryFiles(), [])
        XCTAssertTrue(try StoreVerifier.verify(store).isClean)
    }

    func testObjectWriterThatIsLetFinishCommits() throws {
        // The control for the test above: the same probe, not killed, produces the object.
        let root = try makeTemporaryDirectory(self).appendingPathComponent("store")
        let probe = try Probe(["write-object", root.path])
        try probe.expect("ready")
        let store = try RunnerStore(root: root)
        XCTAssertEqual(try store.objects.allDigests(), [])
        probe.send()
        let digest = try XCTUnwrap(try probe.expect("committed").first)
        XCTAssertEqual(probe.finish(), 0)
        let expected = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        var all = Data(); for _ in 0..<4 { all.append(expected) }
        XCTAssertEqual(digest, Digest.sha256(all))
        XCTAssertEqual(try store.objects.allDigests(), [digest])
        XCTAssertEqual(try Digest.sha256(fileAt: store.objects.path(of: digest)), digest)
        XCTAssertEqual(try store.objects.temporaryFiles(), [])
    }

    func testPutFileKilledMidStreamLeavesNoObject() throws {
        // put(fileAt:) reads from a FIFO we feed: after 3 MiB have reached the temporary
        // file we stop feeding, so the child is certainly inside put when it is killed.
        let dir = try makeTemporaryDirectory(self)
        let root = dir.appendingPathComponent("store")
        let fifo = dir.appendingPathComponent("feed")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        let probe = try Probe(["put-file", root.path, fifo.path])
        try probe.expect("ready")
        let feed = try XCTUnwrap(FileHandle(forWritingAtPath: fifo.path))   // blocks until the child opens it
        let chunk = bytes(1 << 20, seed: 3)
        for _ in 0..<3 { feed.write(chunk) }
        let store = try RunnerStore(root: root)
        let deadline = Date().addingTimeInterval(30)
        var staged = 0
        while staged < 3 << 20, Date() < deadline {
            staged = try store.objects.temporaryFiles().compactMap {
                try FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int
            }.reduce(0, +)
            if staged < 3 << 20 { usleep(2000) }
        }
        XCTAssertEqual(staged, 3 << 20, "the child should have staged everything fed so far")
        probe.killHard()
        try feed.close()
        XCTAssertEqual(try store.objects.allDigests(), [])
        let report = try StoreVerifier.verify(store)
        XCTAssertEqual(report.temporaryFiles.count, 1)
        XCTAssertTrue(report.temporaryFiles[0].stale)
        // gc also clears such leftovers.
        let plan = try GarbageCollector.plan(store, liveKeys: [])
        XCTAssertEqual(plan.temporaryFiles.count, 1)
        XCTAssertEqual(plan.bytes, 3 << 20)
    }

    func testRecordWriterKilledMidWriteLeavesNoRecord() throws {
        let root = try makeTemporaryDirectory(self).appendingPathComponent("store")
        let key = Digest.sha256("killed-record")
        let probe = try Probe(["write-record", root.path, key])
        try probe.expect("ready")
        let store = try RunnerStore(root: root)
        probe.killHard()
        XCTAssertFalse(store.isCached(key))
        XCTAssertNil(try store.record(key))
        XCTAssertFalse(FileManager.default.fileExists(atPath: try store.layout.record(key).path))
        let temps = try store.temporaryFiles()
        XCTAssertEqual(temps.count, 1)
        XCTAssertTrue(temps[0].lastPathComponent.hasSuffix("@record.json"), temps[0].path)
    }

    func testRecordWriterLetFinishWritesACompleteRecord() throws {
        let root = try makeTemporaryDirectory(self).appendingPathComponent("store")
        let key = Digest.sha256("finished-record")
        let probe = try Probe(["write-record", root.path, key])
        try probe.expect("ready")
        let store = try RunnerStore(root: root)
        XCTAssertFalse(store.isCached(key))
        probe.send()
        try probe.expect("committed")
        XCTAssertEqual(probe.finish(), 0)
        XCTAssertTrue(store.isCached(key))
        XCTAssertEqual(try store.record(key)?.runnerVersion, "probe")
        XCTAssertEqual(try store.temporaryFiles(), [])
    }
}
