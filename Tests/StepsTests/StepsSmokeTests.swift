import XCTest
@testable import Steps

final class StepsSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
