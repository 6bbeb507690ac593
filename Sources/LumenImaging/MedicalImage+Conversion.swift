import Foundation

extension MedicalImage {
    /// The same image with samples converted to `type` (rounded and clamped to its range).
    public func converted(to type: PixelType) -> MedicalImage {
        if type == pixelType { return self }
        var image = self
        image.pixelType = type
        image.data = MedicalImage.encode(doubles(), as: type)
        return image
    }

    /// Samples as raw bytes of `type`, rounded and clamped to the type's range.
    public static func encode(_ values: [Float], as type: PixelType) -> [UInt8] {
        if type == .float32 { return values.withUnsafeBytes { Array($0) } }
        return encode(values.map(Double.init), as: type)
    }

    /// Samples as raw bytes of `type`, rounded and clamped to the type's range.
    public static func encode(_ values: [Double], as type: PixelType) -> [UInt8] {
        func clamp<T: FixedWidthInteger>(_: T.Type) -> [UInt8] {
            let lo = Double(T.min), hi = Double(T.max)
            return values.map { v -> T in v.isNaN ? 0 : T(min(max(v.rounded(), lo), hi)) }.withUnsafeBytes { Array($0) }
        }
        switch type {
        case .uint8: return clamp(UInt8.self)
        case .int16: return clamp(Int16.self)
        case .uint16: return clamp(UInt16.self)
        case .int32: return clamp(Int32.self)
        case .uint32: return clamp(UInt32.self)
        case .float32: return values.map { Float($0) }.withUnsafeBytes { Array($0) }
        case .float64: return values.withUnsafeBytes { Array($0) }
        }
    }

    /// A float64 copy with every sample replaced by `transform(sample)` (exact for every input type).
    public func mapDoubles(_ transform: (Double) -> Double) -> MedicalImage {
        var image = self
        image.pixelType = .float64
        image.data = doubles().map(transform).withUnsafeBytes { Array($0) }
        return image
    }

    /// The narrowest of int16, int32 and float64 that holds every sample of this (float64) image exactly.
    public func narrowedExactly() -> MedicalImage {
        let values = doubles()
        guard values.allSatisfy({ $0 == $0.rounded() }) else { return pixelType == .float64 ? self : converted(to: .float64) }
        let lo = values.min() ?? 0, hi = values.max() ?? 0
        if lo >= -32768 && hi <= 32767 { return converted(to: .int16) }
        if lo >= Double(Int32.min) && hi <= Double(Int32.max) { return converted(to: .int32) }
        return pixelType == .float64 ? self : converted(to: .float64)
    }

    /// A float32 copy with every sample replaced by `transform(sample)`.
    public func mapValues(_ transform: (Float) -> Float) -> MedicalImage {
        var image = self
        image.pixelType = .float32
        image.data = floats().map(transform).withUnsafeBytes { Array($0) }
        return image
    }
}
