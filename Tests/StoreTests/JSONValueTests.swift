import Foundation
import Store
import XCTest

final class JSONValueTests: XCTestCase {
    func testObjectKeysAreSortedWhateverTheInputOrder() throws {
        let a = try JSONValue(jsonData: Data(#"{"b": 1, "a": {"z": true, "y": null}}"#.utf8))
        let b = try JSONValue(jsonData: Data(#"{"a": {"y": null, "z": true}, "b": 1}"#.utf8))
        XCTAssertEqual(a.canonicalText, #"{"a":{"y":null,"z":true},"b":1}"#)
        XCTAssertEqual(a.canonicalText, b.canonicalText)
    }

    func testIntegralNumbersPrintWithoutFraction() throws {
        let one = try JSONValue(jsonData: Data("1".utf8))
        let onePointZero = try JSONValue(jsonData: Data("1.0".utf8))
        XCTAssertEqual(one.canonicalText, "1")
        XCTAssertEqual(onePointZero.canonicalText, "1")
        XCTAssertEqual(JSONValue.number(-3).canonicalText, "-3")
        XCTAssertEqual(JSONValue.number(0.0001).canonicalText, "0.0001")
        XCTAssertEqual(JSONValue.number(5e-05).canonicalText, "5e-05")
        XCTAssertEqual(JSONValue.number(1e20).canonicalText, "1e+20")
        XCTAssertNotEqual(JSONValue.number(0.1).canonicalText, JSONValue.number(0.10000000000000002).canonicalText)
    }

    func testStringsAreEscaped() {
        let s = JSONValue.string("a\"b\\c\nd\te\u{01}é")
        XCTAssertEqual(s.canonicalText, #""a\"b\\c\nd\te\u0001é""#)
        // The canonical text parses back to the same value.
        XCTAssertEqual(try JSONValue(jsonData: s.canonicalData), s)
    }

    func testRoundTripThroughCodable() throws {
        let value = JSONValue.object(["lr": .number(0.001), "layers": .array([.number(1), .number(2)]),
                                      "name": .string("x"), "on": .bool(false), "none": .null])
        let data = try JSONEncoder().encode(value)
        XCTAssertEqual(try JSONDecoder().decode(JSONValue.self, from: data), value)
        XCTAssertEqual(try JSONValue(jsonData: value.canonicalData), value)
    }

    func testDottedPathLookup() {
        let v = JSONValue.object(["optimizer": .object(["lr": .number(1e-4)])])
        XCTAssertEqual(v[path: "optimizer.lr"], .number(1e-4))
        XCTAssertNil(v[path: "optimizer.beta"])
        XCTAssertNil(v[path: "optimizer.lr.x"])
    }

    func testDifferencesListLeafPathsWithOldAndNewValues() {
        let old = JSONValue.object(["optimizer": .object(["lr": .number(5e-05), "name": .string("adamw")]),
                                    "seed": .number(1), "gone": .bool(true)])
        let new = JSONValue.object(["optimizer": .object(["lr": .number(1e-4), "name": .string("adamw")]),
                                    "seed": .number(1), "added": .array([.number(1)])])
        let diffs = JSONValue.differences(from: old, to: new)
        XCTAssertEqual(diffs.map(\.path), ["added", "gone", "optimizer.lr"])
        XCTAssertEqual(diffs[0].old, nil); XCTAssertEqual(diffs[0].new, .array([.number(1)]))
        XCTAssertEqual(diffs[1].old, .bool(true)); XCTAssertEqual(diffs[1].new, nil)
        XCTAssertEqual(diffs[2].old?.canonicalText, "5e-05"); XCTAssertEqual(diffs[2].new?.canonicalText, "0.0001")
        XCTAssertTrue(JSONValue.differences(from: old, to: old).isEmpty)
    }
}
