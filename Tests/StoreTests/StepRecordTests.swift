import Foundation
import Store
import XCTest

func sampleRequest(_ key: String, kind: String = "clean", name: String = "clean", lr: Double = 1e-4) -> StepRequestRecord {
    StepRequestRecord(key: key, kind: kind, name: name,
                      params: .object(["optimizer": .object(["lr": .number(lr)]), "seed": .number(7)]),
                      inputs: ["data": Digest.sha256("upstream")], cores: 2)
}

func sampleRecord(_ request: StepRequestRecord, status: StepStatus = .succeeded, files: [String: String] = [:],
                  started: Date = Date(timeIntervalSince1970: 1_800_000_000.123), seconds: Double = 12.5) -> StepRecord {
    StepRecord(request: request, status: status, output: ArtifactTree(files: files, summary: .object(["count": .number(3)])),
               started: started, finished: started.addingTimeInterval(seconds), host: "node-a", pid: 42,
               logPath: "steps/\(request.key)/log.txt", error: status == .failed ? "phantom 3: NaN in mua" : nil,
               runnerVersion: "0.1.0")
}

final class StepRecordTests: XCTestCase {
    func testLifecycleRequestIncompleteRecordClear() throws {
        let store = try RunnerStore(root: try makeTemporaryDirectory(self).appendingPathComponent(".runner"))
        let key = Digest.sha256("step-1")
        let request = sampleRequest(key)
        XCTAssertNil(try store.request(key))
        XCTAssertFalse(store.isCached(key))

        try store.writeRequest(request)
        XCTAssertEqual(try store.request(key), request)

        let start = Date(timeIntervalSince1970: 1_800_000_000.5)
        try store.markIncomplete(key: key, host: "node-a", pid: 4242, started: start)
        let marker = try XCTUnwrap(try store.incompleteMarker(key))
        XCTAssertEqual(marker, IncompleteMarker(key: key, host: "node-a", pid: 4242, started: start))
        XCTAssertFalse(store.isCached(key), "a step in progress is not cached")

        let digest = try store.objects.put(data: Data("phantom".utf8))
        let record = sampleRecord(request, files: ["phantoms/p0001.h5": digest])
        try store.writeRecord(record)
        try store.clearIncomplete(key)
        XCTAssertNil(try store.incompleteMarker(key))
        XCTAssertTrue(store.isCached(key))
        let back = try XCTUnwrap(try store.record(key))
        XCTAssertEqual(back, record)
        XCTAssertEqual(back.duration, 12.5, accuracy: 1e-9)
        XCTAssertEqual(back.key, key); XCTAssertEqual(back.kind, "clean")
        // Clearing twice is fine.
        try store.clearIncomplete(key)
        XCTAssertEqual(try store.stepKeys(), [key])
    }

    func testFailedRecordIsNotCached() throws {
        let store = try RunnerStore(root: try makeTemporaryDirectory(self))
        let key = Digest.sha256("failing")
        try store.writeRecord(sampleRecord(sampleRequest(key), status: .failed))
        XCTAssertFalse(store.isCached(key))
        XCTAssertEqual(try store.record(key)?.error, "phantom 3: NaN in mua")
    }

    func testRecordRefusesOutputsThatAreNotStored() throws {
        let store = try RunnerStore(root: try makeTemporaryDirectory(self))
        let key = Digest.sha256("s")
        let ghost = Digest.sha256("never stored")
        XCTAssertThrowsError(try store.writeRecord(sampleRecord(sampleRequest(key), files: ["a": ghost]))) { error in
            guard case StoreError.objectMissing(let d, _)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(d, ghost)
        }
        XCTAssertNil(try store.record(key))
    }

