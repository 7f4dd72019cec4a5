import XCTest
import Execution
import Steps
import Store

/// The Slurm executor against the real local cluster (scripts/slurm-local.sh up). Jobs run the
/// harness's stand-in for `runner step` (SlurmTestHarness.swift) through real sbatch/squeue/scancel.
/// Every test skips with the reason when no cluster answers.
final class SlurmIntegrationTests: XCTestCase {
    func testGraphRunsInDependencyOrderAndASecondApplySubmitsNothing() throws {
        let h = try SlurmHarness()
        let generate = try h.step("generate")
        let clean = try h.step("clean", inputs: [generate.key])
        let trainA = try h.step("train[a, seed 1]", inputs: [clean.key], behaviour: """
            echo '{"event":"progress","done":1,"total":2,"message":"epoch 1"}'; sleep 2
            """)
        let trainB = try h.step("train[b, seed 1]", inputs: [clean.key])
        let report = try h.step("report", inputs: [trainA.key, trainB.key])
        let steps = [report, trainB, trainA, clean, generate]   // any order: the executor sorts
        let events = EventLog()
        var options = SlurmOptions(retries: 1, pollInterval: 0.3)
        options.openblasCoreType = "SkylakeX"
        let result = try h.executor(options: options, events: events).run(steps)

        XCTAssertTrue(result.allSucceeded, "\(result)")
        XCTAssertEqual(Set(result.succeeded), Set(steps.map(\.key)))
        XCTAssertEqual(result.submissions, 5)
        for step in steps { XCTAssertTrue(h.store.isCached(step.key), step.name) }

        // Slurm sequenced the graph: every step finished after its inputs.
        let order = h.finishedOrder()
        XCTAssertEqual(order.count, 5)
        for step in steps {
            for input in step.inputs.values {
                XCTAssertLessThan(try XCTUnwrap(order.firstIndex(of: input)), try XCTUnwrap(order.firstIndex(of: step.key)), step.name)
            }
        }
        // All five were submitted at once, chained with afterok on the upstream job ids.
        let submitted = events.all.compactMap { event -> (String, String, [String])? in
            if case .submitted(let key, _, let jobId, _, let deps) = event { return (key, jobId, deps) } else { return nil }
        }
        XCTAssertEqual(submitted.count, 5)
        let firstSuccess = try XCTUnwrap(events.all.firstIndex { if case .succeeded = $0 { return true } else { return false } })
        XCTAssertGreaterThan(firstSuccess, events.all.lastIndex { if case .submitted = $0 { return true } else { return false } } ?? 0)
        let jobOf = Dictionary(uniqueKeysWithValues: submitted.map { ($0.0, $0.1) })
        let reportDeps = try XCTUnwrap(submitted.first { $0.0 == report.key }?.2)
        XCTAssertEqual(Set(reportDeps), Set([jobOf[trainA.key]!, jobOf[trainB.key]!]))
        // Progress the step printed reached the events through its log.
        XCTAssertTrue(events.all.contains(.progress(key: trainA.key, done: 1, total: 2, message: "epoch 1")), "\(events.all)")
        // Job ids are in the step's record area.
        for step in steps {
            XCTAssertEqual(try h.jobRecord(step.key)?.latestJobId, jobOf[step.key], step.name)
        }
        // The job ran with the step's cores and the exported OpenBLAS core type, output in the step's log.
        XCTAssertTrue(h.log(trainA.key).contains("with 1 cpus, RUNNER_THREADS=1, OPENBLAS_CORETYPE=SkylakeX"), h.log(trainA.key))

        let again = EventLog()
        let second = try h.executor(events: again).run(steps)
        XCTAssertEqual(second.submissions, 0)
        XCTAssertEqual(Set(second.cached), Set(steps.map(\.key)))
        XCTAssertTrue(second.allSucceeded)
        XCTAssertFalse(again.all.contains { if case .submitted = $0 { return true } else { return false } })
    }

