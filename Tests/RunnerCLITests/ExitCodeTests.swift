import XCTest

/// Exit codes of the real binary for usage and input errors that need no experiment.
final class ExitCodeTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-exit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testUsageErrorsExitWith2() throws {
        for args in [["apply"], ["--no-such-flag"], ["apply", "x.yaml", "--cores", "0"], ["frobnicate"], ["unlock"]] {
            let r = try runner(args, in: dir)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.isEmpty, "\(args) must explain itself")
        }
    }

    func testHelpExits0AndHidesTheStepEntryPoint() throws {
        let r = try runner(["--help"], in: dir)
        XCTAssertEqual(r.status, 0)
        for command in ["apply", "verify", "gc", "unlock", "show"] { XCTAssertTrue(r.stdout.contains(command), command) }
        XCTAssertFalse(r.stdout.contains("step "), r.stdout)
    }

    func testCommandsOnAMissingStoreAreInvalidInput() throws {
        for args in [["verify"], ["unlock", "abc"], ["verify", "--store", "nowhere"]] {
            let r = try runner(args, in: dir)
            XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("no store at"), r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(".runner").path), "nothing created")
    }

    func testAStepWithoutARequestFailsWith4() throws {
        let r = try runner(["step", "0123abcd", "--store", "s"], in: dir)
        XCTAssertEqual(r.status, 4)
        XCTAssertTrue(r.stderr.contains("no request for step 0123abcd"), r.stderr)
    }

    func testUnlockOfAnUnlockedStoreIsInvalidInput() throws {
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".runner"), withIntermediateDirectories: true)
        let r = try runner(["unlock", "abc"], in: dir)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("not locked"), r.stderr)
    }
}
