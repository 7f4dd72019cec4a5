import XCTest
import Planner

final class PlannerSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
