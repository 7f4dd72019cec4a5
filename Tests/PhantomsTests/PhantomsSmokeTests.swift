import XCTest
import Phantoms

final class PhantomsSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
