import Foundation
import NN
import XCTest

/// SGD with Nesterov momentum (weight decay 0.01) against torch.optim.SGD(nesterov=True): five
/// steps, constant LR and one-cycle (which also cycles the momentum); parameters within 1e-4.
/// Fixtures: tools/make_golden.py (optimizer_case("sgd_nesterov", …)).
extension OptimizerGoldenTests {
    func runNesterovCase(_ name: String) throws {
        let f = try Fixture.load("optim_sgd_nesterov_\(name)")
        var params = ["w": try f.floats("init.w"), "b": try f.floats("init.b")]
        let optimizer = try SGD(SGDSettings(momentum: 0.9, nesterov: true))
        var scheduler = try LRScheduler(schedule(name), baseLR: Self.baseLR, totalSteps: Self.steps)
        let lrs = try f.doubles("lr")
        for s in 0..<Self.steps {
            XCTAssertEqual(scheduler.lr, lrs[s], accuracy: 1e-12 + 1e-9 * lrs[s], "nesterov/\(name) lr at step \(s)")
            let grads = ["w": try f.floats("grad.\(s).w"), "b": try f.floats("grad.\(s).b")]
            let hyper = StepHyperparameters(lr: scheduler.lr, weightDecay: 0.01, momentum: scheduler.momentum)
            try withSlots(&params, grads) { try optimizer.step($0, hyper) }
            try scheduler.afterOptimizerStep()
            for k in ["w", "b"] {
                assertClose(params[k]!, try f.floats("param.\(s).\(k)"), rtol: 1e-4, "nesterov/\(name) \(k) after step \(s)")
            }
        }
    }

    func testSGDNesterovMatchesPyTorch() throws {
        try runNesterovCase("constant")
        try runNesterovCase("onecycle")
    }

    func testNesterovDiffersFromPlainMomentumAndNeedsMomentum() throws {
        let f = try Fixture.load("optim_sgd_nesterov_constant")
        let plainFixture = try Fixture.load("optim_sgd_constant")
        // Same initial parameters and gradients in both fixtures (same torch seed), different updates.
        XCTAssertEqual(try f.floats("init.w"), try plainFixture.floats("init.w"))
        XCTAssertNotEqual(try f.floats("param.1.w"), try plainFixture.floats("param.1.w"))
        XCTAssertThrowsError(try SGD(SGDSettings(momentum: 0, nesterov: true)))
    }
}
