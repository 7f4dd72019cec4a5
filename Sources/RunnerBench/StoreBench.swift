import Foundation
import Store

/// Store benchmarks: hashing and storing files side by side with coreutils
/// (`sha256sum`, `cp` + `sync`), and the store reads a 6,000-step plan makes.
/// Call `runStoreBench()` from main.swift.
func runStoreBench(sizeMB: Int = 256, steps: Int = 6000) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-storebench-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer {
        _ = try? shell("chmod -R u+w '\(dir.path)'")
        try? FileManager.default.removeItem(at: dir)
    }
    func time(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    func line(_ name: String, _ ours: Double, _ reference: Double, _ refName: String) {
        print("store  " + pad(name, 36) + String(format: "%8.3f s   ", ours) + pad(refName, 20)
              + String(format: "%8.3f s   reference/ours %.2f×", reference, reference / ours))
    }
    func line(_ name: String, _ value: Double, _ unit: String = "s", _ note: String = "") {
        print("store  " + pad(name, 36) + String(format: "%8.3f ", value) + unit + (note.isEmpty ? "" : "   " + note))
    }

    // A file of pseudo-random bytes.
    let file = dir.appendingPathComponent("input.bin")
    let chunk = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761) >> 13) })
    guard FileManager.default.createFile(atPath: file.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
    let out = try FileHandle(forWritingTo: file)
    for i in 0..<sizeMB { var c = chunk; c[0] = UInt8(truncatingIfNeeded: i); out.write(c) }
    try out.close()
    _ = try shell("cat '\(file.path)' > /dev/null")   // warm the page cache for both sides

    let ref = try time { _ = try shell("sha256sum '\(file.path)'") }
    var digest = ""
    let ours = try time { digest = try Digest.sha256(fileAt: file) }
    let expected = try shell("sha256sum '\(file.path)'").prefix(64)
    guard digest == expected else { throw NSError(domain: "StoreBench", code: 1, userInfo: [NSLocalizedDescriptionKey: "digest differs from sha256sum"]) }
    line("sha256 of \(sizeMB) MB file", ours, ref, "sha256sum")

    let store = try RunnerStore(root: dir.appendingPathComponent("store"))
    let copy = dir.appendingPathComponent("copy.bin")
    let refPut = try time { _ = try shell("cp '\(file.path)' '\(copy.path)' && sync '\(copy.path)' && sha256sum '\(copy.path)'") }
    let ourPut = try time { _ = try store.objects.put(fileAt: file) }
    line("put(fileAt:) \(sizeMB) MB, fsync", ourPut, refPut, "cp+sync+sha256sum")
    let ourDedup = try time { _ = try store.objects.put(fileAt: file) }
    line("put again (deduplicated)", ourDedup)

    // A plan over `steps` steps: half of them recorded.
    var keys: [String] = []
    for i in 0..<steps { keys.append(Digest.sha256("step \(i)")) }
    for key in keys.prefix(steps / 2) {
        let request = StepRequestRecord(key: key, kind: "train", name: "train[\(key.prefix(6))]",
                                        params: .object(["lr": .number(1e-3), "seed": .number(1)]), inputs: ["split": keys[0]], cores: 1)
        try store.writeRecord(StepRecord(request: request, status: .succeeded, output: ArtifactTree(files: ["m": digest]),
                                         started: Date(), finished: Date(), host: "h", pid: 1, logPath: "l", runnerVersion: "bench"))
    }
    let snapshot = StoreSnapshot(root: store.root)
    var cached = 0
    let tCached = time { cached = keys.filter { snapshot.isCached($0) }.count }
    precondition(cached == steps / 2)
    let tRecords = try time { for key in keys { _ = try snapshot.record(key) } }
    let tFingerprint = time { _ = snapshot.fingerprint(of: keys) }
    line("isCached × \(steps) (half recorded)", tCached, "s", "(whole plan budget: 1 s)")
    line("record() × \(steps)", tRecords)
    line("fingerprint of \(steps) keys", tFingerprint)

    let lock = store.lock()
    let cycles = 200
    let tLock = try time { for _ in 0..<cycles { try lock.acquire(command: "bench", wait: .noWait).release() } }
    line("lock acquire + release", tLock / Double(cycles) * 1000, "ms")
}

private func shell(_ command: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw NSError(domain: "StoreBench", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: "failed: \(command)"])
    }
    return String(decoding: data, as: UTF8.self)
}