    func testJobKilledWithScancelIsRetriedAndResumesFromItsCheckpoint() throws {
        let h = try SlurmHarness()
        // First attempt writes a checkpoint and would run for minutes; the retry must find the checkpoint.
        let train = try h.step("train[a, seed 1]", behaviour: """
            if [ "$attempt" = 1 ]; then echo "epoch 3" > "$dir/scratch/checkpoint"; sleep 300; fi
            echo "resumed from $(cat "$dir/scratch/checkpoint")"
            """)
        let evaluate = try h.step("evaluate[a, seed 1]", inputs: [train.key])
        let events = EventLog()
        let run = BackgroundRun(h.executor(events: events), [train, evaluate])

        var firstJob: String?
        XCTAssertTrue(try h.waitUntil(timeout: 30) {
            guard let job = try h.jobRecord(train.key)?.latestJobId else { return false }
            firstJob = job
            return FileManager.default.fileExists(atPath: try h.store.layout.scratch(train.key).appendingPathComponent("checkpoint").path)
        }, "the first attempt never started")
        try h.client.cancel([try XCTUnwrap(firstJob)])

        let result = try XCTUnwrap(run.wait(timeout: 90), "the run did not end").get()
        XCTAssertTrue(result.allSucceeded, "\(result)")
        XCTAssertEqual(Set(result.succeeded), [train.key, evaluate.key])
        let trainJobs = try XCTUnwrap(h.jobRecord(train.key)).submissions
        XCTAssertEqual(trainJobs.count, 2)
        XCTAssertEqual(trainJobs.map(\.attempt), [1, 2])
        XCTAssertEqual(trainJobs.first?.jobId, firstJob)
        XCTAssertTrue(h.log(train.key).contains("resumed from epoch 3"), h.log(train.key))
        XCTAssertTrue(events.all.contains {
            if case .retrying(let key, _, let jobId, let why, 2) = $0 { return key == train.key && jobId == firstJob && why.contains("CANCELLED") }
            return false
        }, "\(events.all)")
        // The dependant Slurm cancelled with the first attempt was resubmitted behind the second.
        let evaluateJobs = try XCTUnwrap(h.jobRecord(evaluate.key)).submissions
        XCTAssertEqual(evaluateJobs.last?.dependencies, [trainJobs[1].jobId])
        XCTAssertEqual(evaluateJobs.map(\.attempt), [1, 1], "cancelled by Slurm for its input's sake: no retry used up")
        XCTAssertTrue(h.store.isCached(evaluate.key))
    }

    func testFailingStepCancelsItsDependantsAndTheRunEnds() throws {
        let h = try SlurmHarness()
        let bad = try h.step("clean", behaviour: "echo 'phantom 7: negative absorption' >&2; exit 4")
        let child = try h.step("train[a, seed 1]", inputs: [bad.key])
        let grandchild = try h.step("evaluate[a, seed 1]", inputs: [child.key])
        let other = try h.step("generate[other]")
        let events = EventLog()
        let started = Date()
        let result = try h.executor(events: events).run([bad, child, grandchild, other])
        XCTAssertLessThan(Date().timeIntervalSince(started), 60)

        XCTAssertFalse(result.allSucceeded)
        XCTAssertEqual(Array(result.failed.keys), [bad.key])
        let message = try XCTUnwrap(result.failed[bad.key])
        XCTAssertTrue(message.contains("FAILED") && message.contains("exit 4"), message)
        XCTAssertTrue(message.contains("phantom 7: negative absorption"), message)
        XCTAssertEqual(result.cancelled, [child.key: "clean", grandchild.key: "clean"])
        XCTAssertEqual(result.succeeded, [other.key])
        XCTAssertEqual(try h.jobRecord(bad.key)?.submissions.count, 2, "one retry")
        // Nothing of this run is left queued.
        let queue = try h.client.queue()
        for step in [bad, child, grandchild] {
            for job in try h.jobRecord(step.key)?.submissions ?? [] {
                XCTAssertTrue(queue[job.jobId].map { $0.state.isFinished } ?? true, "\(step.name) job \(job.jobId) still \(String(describing: queue[job.jobId]))")
            }
        }
        XCTAssertFalse(h.store.isCached(child.key))
    }

    func testUnknownPartitionIsRejectedBeforeAnythingIsSubmitted() throws {
        let h = try SlurmHarness()
        let step = try h.step("generate")
        XCTAssertThrowsError(try h.executor(options: SlurmOptions(partition: "no-such-partition")).run([step])) { error in
            XCTAssertEqual(error as? SlurmError, .unknownPartition("no-such-partition"))
            XCTAssertTrue("\(error)".contains("sinfo"), "\(error)")
        }
        XCTAssertNil(try h.jobRecord(step.key))
    }

