// The safetensors file format (https://github.com/huggingface/safetensors), pure Swift:
//   8 bytes little-endian u64 N · N bytes of JSON header · raw little-endian tensor bytes.
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the end of the header) plus an optional "__metadata__" map of string → string.
// We write names sorted, data packed in that order, the header padded with spaces to 8 bytes.
import Foundation

public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32", u8 = "U8"

    public var byteWidth: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .u8: return 1
        }
    }
}

public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case truncated(String)
    case badHeader(String)
    case unsupportedDType(name: String, dtype: String)
    case badTensor(name: String, reason: String)
    case missingTensor(String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .truncated(let why): return "safetensors: truncated file: \(why)"
        case .badHeader(let why): return "safetensors: bad header: \(why)"
        case .unsupportedDType(let name, let dtype): return "safetensors: tensor '\(name)' has unsupported dtype \(dtype)"
        case .badTensor(let name, let reason): return "safetensors: tensor '\(name)': \(reason)"
        case .missingTensor(let name): return "safetensors: no tensor named '\(name)'"
        case .io(let path, let reason): return "safetensors: \(path): \(reason)"
        }
    }
}

/// One tensor: dtype, shape and its raw little-endian bytes.
public struct SafetensorsTensor: Equatable, Sendable {
    public var dtype: SafetensorsDType
    public var shape: [Int]
    public var bytes: [UInt8]

    public var count: Int { shape.reduce(1, *) }

    public init(dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw SafetensorsError.badTensor(name: "?", reason: "negative dimension in \(shape)") }
        guard bytes.count == shape.reduce(1, *) * dtype.byteWidth else {
            throw SafetensorsError.badTensor(name: "?", reason: "\(bytes.count) bytes for shape \(shape) of \(dtype.rawValue)")
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Float32 values stored as F32 (or converted to F16 / BF16, round to nearest even).
    public init(floats: [Float], shape: [Int], as dtype: SafetensorsDType = .f32) {
        precondition(floats.count == shape.reduce(1, *), "value count \(floats.count) does not match shape \(shape)")
        self.shape = shape
        self.dtype = dtype
        var out = [UInt8]()
        out.reserveCapacity(floats.count * dtype.byteWidth)
        switch dtype {
        case .f32:
            for v in floats { appendLE(&out, UInt64(v.bitPattern), 4) }
        case .f16:
            for v in floats { appendLE(&out, UInt64(HalfConversion.floatToHalf(v)), 2) }
        case .bf16:
            for v in floats { appendLE(&out, UInt64(HalfConversion.floatToBFloat(v)), 2) }
        case .f64:
            for v in floats { appendLE(&out, Double(v).bitPattern, 8) }
        default:
            preconditionFailure("floats cannot be stored as \(dtype.rawValue)")
        }
        self.bytes = out
    }

    public init(int64s: [Int64], shape: [Int]) {
        precondition(int64s.count == shape.reduce(1, *), "value count \(int64s.count) does not match shape \(shape)")
        self.shape = shape
        self.dtype = .i64
        var out = [UInt8]()
        out.reserveCapacity(int64s.count * 8)
        for v in int64s { appendLE(&out, UInt64(bitPattern: v), 8) }
        self.bytes = out
    }

    /// Values as Float32, converting F16 / BF16 / F64 / integer types.
    public func floats() -> [Float] {
        let n = count
        var out = [Float](repeating: 0, count: n)
        bytes.withUnsafeBufferPointer { b in
            for i in 0..<n {
                switch dtype {
                case .f32: out[i] = Float(bitPattern: UInt32(truncatingIfNeeded: readLE(b, i * 4, 4)))
                case .f64: out[i] = Float(Double(bitPattern: readLE(b, i * 8, 8)))
                case .f16: out[i] = HalfConversion.halfToFloat(UInt16(truncatingIfNeeded: readLE(b, i * 2, 2)))
                case .bf16: out[i] = Float(bitPattern: UInt32(truncatingIfNeeded: readLE(b, i * 2, 2)) << 16)
                case .i64: out[i] = Float(Int64(bitPattern: readLE(b, i * 8, 8)))
                case .i32: out[i] = Float(Int32(bitPattern: UInt32(truncatingIfNeeded: readLE(b, i * 4, 4))))
                case .u8: out[i] = Float(b[i])
                }
            }
        }
        return out
    }

    /// Values as Int64 (integer dtypes only; floats are truncated toward zero).
    public func int64s() -> [Int64] {
        switch dtype {
        case .i64:
            return bytes.withUnsafeBufferPointer { b in (0..<count).map { Int64(bitPattern: readLE(b, $0 * 8, 8)) } }
        case .i32:
            return bytes.withUnsafeBufferPointer { b in (0..<count).map { Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: readLE(b, $0 * 4, 4)))) } }
        case .u8:
            return bytes.map { Int64($0) }
        default:
            return floats().map { Int64($0) }
        }
    }
}

/// A whole safetensors file: named tensors and string metadata.
public struct SafetensorsFile: Equatable, Sendable {
    public var tensors: [String: SafetensorsTensor]
    public var metadata: [String: String]

    public init(tensors: [String: SafetensorsTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public subscript(name: String) -> SafetensorsTensor? {
        get { tensors[name] }
        set { tensors[name] = newValue }
    }

    public func tensor(_ name: String) throws -> SafetensorsTensor {
        guard let t = tensors[name] else { throw SafetensorsError.missingTensor(name) }
        return t
    }

    public func floats(_ name: String) throws -> [Float] { try tensor(name).floats() }

    // MARK: reading

    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SafetensorsError.io(path: url.path, reason: error.localizedDescription)
        }
        try self.init(bytes: [UInt8](data))
    }

