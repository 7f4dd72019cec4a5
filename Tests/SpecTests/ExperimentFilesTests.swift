import Foundation
import XCTest
import Spec

/// Every shipped experiment loads without a diagnostic and says what it should.
final class ExperimentFilesTests: XCTestCase {
    func testEveryExperimentFileLoads() throws {
        let files = Repo.experimentFiles()
        XCTAssertGreaterThanOrEqual(files.count, 20, "experiments/ should hold the baseline, ablations, quickstart, ci")
        for path in files {
            do {
                let loaded = try ExperimentLoader.load(path: path)
                XCTAssertFalse(loaded.variants.isEmpty, path)
                XCTAssertEqual(loaded.sources.first?.path, path)
            } catch {
                XCTFail("\(path) does not load:\n\(error)")
            }
        }
    }
}
