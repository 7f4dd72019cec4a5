import XCTest
import RunnerCLI

final class RunnerCLISmokeTests: XCTestCase {
    func testModuleLinks() {}
}
