import Foundation
import Planner
import XCTest

/// `runner plan --executor slurm` through the built binary: the table, then the sbatch commands
/// apply would run (human), or the plan's JSON with a `slurm` field (`--json`). Planning talks to
/// no cluster, so these run without one.
final class SlurmPlanCommandTests: XCTestCase {
    static func experiment(batch: Int = 4, channels: Int = 8, executor: String = "") -> String {
        """
        name: tiny
        data:
          source: {synthetic: {count: 12, size: 32, seed: 7}}
          split: {ratios: {train: 0.5, val: 0.25, test: 0.25}, seed: 28}
        model: {base_channels: \(channels), latent_dim: 16}
        training: {epochs: 1, batch_size: \(batch)}
        ablate:
          attention: {model.attention: spatial}
        seeds: [1, 2]
        \(executor)
        """
    }

    private func workspace(_ files: [String: String]) throws -> Workspace {
        let w = try Workspace("slurm-plan")
        addTeardownBlock { w.remove() }
        for (name, text) in files { try w.write(name, text) }
        return w
    }

    /// sbatch argument lines of the human script, one array of arguments per job.
    private func sbatchCommands(_ stdout: String) -> [String] {
        stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("job_") && $0.contains("=$(sbatch ") }
    }

    func testHumanPlanShowsTheTableThenOneSbatchPerStepToRun() throws {
        let w = try workspace(["tiny.yaml": Self.experiment()])
        let result = try w.run(["plan", "tiny.yaml", "--executor", "slurm", "--partition", "debug", "--time", "30",
                                "--cores", "2", "--store", "shared-store"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("Plan for tiny (tiny.yaml) against store shared-store"), result.stdout)
        let storePath = w.dir.appendingPathComponent("shared-store").standardizedFileURL.path
        XCTAssertTrue(result.stdout.contains("Slurm: "), result.stdout)
        XCTAssertTrue(result.stdout.contains("(store \(storePath))"), result.stdout)

        // generate, clean, split, 4 train, 4 evaluate (+ report, if this runner can run it).
        let commands = sbatchCommands(result.stdout)
        XCTAssertGreaterThanOrEqual(commands.count, 11, result.stdout)
        for command in commands {
            for flag in ["--parsable", "--cpus-per-task=", "--mem=", "--partition=debug", "--time=30",
                         "--output=\(storePath)/steps/", "--open-mode=append"] {
                XCTAssertTrue(command.contains(flag), "\(flag) missing in \(command)")
            }
        }
        let train = try XCTUnwrap(commands.first { $0.contains("tiny:train[attention, seed 2]") })
        XCTAssertTrue(train.contains("--cpus-per-task=2"), train)
        XCTAssertTrue(train.contains("\"--dependency=afterok:${job_") && train.contains("--kill-on-invalid-dep=yes"), train)
        let generate = try XCTUnwrap(commands.first { $0.contains("--job-name=tiny:generate") })
        XCTAssertFalse(generate.contains("--dependency"), generate)
        XCTAssertTrue(result.stdout.contains("exec \(RunnerBinary.url!.path) step "), "the job runs the same runner")

        // The script is valid bash; nothing was submitted or written.
        let script = try w.write("plan.sh", String(result.stdout[result.stdout.range(of: "#!/bin/bash")!.lowerBound...]))
        let bash = Process()
        bash.executableURL = URL(fileURLWithPath: "/bin/bash")
        bash.arguments = ["-n", script.path]
        try bash.run(); bash.waitUntilExit()
        XCTAssertEqual(bash.terminationStatus, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: storePath), "plan writes no store")
    }

    func testJSONIsThePlanWithTheJobsInASlurmField() throws {
        let w = try workspace(["tiny.yaml": Self.experiment(batch: 8, channels: 16)])
        let result = try w.run(["plan", "tiny.yaml", "--executor", "slurm", "--json", "-o", "saved.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        // Still a plan for `Plan.decode` (and the saved plan has no Slurm field).
        let plan = try Plan.decode(jsonData: Data(result.stdout.utf8))
        XCTAssertEqual(plan, try Plan.decode(jsonData: Data(contentsOf: w.dir.appendingPathComponent("saved.json"))))
        XCTAssertFalse(try String(contentsOf: w.dir.appendingPathComponent("saved.json"), encoding: .utf8).contains("\"slurm\""))

        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let slurm = try XCTUnwrap(json["slurm"] as? [String: Any])
        let jobs = try XCTUnwrap(slurm["jobs"] as? [[String: Any]])
        let notSubmitted = (slurm["not_submitted"] as? [[String: Any]]) ?? []
        XCTAssertEqual(jobs.count + notSubmitted.count, plan.stepsToRun.count)
        XCTAssertEqual(slurm["retries"] as? Int, 2)
        XCTAssertTrue((slurm["script"] as? String)?.hasPrefix("#!/bin/bash") ?? false)

        let byKey = Dictionary(uniqueKeysWithValues: jobs.map { ($0["key"] as! String, $0) })
        var position: [String: Int] = [:]
        for (i, job) in jobs.enumerated() { position[job["key"] as! String] = i }
        for step in plan.stepsToRun {
            guard let job = byKey[step.key] else { continue }
            XCTAssertEqual(job["name"] as? String, step.name)
            XCTAssertEqual(job["cores"] as? Int, step.cores)
            XCTAssertGreaterThan(job["memory_mb"] as? Int ?? 0, 0, "\(step.name) has a memory estimate")
            let arguments = try XCTUnwrap(job["arguments"] as? [String])
            XCTAssertTrue(arguments.contains("--mem=\(job["memory_mb"] as! Int)M"), "\(arguments)")
            // Dependencies are exactly its inputs that also run, and come earlier.
            let dependsOn = try XCTUnwrap(job["depends_on"] as? [String])
            XCTAssertEqual(Set(dependsOn), Set(step.inputs.values).intersection(byKey.keys), step.name)
            for key in dependsOn { XCTAssertLessThan(position[key]!, position[step.key]!, step.name) }
            XCTAssertTrue((job["script"] as? String)?.contains("step \(step.key) --store ") ?? false)
        }
        let trainJob = try XCTUnwrap(jobs.first { ($0["name"] as? String)?.hasPrefix("train[") ?? false })
        let generateJob = try XCTUnwrap(jobs.first { $0["name"] as? String == "generate" })
        XCTAssertGreaterThan(trainJob["memory_mb"] as! Int, generateJob["memory_mb"] as! Int, "training holds the most")
    }

    /// `--mem` from the estimate grows with the batch and the model width; `--mem` overrides it,
    /// and a `--mem…` among the extra sbatch arguments replaces it.
    func testMemoryFollowsTheEstimateUnlessTheUserSetsIt() throws {
        func trainMemory(_ yaml: String, _ extra: [String] = []) throws -> [String] {
            let w = try workspace(["e.yaml": yaml])
            let result = try w.run(["plan", "e.yaml", "--executor", "slurm"] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            let train = try XCTUnwrap(sbatchCommands(result.stdout).first { $0.contains(":train[") }, result.stdout)
            return train.split(separator: " ").map(String.init).filter { $0.hasPrefix("--mem") }
        }
        func mb(_ flags: [String]) -> Int { Int(flags.first!.dropFirst("--mem=".count).dropLast()) ?? -1 }
        // (Wide enough that no estimate sits on the 256 MiB floor.)
        let small = try trainMemory(Self.experiment(batch: 2, channels: 16))
        let biggerBatch = try trainMemory(Self.experiment(batch: 16, channels: 16))
        let wider = try trainMemory(Self.experiment(batch: 2, channels: 32))
        XCTAssertGreaterThan(mb(biggerBatch), mb(small))
        XCTAssertGreaterThan(mb(wider), mb(small))
        XCTAssertEqual(try trainMemory(Self.experiment(), ["--mem", "3G"]), ["--mem=3072M"])
        XCTAssertEqual(try trainMemory(Self.experiment(), ["--sbatch-arg=--mem-per-cpu=900M"]), ["--mem-per-cpu=900M"])
    }

    /// An experiment's `executor: {slurm: …}` selects Slurm without the flag; `--executor local` overrides it.
    func testExperimentExecutorSelectsSlurmAndTheFlagWins() throws {
        let yaml = Self.experiment(executor: """
            executor:
              slurm: {partition: gpu, account: nirdot, qos: short, time: "1:00:00", extra_args: ["--constraint=avx512"], retries: 1}
            """)
        let w = try workspace(["e.yaml": yaml])
        let result = try w.run(["plan", "e.yaml"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let commands = sbatchCommands(result.stdout)
        XCTAssertFalse(commands.isEmpty, result.stdout)
        for command in commands {
            for flag in ["--partition=gpu", "--account=nirdot", "--qos=short", "--time=1:00:00", "--constraint=avx512"] {
                XCTAssertTrue(command.contains(flag), "\(flag) missing in \(command)")
            }
        }
        XCTAssertTrue(result.stdout.contains("resubmits a failed job up to 1 time."), result.stdout)
        let flagged = try w.run(["plan", "e.yaml", "--partition", "debug"])
        XCTAssertTrue(sbatchCommands(flagged.stdout).allSatisfy { $0.contains("--partition=debug") && !$0.contains("--partition=gpu") })
        let local = try w.run(["plan", "e.yaml", "--executor", "local"])
        XCTAssertEqual(local.status, 0, local.stderr)
        XCTAssertTrue(sbatchCommands(local.stdout).isEmpty)
        XCTAssertFalse(local.stdout.contains("Slurm:"))
    }

    func testBadSlurmOptionsAreRefused() throws {
        let w = try workspace(["tiny.yaml": Self.experiment()])
        for (flags, message) in [(["--time", "1h"], "time limit '1h'"), (["--mem", "lots"], "--mem 'lots'"),
                                 (["--sbatch-arg", "constraint=avx512"], "must be an option"),
                                 (["--partition", "two words"], "partition 'two words'")] {
            let result = try w.run(["plan", "tiny.yaml", "--executor", "slurm"] + flags)
            XCTAssertNotEqual(result.status, 0, "\(flags)")
            XCTAssertEqual(result.stdout, "", "\(flags)")
            XCTAssertTrue(result.stderr.contains(message), "\(flags): \(result.stderr)")
        }
        let local = try w.run(["plan", "tiny.yaml", "--executor", "local", "--mem", "4G"])
        XCTAssertTrue(local.stderr.contains("need --executor slurm"), local.stderr)
        let graph = try w.run(["plan", "tiny.yaml", "--executor", "slurm", "--graph", "dot"])
        XCTAssertTrue(graph.stderr.contains("pick one"), graph.stderr)
    }
}
