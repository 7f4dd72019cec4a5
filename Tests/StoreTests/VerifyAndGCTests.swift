import Foundation
import Store
import XCTest

final class VerifyAndGCTests: XCTestCase {
    /// Two succeeded steps sharing one object, each with one of its own.
    private func makeStore() throws -> (RunnerStore, keys: [String], shared: String, own: [String]) {
        let store = try RunnerStore(root: try makeTemporaryDirectory(self).appendingPathComponent("store"))
        let shared = try store.objects.put(data: bytes(10_000, seed: 1))
        var keys: [String] = [], own: [String] = []
        for i in 0..<2 {
            let key = Digest.sha256("step-\(i)")
            let mine = try store.objects.put(data: bytes(20_000 + i, seed: UInt8(10 + i)))
            try store.writeRequest(sampleRequest(key))
            try store.writeRecord(sampleRecord(sampleRequest(key), files: ["shared.bin": shared, "own.bin": mine]))
            try Data("log of step \(i)\n".utf8).write(to: store.logURL(key))
            keys.append(key); own.append(mine)
        }
        return (store, keys, shared, own)
    }

    func testCleanStoreVerifiesClean() throws {
        let (store, _, _, _) = try makeStore()
        let report = try StoreVerifier.verify(store)
        XCTAssertTrue(report.isClean, "\(report)")
        XCTAssertEqual(report.objectsChecked, 3)
        XCTAssertEqual(report.recordsChecked, 2)
    }

    func testCorruptObjectIsReportedAndRepairMakesItsStepsNew() throws {
        let (store, keys, shared, _) = try makeStore()
        try corrupt(try store.objects.location(of: shared), at: 99)
        let report = try StoreVerifier.verify(store)
        XCTAssertFalse(report.isClean)
        XCTAssertEqual(report.corruptObjects.map(\.digest), [shared])
        XCTAssertEqual(report.brokenRecords, keys.sorted(), "both steps reference the corrupt object")
        let lock = try store.lock().acquire(command: "runner verify --repair", wait: .noWait)
        defer { try? lock.release() }
        let result = try StoreVerifier.repair(store, report: report, lock: lock)
        XCTAssertEqual(result.removedObjects, [shared])
        XCTAssertEqual(result.removedRecords, keys.sorted())
        XCTAssertEqual(result.bytesFreed, 10_000)
        XCTAssertFalse(store.objects.contains(shared))
        for key in keys {
            XCTAssertFalse(store.isCached(key), "the next apply re-makes it")
            XCTAssertNotNil(try store.request(key), "the request and the log stay")
        }
        XCTAssertTrue(try StoreVerifier.verify(store).isClean)
    }

    func testMissingObjectIsReportedAndRepairRemovesTheRecord() throws {
        let (store, keys, _, own) = try makeStore()
        let path = try store.objects.location(of: own[1])
        try FileManager.default.removeItem(at: path)
        let report = try StoreVerifier.verify(store)
        XCTAssertEqual(report.missingObjects.map(\.digest), [own[1]])
        XCTAssertEqual(report.missingObjects.first?.key, keys[1])
        XCTAssertEqual(report.missingObjects.first?.file, "own.bin")
        XCTAssertEqual(report.brokenRecords, [keys[1]])
        let lock = try store.lock().acquire(command: "repair", wait: .noWait)
        let result = try StoreVerifier.repair(store, report: report, lock: lock)
        try lock.release()
        XCTAssertEqual(result.removedRecords, [keys[1]])
        XCTAssertTrue(store.isCached(keys[0]))
        XCTAssertFalse(store.isCached(keys[1]))
    }

