import Foundation
import XCTest

/// Reads a file of Tests/ExecutionTests/Fixtures/slurm/ (captured by tools/capture-slurm-fixtures.sh).
func slurmFixture(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/slurm/" + name, withExtension: nil),
                            "missing fixture \(name)", file: file, line: line)
    return try String(contentsOf: url, encoding: .utf8)
}
