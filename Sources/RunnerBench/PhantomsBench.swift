import Foundation
import Phantoms

/// Data benchmarks: synthetic generation, generation + gzip-4 HDF5 write, and reading one phantom,
/// each side by side with the NumPy / h5py reference (tools/generate_numpy.py) run as a subprocess
/// in the same run. 64³ phantoms, 2 threads for runner.
public func runPhantomsBenchmarks(threads: Int = 2, count: Int = 200, referenceCount: Int = 100) throws {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let script = repo.appendingPathComponent("tools/generate_numpy.py").path
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("runner-bench-phantoms-\(getpid())")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let generator = PhantomGenerator(size: 64, seed: 7)

    func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    /// Runs the reference in `processes` processes at once (count split between them); phantoms/s over the wall time.
    func reference(_ mode: String, processes: Int, count: Int, extra: [String] = []) throws -> Double {
        var launched: [(Process, Pipe)] = []
        let wall = try seconds {
            for p in 0..<processes {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                var args = ["python3", script, mode, "--count", "\(count / processes)", "--size", "64", "--seed", "\(7 + p)"]
                if mode == "write" { args += ["--out", scratch.appendingPathComponent("numpy-\(p)").path] }
                process.arguments = args + extra
                let pipe = Pipe()
                process.standardOutput = pipe
                try process.run()
                launched.append((process, pipe))
            }
            for (process, _) in launched { process.waitUntilExit() }
        }
        for (process, pipe) in launched where process.terminationStatus != 0 {
            _ = pipe
            throw StepBenchError("reference \(mode) failed with status \(process.terminationStatus)")
        }
        // Each process also times itself, excluding interpreter start-up; use its own rate when alone.
        if processes == 1, let data = try launched[0].1.fileHandleForReading.readToEnd(),
           let json = try JSONSerialization.jsonObject(with: data) as? [String: Any], let rate = json["per_second"] as? Double {
            return rate
        }
        return Double(count / processes * processes) / wall
    }

    // runner: generation only (parallel over phantoms, results dropped).
    _ = generator.phantom(0)
    let genTime = try seconds { try ParallelLoop.run(count: count, threads: threads) { _ = generator.phantom($0) } }
    let genRate = Double(count) / genTime
    // runner: generation + deflate + write.
    let out = scratch.appendingPathComponent("runner")
    let writeTime = try seconds { try PhantomBatch.generate(generator, ids: 0..<count, to: out, threads: threads) }
    let writeRate = Double(count) / writeTime
    let fileBytes = (try FileManager.default.attributesOfItem(atPath: PhantomIO.fileURL(directory: out, id: 0).path)[.size] as? Int) ?? 0
    // Where generate + write spends its time: deflating (parallel) vs libhdf5 + file system.
    let phantoms = (0..<min(count, 60)).map(generator.phantom)
    let slots = EncodedSlots(count: phantoms.count)
    let deflateTime = try seconds { try ParallelLoop.run(count: phantoms.count, threads: threads) { slots.set($0, PhantomIO.encode(phantoms[$0])) } }
    let storeDir = scratch.appendingPathComponent("store-only")
    let storeTime = try seconds { try ParallelLoop.run(count: phantoms.count, threads: threads) { try PhantomIO.write(slots.get($0), to: storeDir) } }
    // runner: read one phantom (best of 30), the same file h5py reads below.
    let sample = PhantomIO.fileURL(directory: out, id: 3)
    var readBest = Double.infinity
    for _ in 0..<30 { readBest = min(readBest, try seconds { _ = try PhantomIO.read(sample, threads: threads) }) }

    let npGen1 = try reference("generate", processes: 1, count: referenceCount)
    let npGen2 = try reference("generate", processes: threads, count: referenceCount)
    let npWrite1 = try reference("write", processes: 1, count: referenceCount)
    let npWrite2 = try reference("write", processes: threads, count: referenceCount)
    let h5pyRead = try reference("read", processes: 1, count: 1, extra: ["--file", sample.path, "--repeat", "30"])

    func row(_ name: String, _ ours: Double, _ theirs: Double, _ refName: String, _ target: String) -> String {
        name.padding(toLength: 34, withPad: " ", startingAt: 0)
            + String(format: "%10.1f/s %10.1f/s %7.2f×  ", ours, theirs, ours / theirs)
            + refName.padding(toLength: 26, withPad: " ", startingAt: 0) + target
    }
    print("phantoms (64³, runner on \(threads) threads, \(count) phantoms; reference \(referenceCount) phantoms; file \(fileBytes / 1024) kB)")
    print("benchmark".padding(toLength: 34, withPad: " ", startingAt: 0) + "    runner    reference   ratio  reference                 target")
    print(row("generate", genRate, npGen1, "NumPy, 1 process", "≥ 5×"))
    print(row("generate", genRate, npGen2, "NumPy, \(threads) processes", ""))
    print(row("generate + write (gzip 4)", writeRate, npWrite1, "NumPy + h5py, 1 process", "≥ 3×"))
    print(row("generate + write (gzip 4)", writeRate, npWrite2, "NumPy + h5py, \(threads) processes", ""))
    print("  of which: deflate \(String(format: "%.1f", Double(phantoms.count) / deflateTime))/s, libhdf5 + files \(String(format: "%.1f", Double(phantoms.count) / storeTime))/s (runner, \(threads) threads)")
    print(row("read one phantom", 1 / readBest, h5pyRead, "h5py", "≥ 1×"))
}

final class EncodedSlots: @unchecked Sendable {
    private var items: [PhantomIO.Encoded?]
    private let lock = NSLock()
    init(count: Int) { items = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ e: PhantomIO.Encoded) { lock.lock(); items[i] = e; lock.unlock() }
    func get(_ i: Int) -> PhantomIO.Encoded { lock.lock(); defer { lock.unlock() }; return items[i]! }
}

struct StepBenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
