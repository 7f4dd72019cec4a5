import XCTest
import Execution
import Steps
import Store

/// The local executor against real child processes: a small shell script stands in for the
/// `runner` binary (the end-to-end tests in RunnerCLITests run the real one).
final class LocalExecutorTests: XCTestCase {
    private var dir: URL!
    private var script: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("local-exec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        script = dir.appendingPathComponent("fake-runner")
        // Arguments: step KEY --store DIR --threads N. Behaviour chosen by the key.
        let text = """
        #!/bin/sh
        key="$2"
        echo "threads=$6 blas=$OPENBLAS_NUM_THREADS"
        case "$key" in
          ok) echo '{"event":"progress","done":1,"total":2,"message":"half"}'
              echo '{"event":"progress","done":2,"total":2,"message":"all"}'
              echo "on stderr" >&2
              exit 0 ;;
          bad) for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo "line $i" >&2; done
               echo "clean: phantom_3: not an HDF5 file" >&2
               exit 4 ;;
          crash) kill -9 $$ ;;
          slow) trap 'echo "stopping" >&2; exit 4' TERM
                echo '{"event":"progress","done":0,"total":1,"message":"waiting"}'
                while :; do sleep 0.05; done ;;
        esac
        """
        try text.write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func request(_ key: String, cores: Int = 1) -> StepRequest {
        StepRequest(key: key, kind: .generate, name: "generate-\(key)", params: .object([:]), inputs: [:], cores: cores)
    }

    private func runToExit(_ executor: LocalExecutor, _ key: String) -> (progress: [String], outcome: StepOutcome) {
        var progress: [String] = []
        while true {
            switch executor.nextEvent() {
            case let .progress(k, done, total, message): XCTAssertEqual(k, key); progress.append("\(done)/\(total) \(message)")
            case let .exited(k, outcome): XCTAssertEqual(k, key); return (progress, outcome)
            }
        }
    }

    private func log(_ key: String) throws -> String {
        try String(contentsOf: dir.appendingPathComponent("store/steps/\(key)/log.txt"), encoding: .utf8)
    }

    func testSuccessForwardsProgressAndLogsBothStreams() throws {
        let executor = LocalExecutor(runner: script, storeRoot: dir.appendingPathComponent("store"), coreBudget: 2, environment: [:])
        try executor.launch(request("ok", cores: 3))
        let r = runToExit(executor, "ok")
        XCTAssertEqual(r.progress, ["1/2 half", "2/2 all"])
        XCTAssertEqual(r.outcome, .succeeded)
        let text = try log("ok")
        XCTAssertTrue(text.contains("threads=2 blas=2"), text)   // 3 cores asked, budget 2
        XCTAssertTrue(text.contains("on stderr"))
        XCTAssertTrue(text.contains("\"done\":2"))
    }

    func testFailureCarriesTheLastLinesOfTheLog() throws {
        let executor = LocalExecutor(runner: script, storeRoot: dir.appendingPathComponent("store"), coreBudget: 1, environment: [:])
        try executor.launch(request("bad"))
        guard case let .failed(message, logPath) = runToExit(executor, "bad").outcome else { return XCTFail("not a failure") }
        XCTAssertTrue(message.hasPrefix("step process ended with exit code 4"), message)
        XCTAssertTrue(message.contains("clean: phantom_3: not an HDF5 file"))
        XCTAssertFalse(message.contains("line 5\n"), "only the last \(LocalExecutor.tailLines) lines")
        XCTAssertEqual(logPath, dir.appendingPathComponent("store/steps/bad/log.txt").path)
    }

    func testACrashIsAFailureNotAHang() throws {
        let executor = LocalExecutor(runner: script, storeRoot: dir.appendingPathComponent("store"), coreBudget: 1, environment: [:])
        try executor.launch(request("crash"))
        guard case let .failed(message, _) = runToExit(executor, "crash").outcome else { return XCTFail("not a failure") }
        XCTAssertTrue(message.contains("killed by signal 9"), message)
    }

    func testCancelAllStopsARunningStep() throws {
        let executor = LocalExecutor(runner: script, storeRoot: dir.appendingPathComponent("store"), coreBudget: 1, environment: [:])
        try executor.launch(request("slow"))
        guard case .progress = executor.nextEvent() else { return XCTFail("expected the step's first progress") }
        executor.cancelAll()
        XCTAssertEqual(runToExit(executor, "slow").outcome, .stopped)
        XCTAssertTrue(try log("slow").contains("stopping"))
    }

    func testAMissingBinaryFailsAtLaunch() {
        let executor = LocalExecutor(runner: dir.appendingPathComponent("nope"), storeRoot: dir.appendingPathComponent("store"), coreBudget: 1)
        XCTAssertThrowsError(try executor.launch(request("ok")))
    }

    func testChildEnvironment() {
        let env = ChildEnvironment.make(base: ["PATH": "/bin"], threads: 3, cpuHasAVX512F: true)
        XCTAssertEqual(env["OPENBLAS_CORETYPE"], "SkylakeX")
        XCTAssertEqual(env["OPENBLAS_NUM_THREADS"], "3")
        XCTAssertEqual(env["PATH"], "/bin")
        XCTAssertEqual(ChildEnvironment.make(base: ["OPENBLAS_CORETYPE": "Haswell"], threads: 1, cpuHasAVX512F: true)["OPENBLAS_CORETYPE"], "Haswell")
        XCTAssertNil(ChildEnvironment.make(base: [:], threads: 1, cpuHasAVX512F: false)["OPENBLAS_CORETYPE"])
    }

    func testCPUFlagsAreReadFromCpuinfo() throws {
        let with = dir.appendingPathComponent("cpuinfo-avx512")
        try "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512dq\n".write(to: with, atomically: true, encoding: .utf8)
        let without = dir.appendingPathComponent("cpuinfo-avx2")
        try "processor\t: 0\nflags\t\t: fpu sse avx2 avx512fake\n".write(to: without, atomically: true, encoding: .utf8)
        XCTAssertTrue(ChildEnvironment.cpuHasAVX512F(cpuinfo: with.path))
        XCTAssertFalse(ChildEnvironment.cpuHasAVX512F(cpuinfo: without.path))
        XCTAssertFalse(ChildEnvironment.cpuHasAVX512F(cpuinfo: dir.appendingPathComponent("missing").path))
    }

    func testProgressLinesRoundTrip() {
        let line = ProgressLine.encode(done: 3, total: 10, message: "phantom 3")
        XCTAssertEqual(line, #"{"done":3,"event":"progress","message":"phantom 3","total":10}"#)
        XCTAssertEqual(ProgressLine.decode(line[...])?.done, 3)
        XCTAssertNil(ProgressLine.decode("{\"event\":\"other\"}"))
        XCTAssertNil(ProgressLine.decode("plain text"))
    }
}
