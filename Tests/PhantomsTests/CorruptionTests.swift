import Foundation
import Phantoms
import XCTest

final class CorruptionTests: XCTestCase {
    /// Bytes overwritten anywhere in a phantom file — header, chunk index, compressed data — give
    /// either the phantom back or a typed error; cleaning turns the latter into a rejection.
    func testRandomCorruptionNeverCrashes() throws {
        let dir = try temporaryDirectory(self)
        let phantom = PhantomGenerator(size: 32, seed: 4).phantom(1)
        let original = try Data(contentsOf: PhantomIO.write(phantom, to: dir))
        var rng = SplitMix64(seed: 77, stream: 0)
        var sources: [PhantomSource] = []
        var errors = 0
        for k in 0..<120 {
            var data = original
            let start = rng.below(data.count)
            for i in start..<min(data.count, start + 1 + rng.below(16)) { data[i] = UInt8(truncatingIfNeeded: rng.next()) }
            let url = dir.appendingPathComponent("c\(k).h5")
            try data.write(to: url)
            sources.append(PhantomSource(id: k, url: url))
            do { _ = try PhantomIO.read(url) } catch is PhantomFileError { errors += 1 }
        }
        XCTAssertGreaterThan(errors, 0)
        let result = try Cleaning.clean(sources, rules: CleaningRules(), threads: 2)
        XCTAssertEqual(result.accepted.count + result.rejected.count, 120)
    }
}
