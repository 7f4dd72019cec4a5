// `RunnerBench [group…]` runs the named benchmark groups (all when none is named):
// phantoms, planner, apply, store, tensor, stage1, experiments; `bf16` runs only the bf16 part of `tensor`.
let groups = Set(CommandLine.arguments.dropFirst())
func wanted(_ group: String) -> Bool { groups.isEmpty || groups.contains(group) }

if wanted("phantoms") { try runPhantomsBenchmarks() }
if wanted("planner") { try runPlannerBenchmarks() }
if wanted("apply") { try runApplyBenchmarks() }
if wanted("store") { try runStoreBench() }
if wanted("tensor") { runTensorBenchmarks() }
if wanted("stage1") { runStage1Benchmarks() }
if wanted("experiments") { try runExperimentsBenchmarks() }
if groups.contains("bf16") && !groups.contains("tensor") { runBF16Benchmarks() }
