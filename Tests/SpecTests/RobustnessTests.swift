import Foundation
import XCTest
import Spec

/// Bad input gets diagnostics, never a crash: thousands of deterministic mutations of the shipped
/// files (characters deleted, duplicated, replaced; lines swapped) either load or throw a
/// `SpecError` whose every diagnostic has a position inside a file that was read.
final class RobustnessTests: XCTestCase {
    /// SplitMix64: a fixed, seedable sequence (no global random state).
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    static let alphabet = Array(" \n\t:-{}[],.#&*!|>'\"0123456789eE-+abcdefghijklmnopqrstuvwxyz_")

    static func mutate(_ text: String, _ rng: inout SplitMix64) -> String {
        var chars = Array(text)
        for _ in 0..<(1 + rng.below(3)) where !chars.isEmpty {
            let i = rng.below(chars.count)
            switch rng.below(5) {
            case 0: chars.remove(at: i)
            case 1: chars.insert(chars[i], at: i)
            case 2: chars[i] = alphabet[rng.below(alphabet.count)]
            case 3: chars.insert(alphabet[rng.below(alphabet.count)], at: i)
            default:
                var lines = String(chars).split(separator: "\n", omittingEmptySubsequences: false)
                let a = rng.below(lines.count), b = rng.below(lines.count)
                lines.swapAt(a, b)
                chars = Array(lines.joined(separator: "\n"))
            }
        }
        return String(chars)
    }

    func testMutatedFilesNeverCrash() throws {
        let dir = try ScratchDirectory()
        let baseline = try String(contentsOf: Repo.experiments.appendingPathComponent("stage1-baseline.yaml"), encoding: .utf8)
        try dir.write("stage1-baseline.yaml", baseline)
        let seeds = ["stage1-ablation.yaml", "quickstart.yaml", "ci-regression.yaml"]
        var rng = SplitMix64(state: 20_261_127)
        var accepted = 0, rejected = 0
        for name in seeds {
            let original = try String(contentsOf: Repo.experiments.appendingPathComponent(name), encoding: .utf8)
            for i in 0..<150 {
                let text = Self.mutate(original, &rng)
                let path = try dir.write("m\(i).yaml", text)
                do {
                    _ = try ExperimentLoader.load(path: path)
                    accepted += 1
                } catch let error as SpecError {
                    rejected += 1
                    XCTAssertFalse(error.diagnostics.isEmpty)
                    for d in error.diagnostics {
                        let loc = try XCTUnwrap(d.location, "no position: \(d.message)\n--- \(name) mutation \(i):\n\(text)")
                        XCTAssertTrue(loc.file == path || loc.file.hasSuffix("stage1-baseline.yaml"), loc.file)
                        XCTAssertGreaterThanOrEqual(loc.line, 1)
                        XCTAssertGreaterThanOrEqual(loc.column, 1)
                    }
                    XCTAssertFalse(error.description.isEmpty)
                } catch {
                    XCTFail("\(name) mutation \(i) threw \(type(of: error)): \(error)")
                }
            }
        }
        print("mutations: \(accepted) accepted, \(rejected) rejected")
        XCTAssertGreaterThan(rejected, 150, "most mutations should be caught")
        XCTAssertGreaterThan(accepted, 20, "mutations inside comments and descriptions are harmless")
    }
}
