import XCTest
@testable import Spec

final class SpecSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
