import Foundation

/// Writes JSON for responses straight into bytes: keys sorted, NaN and ±∞ as protobuf JSON's strings.
/// Several times faster than `JSONSerialization` on Linux, which mattered for `runs/search` (100 runs
/// with their params, tags and metrics per page).
enum JSONWriter {
    static func encode(_ value: Any) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(4096)
        write(value, into: &out)
        return out
    }

    private static let hex = Array("0123456789abcdef".utf8)

    static func write(_ value: Any, into out: inout [UInt8]) {
        switch value {
        case let s as String: writeString(s, into: &out)
        case let b as Bool: out += b ? Array("true".utf8) : Array("false".utf8)
        case let i as Int: out += Array(String(i).utf8)
        case let i as Int64: out += Array(String(i).utf8)
        case let i as Int32: out += Array(String(i).utf8)
        case let u as UInt64: out += Array(String(u).utf8)
        case let d as Double: writeDouble(d, into: &out)
        case let f as Float: writeDouble(Double(f), into: &out)
        case let o as [String: Any]:
            out.append(UInt8(ascii: "{"))
            var first = true
            for key in o.keys.sorted() {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(o[key]!, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case let a as [Any]:
            out.append(UInt8(ascii: "["))
            for (i, element) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case is NSNull: out += Array("null".utf8)
        case let n as NSNumber: writeDouble(n.doubleValue, into: &out)
        default: writeString("\(value)", into: &out)
        }
    }

    static func writeDouble(_ d: Double, into out: inout [UInt8]) {
        if d.isNaN { out += Array("\"NaN\"".utf8); return }
        if d.isInfinite { out += Array((d > 0 ? "\"Infinity\"" : "\"-Infinity\"").utf8); return }
        if d == d.rounded(), abs(d) < 1e15 { out += Array(String(Int64(d)).utf8); return }
        out += Array("\(d)".utf8)
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
