import Foundation
import Store
import XCTest

/// Several writers at once within one process (threads of a scheduler, or step
/// processes finishing together) — the file-system operations are the same.
final class ConcurrencyTests: XCTestCase {
    func testConcurrentPutsOfTheSameBytesMakeOneObject() throws {
        let root = try makeTemporaryDirectory(self).appendingPathComponent("objects")
        let data = bytes(300_000, seed: 4)
        let digests = UnsafeMutableBufferPointer<String>.allocate(capacity: 8)
        digests.initialize(repeating: "")
        defer { digests.deallocate() }
        let errors = NSLock()
        var failures: [String] = []
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            do {
                // Each thread its own view, as separate processes would have.
                let store = try ObjectStore(root: root)
                digests[i] = i % 2 == 0 ? try store.put(data: data) : try {
                    let w = try store.makeWriter()
                    try w.write(data)
                    return try w.commit()
                }()
            } catch {
                errors.lock(); failures.append("\(error)"); errors.unlock()
            }
        }
        XCTAssertEqual(failures, [])
        XCTAssertEqual(Set(digests), [Digest.sha256(data)])
        let store = try ObjectStore(root: root)
        XCTAssertEqual(try store.allDigests(), [Digest.sha256(data)])
        XCTAssertEqual(try store.temporaryFiles(), [])
        XCTAssertEqual(try store.read(Digest.sha256(data)), data)
    }

    func testConcurrentThroughputUpdatesLoseNoSample() throws {
        let store = try RunnerStore(root: try makeTemporaryDirectory(self))
        let errors = NSLock()
        var failures: [String] = []
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<5 {
                do { try store.recordThroughput(kind: "generate", host: "h", unit: "phantom", seconds: 2, units: 4, at: Date()) }
                catch { errors.lock(); failures.append("\(error)"); errors.unlock() }
            }
        }
        XCTAssertEqual(failures, [])
        let record = try XCTUnwrap(try store.throughput(kind: "generate", host: "h"))
        XCTAssertEqual(record.samples, 40)
        XCTAssertEqual(record.units, 160)
        XCTAssertEqual(record.secondsPerUnit, 0.5, accuracy: 1e-12)
    }
}
