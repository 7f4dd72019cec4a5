import Foundation
import XCTest

/// gc, unlock and the terminal display, on the real binary.
final class StoreCommandsEndToEndTests: XCTestCase {
    private var ws: Workspace!
    override func setUpWithError() throws { ws = try Workspace("store-commands") }
    override func tearDown() { ws.remove() }

    func testGCKeepsTheGivenExperimentsAndRemovesTheRest() throws {
        try ws.write("keep.yaml", Workspace.dataExperiment(name: "keep", count: 24, seed: 1))
        try ws.write("drop.yaml", Workspace.dataExperiment(name: "drop", count: 24, seed: 2))
        XCTAssertEqual(try ws.run(["apply", "keep.yaml", "drop.yaml"]).status, 0)
        XCTAssertEqual(try ws.records()["generate"]?.count, 2)

        let dry = try ws.run(["gc", "keep.yaml", "--dry-run"])
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertTrue(dry.stdout.contains("would remove 6 step(s)"), dry.stdout)
        XCTAssertEqual(try ws.records()["generate"]?.count, 2, "a dry run removes nothing")

        let gc = try ws.run(["gc", "keep.yaml"])
        XCTAssertEqual(gc.status, 0, gc.stderr)
        XCTAssertTrue(gc.stdout.contains("removed 6 step(s)"), gc.stdout)
        XCTAssertEqual(try ws.records()["generate"]?.count, 1)
        XCTAssertEqual(try ws.run(["verify"]).status, 0)
        let again = try ws.run(["apply", "keep.yaml", "--json"])
        XCTAssertEqual(ApplyEvents(again.stdout).kinds(of: "started"), [], "what gc kept is still cached")
        XCTAssertEqual(try ws.run(["gc", "nope.yaml"]).status, 1)
    }

    func testALockOfAnotherHostIsRemovedOnlyByUnlock() throws {
        try ws.write("exp.yaml", Workspace.dataExperiment(count: 24))
        try FileManager.default.createDirectory(at: ws.store, withIntermediateDirectories: true)
        // An apply on a cluster node that died holding the lock: this host cannot judge it.
        try ws.write(".runner/lock", """
        {"command":"runner apply exp.yaml","host":"node-7.cluster","id":"feedc0ffee12","pid":4242,"started":"2026-11-27T23:40:00.000Z"}
        """)
        let refused = try ws.run(["apply", "exp.yaml", "--no-wait"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("node-7.cluster") && refused.stderr.contains("runner unlock feedc0ffee12"), refused.stderr)
        XCTAssertEqual(try ws.run(["unlock", "0123456789ab"]).status, 1, "another id is refused")
        let unlocked = try ws.run(["unlock", "feedc0ffee12"])
        XCTAssertEqual(unlocked.status, 0, unlocked.stderr)
        XCTAssertTrue(unlocked.stdout.contains("removed lock feedc0ffee12"), unlocked.stdout)
        XCTAssertEqual(try ws.run(["apply", "exp.yaml", "--no-wait"]).status, 0)
    }

    func testATerminalGetsTheLiveDisplay() throws {
        let script = "/usr/bin/script"
        guard FileManager.default.isExecutableFile(atPath: script), let binary = RunnerBinary.url else {
            throw XCTSkip("util-linux `script` (a pseudo-terminal) is not available")
        }
        try ws.write("exp.yaml", Workspace.dataExperiment(count: 24))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: script)
        p.arguments = ["-qec", "'\(binary.path)' apply exp.yaml", "/dev/null"]
        p.currentDirectoryURL = ws.dir
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("\u{1B}[J"), "redrawn in place")
        XCTAssertTrue(text.contains("✓ generate") && text.contains("✓ split"), text)
        XCTAssertFalse(text.contains("start   generate"), "no plain lines on a terminal")
    }
}
