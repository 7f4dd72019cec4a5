// `RunnerBench [group…]` runs the named benchmark groups (all when none is named):
// phantoms, planner, apply, tensor.
let groups = Set(CommandLine.arguments.dropFirst())
func wanted(_ group: String) -> Bool { groups.isEmpty || groups.contains(group) }

if wanted("phantoms") { try runPhantomsBenchmarks() }
if wanted("planner") { try runPlannerBenchmarks() }
if wanted("apply") { try runApplyBenchmarks() }
if wanted("tensor") { runTensorBenchmarks() }
