import XCTest
@testable import Planner

final class PlannerSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