    func testUnreadableRecordIsTypedErrorAndNotCached() throws {
        let store = try RunnerStore(root: try makeTemporaryDirectory(self))
        let key = Digest.sha256("broken")
        try store.writeRequest(sampleRequest(key))
        try Data("{\"request\": 3}".utf8).write(to: store.layout.record(key))
        XCTAssertFalse(store.isCached(key))
        XCTAssertThrowsError(try store.record(key)) { error in
            guard case StoreError.unreadable(let path, _)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("record.json"))
        }
        // A record copied under the wrong key is refused too.
        let other = Digest.sha256("other")
        try store.writeRecord(sampleRecord(sampleRequest(other)))
        try FileManager.default.removeItem(at: store.layout.record(key))
        try FileManager.default.copyItem(at: store.layout.record(other), to: store.layout.record(key))
        XCTAssertThrowsError(try store.record(key))
    }

    func testInvalidKeysAreRefused() throws {
        let store = try RunnerStore(root: try makeTemporaryDirectory(self))
        for bad in ["", "../x", "a/b", ".hidden"] {
            XCTAssertThrowsError(try store.writeRequest(sampleRequest(bad))) { error in
                XCTAssertEqual(error as? StoreError, .invalidKey(bad))
            }
        }
    }

    func testNamesIndexKeepsTheLastKeyPerName() throws {
        let store = try RunnerStore(root: try makeTemporaryDirectory(self))
        let name = "train[attention, seed 28]"
        XCTAssertNil(try store.lastKey(experiment: "ablation", name: name))
        try store.recordName(experiment: "ablation", name: name, key: "k1", at: Date())
        try store.recordName(experiment: "ablation", name: name, key: "k2", at: Date())
        try store.recordName(experiment: "other", name: name, key: "k3", at: Date())
        try store.recordName(experiment: "ablation", name: "a/b/../c", key: "k4", at: Date())
        try store.recordName(experiment: "ablation", name: ".hidden%", key: "k5", at: Date())
        XCTAssertEqual(try store.lastKey(experiment: "ablation", name: name), "k2")
        XCTAssertEqual(try store.lastKey(experiment: "other", name: name), "k3")
        XCTAssertEqual(try store.lastKey(experiment: "ablation", name: "a/b/../c"), "k4")
        XCTAssertEqual(try store.lastKey(experiment: "ablation", name: ".hidden%"), "k5")
        // Names stay inside names/ whatever characters they hold.
        let files = try FileManager.default.subpathsOfDirectory(atPath: store.layout.names.path).sorted()
        XCTAssertTrue(files.contains("ablation/train[attention, seed 28].json"), "\(files)")
        XCTAssertTrue(files.contains("ablation/a%2Fb%2F..%2Fc.json"), "\(files)")
        XCTAssertTrue(files.contains("ablation/%2Ehidden%25.json"), "\(files)")
        let long = String(repeating: "x", count: 400)
        try store.recordName(experiment: "ablation", name: long, key: "k6", at: Date())
        XCTAssertEqual(try store.lastKey(experiment: "ablation", name: long), "k6")
        XCTAssertEqual(try store.lastKey(experiment: "ablation", name: long + "y"), nil)
    }

    func testThroughputIsARunningMeanPerKindAndHost() throws {
        let store = try RunnerStore(root: try makeTemporaryDirectory(self))
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        try store.recordThroughput(kind: "generate", host: "node-a", unit: "phantom", seconds: 10, units: 100, at: t)
        let r = try store.recordThroughput(kind: "generate", host: "node-a", unit: "phantom", seconds: 30, units: 100, at: t)
        XCTAssertEqual(r.secondsPerUnit, 0.2, accuracy: 1e-12)
        XCTAssertEqual(r.samples, 2); XCTAssertEqual(r.units, 200)
        try store.recordThroughput(kind: "generate", host: "node-b", unit: "phantom", seconds: 5, units: 100, at: t)
        try store.recordThroughput(kind: "train", host: "node-a", unit: "sample-epoch", seconds: 50, units: 10, at: t)
        let all = try store.throughput(kind: "generate")
        XCTAssertEqual(all.map(\.host), ["node-a", "node-b"])
        XCTAssertEqual(try store.throughput(kind: "generate", host: "node-b")?.secondsPerUnit ?? 0, 0.05, accuracy: 1e-12)
        XCTAssertEqual(try store.throughput(kind: "train", host: "node-a")?.secondsPerUnit ?? 0, 5, accuracy: 1e-12)
        XCTAssertNil(try store.throughput(kind: "split", host: "node-a"))
        // A new unit (new code version) starts over.
        let fresh = try store.recordThroughput(kind: "generate", host: "node-a", unit: "phantom-v2", seconds: 1, units: 1, at: t)
        XCTAssertEqual(fresh.samples, 1)
        XCTAssertThrowsError(try store.recordThroughput(kind: "x", host: "h", unit: "u", seconds: 1, units: 0, at: t))
        XCTAssertThrowsError(try store.recordThroughput(kind: "x", host: "h", unit: "u", seconds: .nan, units: 1, at: t))
    }

    func testSnapshotReadsWithoutWritingAndFingerprintFollowsCachedKeys() throws {
        let dir = try makeTemporaryDirectory(self)
        let root = dir.appendingPathComponent("store")
        let empty = StoreSnapshot(root: root)
        XCTAssertFalse(empty.isCached("k"))
        XCTAssertNil(try empty.record("k"))
        XCTAssertNil(try empty.lastKey(experiment: "e", name: "n"))
        XCTAssertEqual(try empty.throughput(kind: "generate"), [])
        XCTAssertEqual(try empty.stepKeys(), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.path), "a snapshot creates nothing")

        let store = try RunnerStore(root: root)
        let keys = ["a", "b", "c"].map { Digest.sha256($0) }
        let f0 = store.snapshot.fingerprint(of: keys)
        XCTAssertEqual(f0, StoreSnapshot(root: root).fingerprint(of: keys.reversed()), "order of keys does not matter")
        try store.writeRecord(sampleRecord(sampleRequest(keys[1]), status: .failed))
        XCTAssertEqual(store.snapshot.fingerprint(of: keys), f0, "a failed step does not change what is cached")
        try store.writeRecord(sampleRecord(sampleRequest(keys[1])))
        let f1 = store.snapshot.fingerprint(of: keys)
        XCTAssertNotEqual(f1, f0)
        try store.writeRecord(sampleRecord(sampleRequest(Digest.sha256("unrelated"))))
        XCTAssertEqual(store.snapshot.fingerprint(of: keys), f1, "steps outside the plan do not matter")
        let reader: StoreReader = store.snapshot
        XCTAssertTrue(reader.isCached(keys[1]))
    }

    func testStoreFilesOfAnOutputDirectory() throws {
        let dir = try makeTemporaryDirectory(self)
        let store = try RunnerStore(root: dir.appendingPathComponent("store"))
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out.appendingPathComponent("phantoms"), withIntermediateDirectories: true)
        try Data("a".utf8).write(to: out.appendingPathComponent("phantoms/p1.h5"))
        try Data("a".utf8).write(to: out.appendingPathComponent("phantoms/p2.h5"))
        try Data("report".utf8).write(to: out.appendingPathComponent("report.json"))
        let files = try store.storeFiles(in: out)
        XCTAssertEqual(files, ["phantoms/p1.h5": Digest.sha256("a"), "phantoms/p2.h5": Digest.sha256("a"),
                               "report.json": Digest.sha256("report")])
        XCTAssertEqual(try store.objects.allDigests().count, 2)
        try FileManager.default.createSymbolicLink(at: out.appendingPathComponent("link"), withDestinationURL: out.appendingPathComponent("report.json"))
        XCTAssertThrowsError(try store.storeFiles(in: out))
    }

    func testHostDescriptionFromCpuinfo() throws {
        let cpuinfo = """
        processor	: 0
        model name	: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz
        flags		: fpu sse4_2 avx avx2 fma avx512f avx512bw popcnt
        processor	: 1
        model name	: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz
        flags		: fpu sse4_2 avx avx2 fma avx512f avx512bw popcnt

        """
        let blas = BLASDescription(name: "OpenBLAS", version: "0.3.29", coreType: "SkylakeX", threads: 2)
        let host = HostDescription.detect(threads: 2, blas: blas, cpuinfo: cpuinfo, osRelease: "ID=debian\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n")
        XCTAssertEqual(host.cpuModel, "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz")
        XCTAssertEqual(host.instructionSets, ["avx", "avx2", "avx512bw", "avx512f", "fma", "sse4_2"])
        XCTAssertEqual(host.operatingSystem, "Debian GNU/Linux 13 (trixie)")
        XCTAssertEqual(host.threads, 2)
        XCTAssertEqual(host.blas, blas)
        XCTAssertGreaterThan(host.cores, 0)
        let unknown = HostDescription.detect(threads: 1, blas: blas, cpuinfo: nil, osRelease: nil)
        XCTAssertEqual(unknown.cpuModel, "unknown"); XCTAssertEqual(unknown.instructionSets, []); XCTAssertEqual(unknown.operatingSystem, "unknown")
        // On this machine the real files are read.
        #if os(Linux)
        XCTAssertNotEqual(HostDescription.detect(threads: 1, blas: blas).cpuModel, "unknown")
        #endif
    }

    func testManifestRoundTrip() throws {
        let dir = try makeTemporaryDirectory(self)
        let store = try RunnerStore(root: dir)
        let host = HostDescription(hostname: "node-a", cpuModel: "Intel Xeon", cores: 2, instructionSets: ["avx2", "avx512f", "fma"],
                                   blas: BLASDescription(name: "OpenBLAS", version: "0.3.21", coreType: "SkylakeX", threads: 2),
                                   threads: 2, operatingSystem: "Debian 13")
        let manifest = Manifest(runID: "baseline-seed-1", experiment: "ablation", variant: "baseline", stepKey: Digest.sha256("t"),
                                config: .object(["model": .object(["base_channels": .number(16)])]),
                                inputKeys: ["split": Digest.sha256("s")], datasetFingerprint: Digest.sha256("d"),
                                splitFingerprint: Digest.sha256("s"), seed: 1, runnerVersion: "0.1.0", runnerCommit: "abc123",
                                host: host, history: [EpochRecord(epoch: 1, trainLoss: 0.5, validationLoss: 0.4, learningRate: 1e-3,
                                                                  metrics: ["val.rmse": 0.2], seconds: 30)],
                                finalMetrics: ["test.rmse": 0.09], checkpointPath: "checkpoint.safetensors",
                                checkpointSHA256: Digest.sha256("ckpt"),
                                gates: [GateResult(metric: "test.rmse", comparison: "<", threshold: 0.083, value: 0.09, passed: false)],
                                started: Date(timeIntervalSince1970: 1_800_000_000.25), finished: Date(timeIntervalSince1970: 1_800_000_100))
        try store.writeManifest(manifest, runID: manifest.runID)
        XCTAssertEqual(try store.manifest(runID: "baseline-seed-1"), manifest)
        XCTAssertEqual(try Manifest.read(from: store.layout.manifest("baseline-seed-1")), manifest)
        XCTAssertEqual(try store.runIDs(), ["baseline-seed-1"])
        let text = try String(contentsOf: store.layout.manifest("baseline-seed-1"), encoding: .utf8)
        XCTAssertTrue(text.contains("\"started\" : \"2027-01-15T08:00:00.250Z\""), text)
        XCTAssertThrowsError(try Manifest.read(from: dir.appendingPathComponent("none.json")))
    }
}
