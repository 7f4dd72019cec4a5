// `RunnerBench [area …]` runs the benchmarks of the named areas (all when none is named).
let areas = Set(CommandLine.arguments.dropFirst())
if areas.isEmpty || areas.contains("tensor") { runTensorBenchmarks() }
if areas.isEmpty || areas.contains("stage1") { runStage1Benchmarks() }
