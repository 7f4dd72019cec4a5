import XCTest
@testable import Phantoms

final class PhantomsSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
