import XCTest
import Steps

final class StepsSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
