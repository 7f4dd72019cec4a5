import XCTest
import Execution

/// The parsers against outputs captured from the real local cluster (Fixtures/slurm/).
final class SlurmParserTests: XCTestCase {
    func testSbatchParsableGivesTheJobId() throws {
        XCTAssertEqual(try SbatchOutput.jobId(slurmFixture("sbatch-parsable.txt")), "3")
        XCTAssertEqual(try SbatchOutput.jobId("1234;cluster-a\n"), "1234")
    }

    func testSbatchGarbageIsAnError() {
        XCTAssertThrowsError(try SbatchOutput.jobId("Submitted batch job 12\n")) { error in
            XCTAssertTrue("\(error)".contains("Submitted batch job 12"), "\(error)")
        }
        XCTAssertThrowsError(try SbatchOutput.jobId(""))
    }

    func testScontrolRunning() throws {
        let job = try XCTUnwrap(ScontrolParser.parse(slurmFixture("scontrol-running.txt")).first)
        XCTAssertEqual(job.jobId, "3")
        XCTAssertEqual(job.name, "capture:running")
        XCTAssertEqual(job.state, .running)
        XCTAssertFalse(job.state.isFinished)
        XCTAssertNil(job.dependency)
        XCTAssertEqual(job.fields["CPUs/Task"], "1")
        XCTAssertEqual(job.fields["TRES"], "cpu=1,node=1,billing=1")
    }

    func testScontrolPendingOnDependencyKeepsANameWithSpaces() throws {
        let job = try XCTUnwrap(ScontrolParser.parse(slurmFixture("scontrol-pending-dependency.txt")).first)
        XCTAssertEqual(job.name, "capture:pending[a, seed 1]")
        XCTAssertEqual(job.state, .pending)
        XCTAssertEqual(job.reason, "Dependency")
        XCTAssertEqual(job.dependency, "afterok:3(unfulfilled)")
        XCTAssertEqual(job.fields["KillOInInvalidDependent"], "Yes")
    }

    func testScontrolFinishedStates() throws {
        let cases: [(String, SlurmJobState, String, Int, Int)] = [
            ("scontrol-completed.txt", .completed, "None", 0, 0),
            ("scontrol-failed.txt", .failed, "NonZeroExitCode", 3, 0),
            ("scontrol-cancelled.txt", .cancelled, "None", 0, 15),
            ("scontrol-timeout.txt", .timeout, "TimeLimit", 0, 15),
            ("scontrol-dependency-never-satisfied.txt", .cancelled, "DependencyNeverSatisfied", 0, 0),
        ]
        for (file, state, reason, status, signal) in cases {
            let job = try XCTUnwrap(ScontrolParser.parse(slurmFixture(file)).first, file)
            XCTAssertEqual(job.state, state, file)
            XCTAssertTrue(job.state.isFinished, file)
            XCTAssertEqual(job.reason, reason, file)
            XCTAssertEqual(job.exitStatus, status, file)
            XCTAssertEqual(job.exitSignal, signal, file)
            XCTAssertEqual(job.status.isDependencyNeverSatisfied, reason == "DependencyNeverSatisfied", file)
        }
        let orphan = try XCTUnwrap(ScontrolParser.parse(slurmFixture("scontrol-dependency-never-satisfied.txt")).first)
        XCTAssertEqual(orphan.dependency, "afterok:6(failed)")
        XCTAssertEqual(orphan.stdoutPath, "/tmp/tmp.sxzSS2vXgt/8.out")
    }

    func testScontrolWithoutJobFieldsIsAnError() {
        XCTAssertThrowsError(try ScontrolParser.parse("slurm_load_jobs error: Invalid job id specified\n"))
        XCTAssertEqual(try ScontrolParser.parse("\n").count, 0)
    }

    func testSqueueWhileRunning() throws {
        let jobs = try SqueueParser.parse(slurmFixture("squeue-all.txt"))
        let byId = Dictionary(uniqueKeysWithValues: jobs.map { ($0.jobId, $0) })
        XCTAssertEqual(jobs.count, 8)
        XCTAssertEqual(byId["3"]?.state, .running)
        XCTAssertEqual(byId["4"], SlurmJobStatus(jobId: "4", state: .pending, reason: "Dependency"))
        XCTAssertEqual(byId["7"]?.reason, "Resources")
        XCTAssertEqual(byId["6"]?.state, .failed)
        XCTAssertEqual(byId["8"]?.isDependencyNeverSatisfied, true)
    }

    func testSqueueAfterTheEnd() throws {
        let jobs = try SqueueParser.parse(slurmFixture("squeue-all-finished.txt"))
        XCTAssertTrue(jobs.allSatisfy { $0.state.isFinished })
        let byId = Dictionary(uniqueKeysWithValues: jobs.map { ($0.jobId, $0) })
        XCTAssertEqual(byId["3"]?.state, .cancelled)
        XCTAssertEqual(byId["4"]?.isDependencyNeverSatisfied, true)   // dependant of the scancel'ed job
        XCTAssertEqual(byId["7"]?.state, .timeout)
    }

    func testSqueueMalformedLineNamesTheLine() {
        XCTAssertThrowsError(try SqueueParser.parse("1|RUNNING|None\n2 RUNNING\n")) { error in
            XCTAssertTrue("\(error)".contains("line 2"), "\(error)")
        }
    }

    func testStateNames() {
        XCTAssertEqual(SlurmJobState("NODE_FAIL"), .nodeFail)
        XCTAssertEqual(SlurmJobState("CANCELLED by 0"), .cancelled)
        XCTAssertEqual(SlurmJobState("PREEMPTED"), .preempted)
        XCTAssertEqual(SlurmJobState("OUT_OF_MEMORY"), .outOfMemory)
        XCTAssertEqual(SlurmJobState("SOMETHING_NEW"), .other("SOMETHING_NEW"))
        XCTAssertFalse(SlurmJobState("SOMETHING_NEW").isFinished)
        XCTAssertEqual(SlurmJobState("REQUEUED").isFinished, false)
    }
}
