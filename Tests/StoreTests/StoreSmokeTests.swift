import XCTest
import Store

final class StoreSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
