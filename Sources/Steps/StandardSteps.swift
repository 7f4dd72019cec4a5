/// The step implementations this runner ships (data steps live in Steps/Data/).
/// Training, evaluation and the report arrive with issue 4; until then the registry says so.
enum StandardSteps {
    static var all: [any StepImplementation] { [GenerateStep(), IngestStep(), CleanStep(), SplitStep(), TrainStep(), EvaluateStep()] }
}
