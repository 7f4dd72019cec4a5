import XCTest
@testable import Execution

final class ExecutionSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