    func testUnreadableRecordIsReportedAndRemoved() throws {
        let (store, keys, _, _) = try makeStore()
        try Data("{truncated".utf8).write(to: store.layout.record(keys[0]))
        let report = try StoreVerifier.verify(store)
        XCTAssertEqual(report.unreadableRecords.map(\.key), [keys[0]])
        let lock = try store.lock().acquire(command: "repair", wait: .noWait)
        _ = try StoreVerifier.repair(store, report: report, lock: lock)
        try lock.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: try store.layout.record(keys[0]).path))
        XCTAssertTrue(try StoreVerifier.verify(store).isClean)
    }

    func testIncompleteMarkersAreJudgedOnlyOnTheirHost() throws {
        let (store, keys, _, _) = try makeStore()
        let host = HostIdentity.current.name
        let dead = try deadPID()
        let crashed = Digest.sha256("crashed"), running = Digest.sha256("running"), elsewhere = Digest.sha256("elsewhere")
        try store.markIncomplete(key: crashed, host: host, pid: dead, started: Date())
        try store.markIncomplete(key: running, host: host, pid: getpid(), started: Date())
        try store.markIncomplete(key: elsewhere, host: "node-b", pid: dead, started: Date())
        let report = try StoreVerifier.verify(store)
        XCTAssertEqual(report.staleIncomplete.map(\.key), [crashed])
        XCTAssertEqual(report.otherHostIncomplete.map(\.key), [elsewhere])
        let lock = try store.lock().acquire(command: "repair", wait: .noWait)
        let result = try StoreVerifier.repair(store, report: report, lock: lock)
        try lock.release()
        XCTAssertEqual(result.removedMarkers, [crashed])
        XCTAssertNil(try store.incompleteMarker(crashed))
        XCTAssertNotNil(try store.incompleteMarker(running))
        XCTAssertNotNil(try store.incompleteMarker(elsewhere))
        XCTAssertTrue(store.isCached(keys[0]))
    }

    func testRepairAndGCRequireTheLock() throws {
        let (store, _, _, _) = try makeStore()
        let report = try StoreVerifier.verify(store)
        let lock = try store.lock().acquire(command: "x", wait: .noWait)
        try lock.release()
        XCTAssertThrowsError(try StoreVerifier.repair(store, report: report, lock: lock))
        XCTAssertThrowsError(try GarbageCollector.run(store, plan: GCPlan(), lock: lock))
    }

    func testGCKeepsLiveStepsAndSharedObjectsAndFreesTheRest() throws {
        let (store, keys, shared, own) = try makeStore()
        try store.recordName(experiment: "e", name: "clean", key: keys[0], at: Date())
        try store.recordName(experiment: "old", name: "clean", key: keys[1], at: Date())
        let orphan = try store.objects.put(data: bytes(5_000, seed: 99))
        let host = HostDescription(hostname: "h", cpuModel: "c", cores: 1, instructionSets: [],
                                   blas: BLASDescription(name: "OpenBLAS", version: "0", coreType: "x", threads: 1), threads: 1, operatingSystem: "l")
        func manifest(_ key: String) -> Manifest {
            Manifest(runID: "r", experiment: "e", variant: "v", stepKey: key, config: .null, inputKeys: [:],
                     datasetFingerprint: "", splitFingerprint: "", seed: 1, runnerVersion: "0", host: host, started: Date())
        }
        try store.writeManifest(manifest(keys[0]), runID: "live-run")
        try store.writeManifest(manifest(keys[1]), runID: "dead-run")

        let plan = try GarbageCollector.plan(store, liveKeys: [keys[0]])
        XCTAssertEqual(plan.steps, [keys[1]])
        XCTAssertEqual(Set(plan.objects), [own[1], orphan], "the shared object stays")
        XCTAssertEqual(plan.runs, ["dead-run"])
        XCTAssertEqual(plan.names.count, 1)
        XCTAssertTrue(plan.names[0].contains("/names/old/"))
        let stepBytes = try FileManager.default.subpathsOfDirectory(atPath: store.layout.stepDirectory(keys[1]).path)
            .compactMap { try FileManager.default.attributesOfItem(atPath: store.layout.stepDirectory(keys[1]).appendingPathComponent($0).path) }
            .filter { $0[.type] as? FileAttributeType == .typeRegular }
            .compactMap { $0[.size] as? Int }.reduce(0, +)
        let runBytes = try FileManager.default.attributesOfItem(atPath: store.layout.manifest("dead-run").path)[.size] as! Int
        let nameBytes = try FileManager.default.attributesOfItem(atPath: plan.names[0])[.size] as! Int
        XCTAssertEqual(plan.bytes, Int64(stepBytes + runBytes + nameBytes + 20_001 + 5_000))

        // The plan alone changes nothing (dry run).
        XCTAssertTrue(store.isCached(keys[1]))
        XCTAssertTrue(store.objects.contains(orphan))

        let lock = try store.lock().acquire(command: "runner gc", wait: .noWait)
        let freed = try GarbageCollector.run(store, plan: plan, lock: lock)
        try lock.release()
        XCTAssertEqual(freed, plan.bytes)
        XCTAssertEqual(try store.stepKeys(), [keys[0]])
        XCTAssertEqual(Set(try store.objects.allDigests()), [shared, own[0]])
        XCTAssertEqual(try store.runIDs(), ["live-run"])
        XCTAssertEqual(try store.lastKey(experiment: "e", name: "clean"), keys[0])
        XCTAssertNil(try store.lastKey(experiment: "old", name: "clean"))
        XCTAssertTrue(store.isCached(keys[0]))
        XCTAssertEqual(try store.objects.read(shared), bytes(10_000, seed: 1))
        XCTAssertTrue(try StoreVerifier.verify(store).isClean)
        XCTAssertTrue(try GarbageCollector.plan(store, liveKeys: [keys[0]]).isEmpty)
    }
}
