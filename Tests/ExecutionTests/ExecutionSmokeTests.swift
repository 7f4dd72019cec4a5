import XCTest
import Execution

final class ExecutionSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
