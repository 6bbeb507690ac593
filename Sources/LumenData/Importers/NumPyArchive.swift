import Foundation
import LumenImaging

/// A NumPy array read from `.npy` bytes: shape, dtype and raw little-endian data.
public struct NumPyArray: Sendable {
    public var shape: [Int]
    /// NumPy's type string without byte order: `u1`, `i2`, `f4`, `b1`, …
    public var kind: String
    public var data: [UInt8]

    public var count: Int { shape.reduce(1, *) }

    /// Elements as doubles (integers, floats, booleans).
    public func doubles() throws(DataError) -> [Double] {
        let n = count
        return data.withUnsafeBytes { p -> [Double] in
            func load<T>(_: T.Type, _ f: (T) -> Double) -> [Double] { (0..<n).map { f(p.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) } }
            switch kind {
            case "u1", "b1": return load(UInt8.self) { Double($0) }
            case "i1": return load(Int8.self) { Double($0) }
            case "u2": return load(UInt16.self) { Double($0) }
            case "i2": return load(Int16.self) { Double($0) }
            case "u4": return load(UInt32.self) { Double($0) }
            case "i4": return load(Int32.self) { Double($0) }
            case "i8": return load(Int64.self) { Double($0) }
            case "u8": return load(UInt64.self) { Double($0) }
            case "f4": return load(Float.self) { Double($0) }
            default: return load(Double.self) { $0 }
            }
        }
    }

    /// Parses a `.npy` file (format 1.x–3.x, little-endian or single-byte types, C order).
    public static func parse(_ b: [UInt8], source: String) throws(DataError) -> NumPyArray {
        guard b.count >= 10, b[0] == 0x93, Array(b[1..<6]) == Array("NUMPY".utf8) else { throw .invalidSource(path: source, reason: "not a .npy array") }
        let major = b[6]
        let (headerLength, start) = major == 1 ? (Int(b[8]) | Int(b[9]) << 8, 10) : (b.count >= 12 ? Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24 : -1, 12)
        guard headerLength > 0, start + headerLength <= b.count else { throw .invalidSource(path: source, reason: ".npy header is truncated") }
        let header = String(decoding: b[start..<start + headerLength], as: UTF8.self)
        func field(_ name: String) -> String? {
            guard let r = header.range(of: "'\(name)':") else { return nil }
            return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descrField = field("descr"), let q1 = descrField.firstIndex(of: "'"),
              let q2 = descrField[descrField.index(after: q1)...].firstIndex(of: "'") else { throw .invalidSource(path: source, reason: ".npy header has no descr") }
        let descr = String(descrField[descrField.index(after: q1)..<q2])
        guard !(field("fortran_order")?.hasPrefix("True") ?? false) else { throw .invalidSource(path: source, reason: "Fortran-ordered arrays are not supported") }
        guard descr.first != ">" || descr.hasSuffix("1") else { throw .invalidSource(path: source, reason: "big-endian arrays are not supported") }
        let kind = String(descr.drop { "<>|=".contains($0) })
        let sizes = ["u1": 1, "i1": 1, "b1": 1, "u2": 2, "i2": 2, "u4": 4, "i4": 4, "f4": 4, "u8": 8, "i8": 8, "f8": 8]
        guard let size = sizes[kind] else { throw .invalidSource(path: source, reason: "dtype \(descr) is not supported") }
        guard let shapeField = field("shape"), let open = shapeField.firstIndex(of: "("), let close = shapeField.firstIndex(of: ")") else {
            throw .invalidSource(path: source, reason: ".npy header has no shape")
        }
        let shape = shapeField[shapeField.index(after: open)..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        var count = 1
        for d in shape {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard d >= 0, !o, p <= ImagingLimits.maxSamples * 16 else { throw .invalidSource(path: source, reason: "shape \(shape) is too large") }
            count = p
        }
        let dataStart = start + headerLength
        guard b.count - dataStart >= count * size else {
            throw .invalidSource(path: source, reason: "array data is truncated (\(b.count - dataStart) bytes, \(count * size) expected)")
        }
        return NumPyArray(shape: shape, kind: kind, data: Array(b[dataStart..<dataStart + count * size]))
    }
}

/// The arrays of a NumPy `.npz` file (a zip archive, stored or deflated).
public enum NumPyArchive {
    public static func read(_ url: URL) throws(DataError) -> [String: NumPyArray] {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw .io(path: url.path, reason: "cannot read the file") }
        let b = [UInt8](data)
        func u16(_ o: Int) -> Int { o + 2 <= b.count ? Int(b[o]) | Int(b[o + 1]) << 8 : 0 }
        func u32(_ o: Int) -> Int { o + 4 <= b.count ? u16(o) | u16(o + 2) << 16 : 0 }
        // End of central directory: the last "PK\5\6".
        var eocd = -1
        var i = b.count - 22
        while i >= max(0, b.count - 22 - 65_536) {
            if b[i] == 0x50 && b[i + 1] == 0x4B && b[i + 2] == 5 && b[i + 3] == 6 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw .invalidSource(path: url.path, reason: "not a .npz (zip) archive") }
        var arrays: [String: NumPyArray] = [:]
        var p = u32(eocd + 16)
        for _ in 0..<u16(eocd + 10) {
            guard p + 46 <= b.count, u32(p) == 0x0201_4B50 else { throw .invalidSource(path: url.path, reason: "corrupt zip central directory") }
            let method = u16(p + 10), compressed = u32(p + 20), uncompressed = u32(p + 24)
            let nameLength = u16(p + 28), extra = u16(p + 30), comment = u16(p + 32), local = u32(p + 42)
            guard p + 46 + nameLength <= b.count else { throw .invalidSource(path: url.path, reason: "corrupt zip central directory") }
            let name = String(decoding: b[p + 46..<p + 46 + nameLength], as: UTF8.self)
            p += 46 + nameLength + extra + comment
            guard local + 30 <= b.count, u32(local) == 0x0403_4B50 else { throw .invalidSource(path: url.path, reason: "corrupt zip entry \(name)") }
            let start = local + 30 + u16(local + 26) + u16(local + 28)
            guard compressed >= 0, start + compressed <= b.count else { throw .invalidSource(path: url.path, reason: "zip entry \(name) is truncated") }
            let raw = Array(b[start..<start + compressed])
            let bytes: [UInt8]
            switch method {
            case 0: bytes = raw
            case 8:
                do { bytes = try Compression.inflate(raw, raw: true, limit: max(uncompressed, 1), source: "\(url.path):\(name)") } catch {
                    throw .invalidSource(path: url.path, reason: "\(name): \(error)")
                }
            default: throw .invalidSource(path: url.path, reason: "zip entry \(name) uses compression method \(method)")
            }
            let key = name.hasSuffix(".npy") ? String(name.dropLast(4)) : name
            arrays[key] = try NumPyArray.parse(bytes, source: "\(url.path):\(name)")
        }
        return arrays
    }
}
