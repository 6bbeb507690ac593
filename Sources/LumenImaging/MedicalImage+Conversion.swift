import Foundation

extension MedicalImage {
    /// The same image with samples converted to `type` (rounded and clamped to its range).
    public func converted(to type: PixelType) -> MedicalImage {
        if type == pixelType { return self }
        var image = self
        image.pixelType = type
        image.data = MedicalImage.encode(floats(), as: type)
        return image
    }

    /// Samples as raw bytes of `type`, rounded and clamped to the type's range.
    public static func encode(_ values: [Float], as type: PixelType) -> [UInt8] {
        func clamp<T: FixedWidthInteger>(_: T.Type) -> [UInt8] {
            let lo = Float(T.min), hi = Float(T.max)
            return values.map { v -> T in v.isNaN ? 0 : T(min(max(v.rounded(), lo), hi)) }.withUnsafeBytes { Array($0) }
        }
        switch type {
        case .uint8: return clamp(UInt8.self)
        case .int16: return clamp(Int16.self)
        case .uint16: return clamp(UInt16.self)
        case .float32: return values.withUnsafeBytes { Array($0) }
        }
    }

    /// A float32 copy with every sample replaced by `transform(sample)`.
    public func mapValues(_ transform: (Float) -> Float) -> MedicalImage {
        var image = self
        image.pixelType = .float32
        image.data = floats().map(transform).withUnsafeBytes { Array($0) }
        return image
    }
}
