import Foundation
import Store
import XCTest

final class ObjectStoreTests: XCTestCase {
    func testSHA256KnownVectorsAndStreamingMatchesInMemory() throws {
        XCTAssertEqual(Digest.sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Digest.sha256(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let dir = try makeTemporaryDirectory(self)
        // Larger than the 1 MiB read chunk, and not a multiple of it.
        let data = bytes(3 * (1 << 20) + 12345)
        let file = dir.appendingPathComponent("big.bin")
        try data.write(to: file)
        XCTAssertEqual(try Digest.sha256(fileAt: file), Digest.sha256(data))
        XCTAssertTrue(Digest.isValid(Digest.sha256(data)))
        XCTAssertFalse(Digest.isValid("ABC"))
        XCTAssertFalse(Digest.isValid(String(repeating: "G", count: 64)))
    }

    func testPutAndReadRoundTripWithContentAddress() throws {
        let dir = try makeTemporaryDirectory(self)
        let store = try ObjectStore(root: dir.appendingPathComponent("objects"))
        let data = bytes(100_000)
        let digest = try store.put(data: data)
        XCTAssertEqual(digest, Digest.sha256(data))
        let path = try store.path(of: digest)
        XCTAssertEqual(path.path, dir.appendingPathComponent("objects/\(digest.prefix(2))/\(digest.dropFirst(2))").path)
        XCTAssertEqual(try Data(contentsOf: path), data)
        XCTAssertEqual(try store.read(digest), data)
        XCTAssertEqual(store.size(of: digest), 100_000)
        XCTAssertEqual(try store.allDigests(), [digest])
        // Objects are read-only so a step cannot alter an input in place.
        let mode = try FileManager.default.attributesOfItem(atPath: path.path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o444)
        // Nothing left behind in the temporary directory.
        XCTAssertEqual(try store.temporaryFiles(), [])
    }

    func testPutFileStreamsAndDeduplicates() throws {
        let dir = try makeTemporaryDirectory(self)
        let store = try ObjectStore(root: dir.appendingPathComponent("objects"))
        let data = bytes(2 * (1 << 20) + 7, seed: 9)
        let file = dir.appendingPathComponent("in.bin")
        try data.write(to: file)
        let digest = try store.put(fileAt: file)
        XCTAssertEqual(digest, Digest.sha256(data))
        let path = try store.path(of: digest)
        let before = try FileManager.default.attributesOfItem(atPath: path.path)
        // Same bytes again, from a file and from memory: same object, not rewritten.
        XCTAssertEqual(try store.put(fileAt: file), digest)
        XCTAssertEqual(try store.put(data: data), digest)
        let after = try FileManager.default.attributesOfItem(atPath: path.path)
        XCTAssertEqual(before[.systemFileNumber] as? Int, after[.systemFileNumber] as? Int)
        XCTAssertEqual(before[.modificationDate] as? Date, after[.modificationDate] as? Date)
        XCTAssertEqual(try store.allDigests(), [digest])
        XCTAssertEqual(try store.temporaryFiles(), [])
        // Empty content is an object too.
        XCTAssertEqual(try store.put(data: Data()), Digest.sha256(Data()))
    }

    func testStreamedWriterCommitsOnlyAtTheEnd() throws {
        let dir = try makeTemporaryDirectory(self)
        let store = try ObjectStore(root: dir.appendingPathComponent("objects"))
        let writer = try store.makeWriter()
        try writer.write(Data("hello ".utf8))
        XCTAssertEqual(try store.allDigests(), [])
        XCTAssertEqual(try store.temporaryFiles().count, 1)
        try writer.write(Data("world".utf8))
        let digest = try writer.commit()
        XCTAssertEqual(digest, Digest.sha256("hello world"))
        XCTAssertEqual(try store.read(digest), Data("hello world".utf8))
        XCTAssertThrowsError(try writer.commit())
        let abandoned = try store.makeWriter()
        try abandoned.write(Data("x".utf8))
        abandoned.abandon()
        XCTAssertEqual(try store.temporaryFiles(), [])
    }

    func testCorruptionIsDetectedOnReadByAFreshProcessView() throws {
        let dir = try makeTemporaryDirectory(self)
        let root = dir.appendingPathComponent("objects")
        let store = try ObjectStore(root: root)
        let digest = try store.put(data: bytes(50_000))
        try corrupt(try store.location(of: digest), at: 1234)
        // A new view (as a new process would have) hashes on first access and refuses the bytes.
        let fresh = try ObjectStore(root: root)
        XCTAssertThrowsError(try fresh.path(of: digest)) { error in
            guard case StoreError.objectCorrupt(let d, let actual, _)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(d, digest)
            XCTAssertNotEqual(actual, digest)
        }
        XCTAssertThrowsError(try fresh.read(digest))
        // read() always checks what it returns, even in the writer's process.
        XCTAssertThrowsError(try store.read(digest))
        // check() ignores the per-process cache.
        XCTAssertNotNil(try store.check(digest))
    }

    func testTimestampsReadBackEqualAtMillisecondResolution() {
        let cases: [(Double, String)] = [(0, "1970-01-01T00:00:00.000Z"), (1_800_000_000.25, "2027-01-15T08:00:00.250Z"),
                                         (-1.5, "1969-12-31T23:59:58.500Z"), (951_782_400, "2000-02-29T00:00:00.000Z")]
        for (t, text) in cases {
            XCTAssertEqual(StoreTime.format(Date(timeIntervalSince1970: t)), text)
            XCTAssertEqual(StoreTime.parse(text), Date(timeIntervalSince1970: t))
        }
        let now = Date()
        let stored = StoreTime.normalized(now)
        XCTAssertEqual(StoreTime.parse(StoreTime.format(now)), stored)
        XCTAssertEqual(StoreTime.parse(StoreTime.format(stored)), stored)
        XCTAssertEqual(StoreTime.parse("2026-11-27T23:40:00Z"), StoreTime.parse("2026-11-27T23:40:00.000Z"))
        XCTAssertEqual(StoreTime.parse("2026-11-27T23:40:00.12345Z"), StoreTime.parse("2026-11-27T23:40:00.123Z"))
        for bad in ["", "2026-11-27", "2026-13-01T00:00:00Z", "2026-11-27T23:40:00", "2026-11-27T23:40:00.Z", "2026-11-27 23:40:00Z"] {
            XCTAssertNil(StoreTime.parse(bad), bad)
        }
    }

    func testPuttingTheSameContentAgainHealsACorruptObject() throws {
        let dir = try makeTemporaryDirectory(self)
        let root = dir.appendingPathComponent("objects")
        let data = bytes(30_000, seed: 5)
        let digest = try ObjectStore(root: root).put(data: data)
        try corrupt(try ObjectStore(root: root).location(of: digest), at: 7)
        let fresh = try ObjectStore(root: root)
        XCTAssertNotNil(try fresh.check(digest))
        XCTAssertEqual(try fresh.put(data: data), digest)
        XCTAssertNil(try fresh.check(digest))
        XCTAssertEqual(try ObjectStore(root: root).read(digest), data)
        // Same through put(fileAt:).
        try corrupt(try fresh.location(of: digest), at: 8)
        let file = dir.appendingPathComponent("again.bin")
        try data.write(to: file)
        let other = try ObjectStore(root: root)
        XCTAssertEqual(try other.put(fileAt: file), digest)
        XCTAssertEqual(try ObjectStore(root: root).read(digest), data)
        XCTAssertEqual(try other.temporaryFiles(), [])
    }

    func testMissingAndInvalidDigestsAreTypedErrors() throws {
        let dir = try makeTemporaryDirectory(self)
        let store = try ObjectStore(root: dir.appendingPathComponent("objects"))
        let absent = Digest.sha256("absent")
        XCTAssertThrowsError(try store.path(of: absent)) { error in
            guard case StoreError.objectMissing(let d, _)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(d, absent)
        }
        XCTAssertThrowsError(try store.read(absent))
        XCTAssertFalse(store.contains(absent))
        for bad in ["", "../../etc/passwd", String(repeating: "A", count: 64), String(repeating: "a", count: 63)] {
            XCTAssertThrowsError(try store.path(of: bad)) { error in
                XCTAssertEqual(error as? StoreError, .invalidDigest(bad))
            }
        }
    }

    func testStoreRootBlockedByAFileIsTypedError() throws {
        let dir = try makeTemporaryDirectory(self)
        let blocker = dir.appendingPathComponent("store")
        try Data("x".utf8).write(to: blocker)
        XCTAssertThrowsError(try RunnerStore(root: blocker)) { error in
            guard case StoreError.io(let path, _, let reason)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, blocker.path); XCTAssertEqual(reason, "a file is in the way")
        }
    }

    func testPutOfMissingFileIsTypedError() throws {
        let dir = try makeTemporaryDirectory(self)
        let store = try ObjectStore(root: dir.appendingPathComponent("objects"))
        XCTAssertThrowsError(try store.put(fileAt: dir.appendingPathComponent("nope"))) { error in
            guard case StoreError.io(let path, let op, _)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("nope")); XCTAssertEqual(op, "open")
        }
        XCTAssertEqual(try store.temporaryFiles(), [])
    }
}
