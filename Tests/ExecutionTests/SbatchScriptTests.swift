import XCTest
import Execution

/// Rendering of sbatch command lines and batch scripts, against golden text.
final class SbatchScriptTests: XCTestCase {
    let train = SlurmStepJob(key: "ab12cd", name: "train[attention, seed 28]", experiment: "ablation",
                             cores: 2, memoryMB: 3072, logPath: "/shared/store/steps/ab12cd/log.txt",
                             dependencyJobIds: ["101", "102"])

    func testFullSubmission() {
        let options = SlurmOptions(partition: "gpu", account: "nirdot", timeLimit: "1-00:00:00", qos: "normal",
                                   extraArguments: ["--constraint=avx512"], retries: 2, openblasCoreType: "SkylakeX")
        let submission = SbatchScript.render(train, options: options, runner: "/opt/runner/bin/runner", store: "/shared/store")
        XCTAssertEqual(submission.arguments, [
            "--parsable",
            "--job-name=ablation:train[attention, seed 28]",
            "--cpus-per-task=2",
            "--mem=3072M",
            "--output=/shared/store/steps/ab12cd/log.txt",
            "--open-mode=append",
            "--dependency=afterok:101:102",
            "--kill-on-invalid-dep=yes",
            "--partition=gpu",
            "--account=nirdot",
            "--qos=normal",
            "--time=1-00:00:00",
            "--constraint=avx512",
        ])
        XCTAssertEqual(submission.script, """
            #!/bin/sh
            # runner: step train[attention, seed 28] of experiment ablation, key ab12cd
            export RUNNER_THREADS=2 OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
            export OPENBLAS_CORETYPE=SkylakeX
            exec /opt/runner/bin/runner step ab12cd --store /shared/store

            """)
        XCTAssertEqual(submission.shellText, """
            sbatch --parsable '--job-name=ablation:train[attention, seed 28]' --cpus-per-task=2 --mem=3072M \
            --output=/shared/store/steps/ab12cd/log.txt --open-mode=append --dependency=afterok:101:102 \
            --kill-on-invalid-dep=yes --partition=gpu --account=nirdot --qos=normal --time=1-00:00:00 \
            --constraint=avx512 <<'SBATCH'
            #!/bin/sh
            # runner: step train[attention, seed 28] of experiment ablation, key ab12cd
            export RUNNER_THREADS=2 OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
            export OPENBLAS_CORETYPE=SkylakeX
            exec /opt/runner/bin/runner step ab12cd --store /shared/store
            SBATCH

            """)
    }

    func testMinimalSubmissionHasNoDependencyAndQuotesPaths() {
        var job = train
        job.dependencyJobIds = []
        job.memoryMB = nil
        job.cores = 0
        let submission = SbatchScript.render(job, options: SlurmOptions(), runner: "/home/a b/runner", store: "/home/a b/it's")
        XCTAssertEqual(submission.arguments, [
            "--parsable", "--job-name=ablation:train[attention, seed 28]", "--cpus-per-task=1",
            "--output=/shared/store/steps/ab12cd/log.txt", "--open-mode=append",
        ])
        XCTAssertEqual(submission.script, """
            #!/bin/sh
            # runner: step train[attention, seed 28] of experiment ablation, key ab12cd
            export RUNNER_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
            exec '/home/a b/runner' step ab12cd --store '/home/a b/it'\\''s'

            """)
    }

    func testOptionValidation() {
        XCTAssertNoThrow(try SlurmOptions(partition: "debug,long", timeLimit: "90").validate())
        for time in ["30", "10:00", "1:30:00", "2-12", "2-12:30", "2-12:30:00", "UNLIMITED"] {
            XCTAssertNoThrow(try SlurmOptions(timeLimit: time).validate(), time)
        }
        for time in ["", "1h", "1:2:3:4", "-5", "1-", "a-1"] {
            XCTAssertThrowsError(try SlurmOptions(timeLimit: time).validate(), time)
        }
        XCTAssertThrowsError(try SlurmOptions(retries: -1).validate())
        XCTAssertThrowsError(try SlurmOptions(account: "two words").validate())
        XCTAssertThrowsError(try SlurmOptions(extraArguments: ["avx512"]).validate()) { error in
            XCTAssertTrue("\(error)".contains("avx512"), "\(error)")
        }
        XCTAssertThrowsError(try SlurmOptions(pollInterval: 0).validate())
    }
}
