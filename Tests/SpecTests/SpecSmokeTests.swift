import XCTest
import Spec

final class SpecSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
