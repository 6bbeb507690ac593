import CImaging
import Foundation

/// Swift side of the CImaging bridge: error conversion and ownership of buffers handed out.
enum Native {
    /// Runs a bridge call; a failure becomes `ImagingError` built by `make` from the bridge's message.
    static func call(_ make: (String) -> ImagingError, _ body: (UnsafeMutablePointer<ci_error>) -> Int32) throws(ImagingError) {
        var err = ci_error()
        if body(&err) != 0 || err.failed != 0 {
            throw make(message(err))
        }
    }

    /// The bridge's message of a failed call; frees it (the caller owns it, once).
    static func message(_ err: ci_error) -> String {
        guard let text = err.message else { return "unknown error (no message: out of memory?)" }
        defer { free(text) }
        return String(cString: text)
    }

    /// Classifies a bridge message: a size-limit refusal is `.tooLarge`, anything else `.unreadable`.
    static func readError(_ source: String) -> (String) -> ImagingError {
        { reason in
            reason.contains("more than the limit") || reason.contains("CV_IO_MAX_IMAGE_PIXELS") || reason.contains("out of memory")
                ? .tooLarge(source: source, reason: reason) : .unreadable(source: source, reason: reason)
        }
    }

    /// Takes ownership of a malloc'ed buffer and copies it into an array.
    static func take(_ pointer: UnsafeMutablePointer<UInt8>?, _ length: Int64) -> [UInt8] {
        defer { ci_free(pointer) }
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
    }

    /// Takes decoded samples of any bridge type as one of `MedicalImage`'s pixel types (exactly: int8
    /// widens to int16, everything else is copied), then frees them.
    static func takePixels(_ p: ci_pixels) -> (PixelType, [UInt8]) {
        defer { ci_free(p.data) }
        let n = Int(p.width) * Int(p.height) * Int(p.frames) * Int(p.channels)
        guard let raw = p.data, n > 0 else { return (.uint8, []) }
        func copy(_ type: PixelType) -> (PixelType, [UInt8]) {
            (type, Array(UnsafeRawBufferPointer(start: raw, count: n * type.size)))
        }
        switch Int(p.type) {
        case Int(CI_U8): return copy(.uint8)
        case Int(CI_I8):
            let src = raw.bindMemory(to: Int8.self, capacity: n)
            return (.int16, (0..<n).map { Int16(src[$0]) }.withUnsafeBytes { Array($0) })
        case Int(CI_U16): return copy(.uint16)
        case Int(CI_I16): return copy(.int16)
        case Int(CI_U32): return copy(.uint32)
        case Int(CI_I32): return copy(.int32)
        case Int(CI_F32): return copy(.float32)
        default: return copy(.float64)
        }
    }

    static func bridgeType(_ type: PixelType) -> Int32 {
        switch type {
        case .uint8: return Int32(CI_U8)
        case .int16: return Int32(CI_I16)
        case .uint16: return Int32(CI_U16)
        case .int32: return Int32(CI_I32)
        case .uint32: return Int32(CI_U32)
        case .float32: return Int32(CI_F32)
        case .float64: return Int32(CI_F64)
        }
    }
}

/// Limits that protect a reader from files declaring absurd sizes.
public enum ImagingLimits {
    /// The most samples (width × height × depth × channels) a reader allocates; 2²⁸ by default
    /// (a 16,384² image, or a 512 × 512 × 1,024 volume).
    public static var maxSamples: Int {
        get { Int(ci_get_max_samples()) }
        set { ci_set_max_samples(Int64(newValue)) }
    }
    /// Installs the default limit once.
    static let installDefault: Void = {
        if ci_get_max_samples() == Int64(1) << 30 { ci_set_max_samples(Int64(1) << 28) }
    }()
    /// Largest file (compressed or not) a reader accepts: 4 GiB.
    public static let maxFileBytes = 4 << 30
}

/// gzip and deflate streams.
public enum Compression {
    /// Inflates gzip/zlib data (`raw` for a bare deflate stream), refusing results beyond `limit` bytes.
    public static func inflate(_ data: [UInt8], raw: Bool = false, limit: Int, source: String) throws(ImagingError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var length: Int64 = 0
        try Native.call(Native.readError(source)) { err in
            data.withUnsafeBufferPointer { ci_gunzip($0.baseAddress, Int64($0.count), raw ? 1 : 0, Int64(limit), &out, &length, err) }
        }
        return Native.take(out, length)
    }

    /// Compresses `data` as a gzip stream.
    public static func gzip(_ data: [UInt8], level: Int = 6) throws(ImagingError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var length: Int64 = 0
        try Native.call({ .invalidArgument("gzip: \($0)") }) { err in
            data.withUnsafeBufferPointer { ci_gzip($0.baseAddress, Int64($0.count), Int32(level), &out, &length, err) }
        }
        return Native.take(out, length)
    }
}
