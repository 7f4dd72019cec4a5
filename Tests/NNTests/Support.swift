import Foundation
import NN
import Tensor
import XCTest

/// Golden files written by tools/make_golden.py.
enum Fixture {
    static func url(_ name: String) throws -> URL {
        guard let base = Bundle.module.resourceURL?.appendingPathComponent("Fixtures") else {
            throw SafetensorsError.io(path: name, reason: "no resource bundle")
        }
        return base.appendingPathComponent(name)
    }

    static func load(_ name: String) throws -> SafetensorsFile {
        try SafetensorsFile(contentsOf: url(name + ".safetensors"))
    }
}

extension SafetensorsFile {
    func tensor32(_ name: String) throws -> Tensor {
        let t = try tensor(name)
        return try Tensor(shape: t.shape, storage: t.floats())
    }

    func scalar(_ name: String) throws -> Double {
        let t = try tensor(name)
        if t.dtype == .f64 {
            return t.bytes.withUnsafeBytes { Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        }
        return Double(t.floats()[0])
    }

    func doubles(_ name: String) throws -> [Double] {
        let t = try tensor(name)
        guard t.dtype == .f64 else { return t.floats().map(Double.init) }
        return t.bytes.withUnsafeBytes { raw in (0..<t.count).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) } }
    }
}

/// max |a − b| ≤ tol · max |b| (normwise relative error, robust to near-zero elements).
func assertClose(_ a: [Float], _ b: [Float], rtol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): \(a.count) vs \(b.count) values", file: file, line: line)
    guard a.count == b.count else { return }
    var maxDiff = 0.0, maxRef = 0.0
    for i in 0..<a.count {
        maxDiff = max(maxDiff, abs(Double(a[i]) - Double(b[i])))
        maxRef = max(maxRef, abs(Double(b[i])))
    }
    XCTAssertLessThanOrEqual(maxDiff, rtol * max(maxRef, 1e-12), "\(what): max |diff| \(maxDiff), max |ref| \(maxRef)", file: file, line: line)
}

func assertClose(_ a: Tensor, _ b: Tensor, rtol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "\(what): shapes", file: file, line: line)
    assertClose(a.storage, b.storage, rtol: rtol, what, file: file, line: line)
}

func assertRelative(_ a: Double, _ b: Double, rtol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertLessThanOrEqual(abs(a - b), rtol * max(abs(b), 1e-12), "\(what): \(a) vs \(b)", file: file, line: line)
}
