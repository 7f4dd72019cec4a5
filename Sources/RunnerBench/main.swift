// `RunnerBench [group…]` runs the named benchmark groups (all when none is named).
let groups = Set(CommandLine.arguments.dropFirst())
func wanted(_ group: String) -> Bool { groups.isEmpty || groups.contains(group) }

if wanted("phantoms") { try runPhantomsBenchmarks() }
if wanted("planner") { try runPlannerBenchmarks() }
if wanted("apply") { try runApplyBenchmarks() }
// `RunnerBench [area …]` runs the benchmarks of the named areas (all when none is named).
let areas = Set(CommandLine.arguments.dropFirst())
if areas.isEmpty || areas.contains("tensor") { runTensorBenchmarks() }
