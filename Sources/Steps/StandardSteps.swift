/// The step implementations this runner ships (data steps live in Steps/Data/).
/// Every step kind this runner ships; the report step is not built yet and the registry says so.
enum StandardSteps {
    static var all: [any StepImplementation] { [GenerateStep(), IngestStep(), CleanStep(), SplitStep(), TrainStep(), EvaluateStep()] }
}
