import XCTest
import Spec
import Foundation

final class SpecSmokeTests: XCTestCase {
    func testRoundTrip() throws {
        var e = Experiment(name: "x")
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        print(String(decoding: try enc.encode(e), as: UTF8.self))
        for s in [ScheduleSpec.constant, .default, .phases([LRPhase(epochs: 3, lr: 1e-4)]), .onecycle(OneCycleSchedule()), .cosine(CosineSchedule())] {
            e.schedule = s
            e.optimizer.weightDecay = .scheduled(from: 5e-4, to: 1e-5, shape: .linear)
            e.gate = ["rmse": GateRule(max: 0.083, maxRegression: .relative(0.02), against: .variant("baseline"))]
            e.executor = .slurm(SlurmSpec(partition: "p"))
            e.model.attention = AttentionSpec(layers: [true, false, false, true])
            let d = try enc.encode(e)
            XCTAssertEqual(try JSONDecoder().decode(Experiment.self, from: d), e)
            print(String(decoding: try enc.encode(e.schedule), as: UTF8.self))
        }
    }
}