    func testMissingSlurmCommandsAreAClearError() throws {
        let h = try SlurmHarness()
        let executor = SlurmExecutor(store: h.store, experiment: "e", runner: h.fakeRunner, options: SlurmOptions(),
                                     client: SlurmClient(searchPath: h.root.path), stepCommand: [])
        XCTAssertThrowsError(try executor.run([try h.step("generate")])) { error in
            guard case .notInstalled(let command, _)? = error as? SlurmError else { return XCTFail("\(error)") }
            XCTAssertEqual(command, "sbatch")
            XCTAssertTrue("\(error)".contains("not on PATH"), "\(error)")
        }
    }

    func testRefusedFirstSubmissionSubmitsNothing() throws {
        let h = try SlurmHarness()
        let step = try h.step("generate")
        // More memory than the node has: sbatch refuses ("Requested node configuration is not available").
        XCTAssertThrowsError(try h.executor().run([step], memoryMB: [step.key: 100_000_000])) { error in
            guard case .submissionRejected(let name, let message)? = error as? SlurmError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "generate")
            XCTAssertTrue(message.contains("node configuration is not available"), message)
        }
        XCTAssertNil(try h.jobRecord(step.key))
    }

    func testRefusedLaterSubmissionCancelsWhatWasSubmitted() throws {
        let h = try SlurmHarness()
        let first = try h.step("generate", behaviour: "sleep 120")
        let second = try h.step("clean", inputs: [first.key])
        XCTAssertThrowsError(try h.executor().run([first, second], memoryMB: [second.key: 100_000_000])) { error in
            guard case .submissionFailedAfterOthers(let name, _, let cancelled)? = error as? SlurmError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "clean")
            XCTAssertEqual(cancelled, [try? h.jobRecord(first.key)?.latestJobId].compactMap { $0 })
        }
        let firstJob = try XCTUnwrap(h.jobRecord(first.key)?.latestJobId)
        XCTAssertTrue(try h.waitUntil(timeout: 15) { try h.client.queue()[firstJob]?.state == .cancelled },
                      "job \(firstJob) was not cancelled")
    }

    func testFollowingReattachesToJobsOfAProcessThatIsGone() throws {
        let h = try SlurmHarness()
        let step = try h.step("train[a, seed 1]", behaviour: "sleep 3")
        let waiting = try h.step("report")
        // What a submitting process that died right after sbatch leaves behind: a job and its record.
        let submission = SbatchScript.render(
            SlurmStepJob(key: step.key, name: step.name, experiment: "slurm-test", cores: 1, memoryMB: nil,
                         logPath: try h.store.logURL(step.key).path, dependencyJobIds: []),
            options: SlurmOptions(), runner: h.fakeRunner, store: h.root.path, stepCommand: [])
        try h.store.writeRequest(StepRequestRecord(key: step.key, kind: "generate", name: step.name, params: .object([:]), inputs: [:], cores: 1))
        let jobId = try h.client.submit(submission, stepName: step.name)
        try SlurmJobRecord(key: step.key, experiment: "slurm-test", name: step.name,
                           submissions: [.init(jobId: jobId, attempt: 1, submitted: Date(), dependencies: [])]).write(store: h.store.layout)

        let events = EventLog()
        let result = try h.executor(events: events).run([step, waiting], mode: .follow)
        XCTAssertEqual(result.submissions, 0)
        XCTAssertEqual(result.jobIds[step.key], [jobId])
        XCTAssertEqual(result.succeeded, [step.key])
        XCTAssertEqual(result.notRunning, [waiting.key])
        XCTAssertTrue(events.all.contains(.adopted(key: step.key, name: step.name, jobId: jobId)))
        XCTAssertTrue(h.store.isCached(step.key))
    }

    func testStopCancelsTheLiveJobs() throws {
        let h = try SlurmHarness()
        let slow = try h.step("generate", behaviour: "sleep 300")
        let after = try h.step("clean", inputs: [slow.key])
        let executor = h.executor()
        let run = BackgroundRun(executor, [slow, after])
        XCTAssertTrue(try h.waitUntil(timeout: 30) { try h.jobRecord(after.key) != nil })
        executor.cancelAll()
        let result = try XCTUnwrap(run.wait(timeout: 30), "the run did not stop").get()
        XCTAssertEqual(Set(result.stopped), [slow.key, after.key])
        let jobs = try [slow, after].map { try XCTUnwrap(h.jobRecord($0.key)?.latestJobId) }
        XCTAssertTrue(try h.waitUntil(timeout: 15) {
            let queue = try h.client.queue()
            return jobs.allSatisfy { queue[$0]?.state.isFinished ?? true }
        })
    }
}

