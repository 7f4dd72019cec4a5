/// Every step kind this runner ships (data steps in Steps/Data/, training in Steps/Training/,
/// the report in Steps/Report/).
enum StandardSteps {
    static var all: [any StepImplementation] {
        [GenerateStep(), IngestStep(), CleanStep(), SplitStep(), TrainStep(), EvaluateStep(), ReportStep()]
    }
}