    public init(bytes: [UInt8]) throws {
        guard bytes.count >= 8 else { throw SafetensorsError.truncated("\(bytes.count) bytes, need at least 8") }
        let headerLength = bytes.withUnsafeBufferPointer { readLE($0, 0, 8) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw SafetensorsError.truncated("header length \(headerLength) exceeds file size \(bytes.count)")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerObject: Any
        do {
            headerObject = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd]))
        } catch {
            throw SafetensorsError.badHeader("not JSON (\(error.localizedDescription))")
        }
        guard let header = headerObject as? [String: Any] else { throw SafetensorsError.badHeader("not a JSON object") }
        let dataSize = bytes.count - headerEnd
        var tensors = [String: SafetensorsTensor]()
        var metadata = [String: String]()
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw SafetensorsError.badHeader("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw SafetensorsError.badHeader("__metadata__.\(k) is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw SafetensorsError.badTensor(name: name, reason: "entry is not an object") }
            guard let dtypeName = entry["dtype"] as? String else { throw SafetensorsError.badTensor(name: name, reason: "missing dtype") }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else { throw SafetensorsError.unsupportedDType(name: name, dtype: dtypeName) }
            guard let shapeValues = entry["shape"] as? [Any], let shape = intArray(shapeValues), shape.allSatisfy({ $0 >= 0 }) else {
                throw SafetensorsError.badTensor(name: name, reason: "shape is not a list of non-negative integers")
            }
            guard let offsetValues = entry["data_offsets"] as? [Any], let offsets = intArray(offsetValues), offsets.count == 2 else {
                throw SafetensorsError.badTensor(name: name, reason: "data_offsets is not [begin, end]")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw SafetensorsError.badTensor(name: name, reason: "data_offsets [\(begin), \(end)] outside the \(dataSize)-byte data section")
            }
            let expected = shape.reduce(1, *) * dtype.byteWidth
            guard end - begin == expected else {
                throw SafetensorsError.badTensor(name: name, reason: "\(end - begin) bytes for shape \(shape) of \(dtypeName) (expected \(expected))")
            }
            tensors[name] = try SafetensorsTensor(dtype: dtype, shape: shape, bytes: Array(bytes[(headerEnd + begin)..<(headerEnd + end)]))
        }
        self.init(tensors: tensors, metadata: metadata)
    }

    // MARK: writing

    /// The file's bytes: names sorted, data packed in that order.
    public func serialized() -> [UInt8] {
        var header = "{"
        var first = true
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            header += metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
            header += "}"
            first = false
        }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            if !first { header += "," }
            first = false
            let shape = t.shape.map(String.init).joined(separator: ",")
            header += "\(jsonString(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}"
            offset += t.bytes.count
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + headerBytes.count + offset)
        appendLE(&out, UInt64(headerBytes.count), 8)
        out += headerBytes
        for name in names { out += tensors[name]!.bytes }
        return out
    }

    /// Writes atomically: a temporary file in the same directory, then a rename.
    public func write(to url: URL) throws {
        do {
            try Data(serialized()).write(to: url, options: .atomic)
        } catch {
            throw SafetensorsError.io(path: url.path, reason: error.localizedDescription)
        }
    }
}

// MARK: helpers

private func intArray(_ values: [Any]) -> [Int]? {
    var out = [Int]()
    for v in values {
        if let n = v as? Int { out.append(n) } else if let n = v as? NSNumber { out.append(n.intValue) } else { return nil }
    }
    return out
}

private func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out + "\""
}

@inline(__always) private func appendLE(_ out: inout [UInt8], _ value: UInt64, _ width: Int) {
    for i in 0..<width { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
}

@inline(__always) private func readLE(_ b: UnsafeBufferPointer<UInt8>, _ at: Int, _ width: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<width { v |= UInt64(b[at + i]) << (8 * UInt64(i)) }
    return v
}

/// IEEE half and bfloat16 conversions (round to nearest even), independent of platform Float16.
public enum HalfConversion {
    public static func floatToBFloat(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let rounding: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            // zero or subnormal: mantissa · 2^-24
            let v = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -v : v
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }

    public static func floatToHalf(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        if f.isNaN { return sign | 0x7E00 }
        let a = abs(f)
        if a >= 65520 { return sign | 0x7C00 }  // rounds to infinity
        if a < Float(sign: .plus, exponent: -14, significand: 1) {
            // subnormal half: round a / 2^-24 to nearest even integer
            let q = (a * Float(sign: .plus, exponent: 24, significand: 1)).rounded(.toNearestOrEven)
            return sign | UInt16(q)
        }
        let exponent = Int((bits >> 23) & 0xFF) - 127 + 15
        var mantissa = bits & 0x7F_FFFF
        var e = UInt32(exponent)
        // round to nearest even on the 13 dropped bits
        let dropped = mantissa & 0x1FFF
        mantissa >>= 13
        if dropped > 0x1000 || (dropped == 0x1000 && (mantissa & 1) == 1) {
            mantissa += 1
            if mantissa == 0x400 { mantissa = 0; e += 1 }
        }
        return sign | UInt16(e << 10) | UInt16(mantissa)
    }
}
