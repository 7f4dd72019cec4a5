import XCTest
@testable import RunnerCLI

final class RunnerCLISmokeTests: XCTestCase {
    func testModuleLinks() {}
}