/// `runner plan --executor slurm` output is an honest script: run by bash on the cluster it does the same.
final class SlurmPlanScriptTests: XCTestCase {
    func testPlanScriptGoldenText() throws {
        let generate = StepRequest(key: "aaa", kind: .generate, name: "generate", params: .object([:]), inputs: [:], cores: 1)
        let train = StepRequest(key: "bbb", kind: .train, name: "train[a, seed 1]", params: .object([:]),
                                inputs: ["data": "aaa", "split": "cached-elsewhere"], cores: 2)
        let text = try SlurmPlanScript.render([train, generate], memoryMB: ["bbb": 2048], experiment: "demo",
                                              options: SlurmOptions(partition: "debug", retries: 1),
                                              runner: "/opt/runner", store: "/shared/store")
        XCTAssertEqual(text, """
            #!/bin/bash
            # Slurm jobs of experiment demo: 2 steps to run (cached steps are not submitted).
            # runner apply also resubmits a failed job up to 1 time.
            set -euo pipefail

            # generate
            job_1=$(sbatch --parsable --job-name=demo:generate --cpus-per-task=1 --output=/shared/store/steps/aaa/log.txt \
            --open-mode=append --partition=debug <<'SBATCH'
            #!/bin/sh
            # runner: step generate of experiment demo, key aaa
            export RUNNER_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
            exec /opt/runner step aaa --store /shared/store
            SBATCH
            )

            # train[a, seed 1]
            job_2=$(sbatch --parsable '--job-name=demo:train[a, seed 1]' --cpus-per-task=2 --mem=2048M \
            --output=/shared/store/steps/bbb/log.txt --open-mode=append "--dependency=afterok:${job_1}" \
            --kill-on-invalid-dep=yes --partition=debug <<'SBATCH'
            #!/bin/sh
            # runner: step train[a, seed 1] of experiment demo, key bbb
            export RUNNER_THREADS=2 OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
            exec /opt/runner step bbb --store /shared/store
            SBATCH
            )

            """)
    }

    func testPlanScriptRunsOnTheCluster() throws {
        let h = try SlurmHarness()
        let first = try h.step("generate")
        let second = try h.step("clean", inputs: [first.key])
        for step in [first, second] {
            try h.store.writeRequest(StepRequestRecord(key: step.key, kind: "generate", name: step.name, params: .object([:]),
                                                       inputs: step.inputs, cores: 1))
        }
        let text = try SlurmPlanScript.render([second, first], experiment: "slurm-test", options: SlurmOptions(),
                                              runner: h.fakeRunner, store: h.root.path, stepCommand: [])
        let script = h.root.appendingPathComponent("plan.sh")
        try text.write(to: script, atomically: true, encoding: .utf8)
        let bash = try h.client.run("bash", [script.path])
        XCTAssertEqual(bash.status, 0, bash.stderr)
        XCTAssertTrue(h.waitUntil(timeout: 30) { h.store.isCached(second.key) }, h.log(second.key))
        XCTAssertEqual(h.finishedOrder(), [first.key, second.key])
    }
}

final class SlurmMissingRecordTests: XCTestCase {
    /// A job that COMPLETED without a record is given `recordVisibilityGrace` for the record to
    /// appear (shared file systems lag), then counts as failed.
    func testCompletedJobWithoutARecordFailsAfterTheGrace() throws {
        let h = try SlurmHarness()
        let step = try h.step("generate", behaviour: "echo 'forgot the record'; exit 0")
        let executor = h.executor(options: SlurmOptions(retries: 0, pollInterval: 0.3))
        executor.recordVisibilityGrace = 2
        let started = Date()
        let result = try executor.run([step])
        let message = try XCTUnwrap(result.failed[step.key], "\(result)")
        XCTAssertTrue(message.contains("COMPLETED") && message.contains("wrote no record"), message)
        XCTAssertTrue(message.contains("forgot the record"), "the log's end is part of the message: \(message)")
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 2)
    }
}
