import Foundation

/// The sample type of a `MedicalImage`'s pixels.
public enum PixelType: String, Codable, Sendable, CaseIterable {
    case uint8, int16, uint16, float32

    /// Bytes per sample.
    public var size: Int {
        switch self {
        case .uint8: return 1
        case .int16, .uint16: return 2
        case .float32: return 4
        }
    }

    /// Bits per sample, as `lumen image info` reports it.
    public var bits: Int { size * 8 }
}

/// The file format an image was read from.
public enum ImageFormat: String, Codable, Sendable {
    case dicom, nifti, png, jpeg, bmp, webp, tiff
}

/// A display window (DICOM Window Center/Width), in the image's (modality) units.
public struct Window: Codable, Sendable, Equatable {
    public var center: Double
    public var width: Double
    public init(center: Double, width: Double) {
        self.center = center
        self.width = width
    }
}

/// Pixels with the geometry and provenance a medical image needs: a 2-D image (`depth` 1) or a volume,
/// stored depth × height × width × channels with channels interleaved, plus spacing (millimetres),
/// origin (millimetres, patient coordinates), direction cosines, modality and the source's tags.
public struct MedicalImage: Sendable {
    public var width: Int
    public var height: Int
    /// Slices of a volume or frames of a multi-frame file; 1 for a 2-D image.
    public var depth: Int
    public var channels: Int
    public var pixelType: PixelType
    /// Raw samples in native byte order, `width × height × depth × channels × pixelType.size` bytes.
    public var data: [UInt8]
    /// Distance between samples along x (columns), y (rows) and z (slices), in millimetres.
    public var spacing: [Double] = [1, 1, 1]
    /// Position of the first sample in patient coordinates, in millimetres.
    public var origin: [Double] = [0, 0, 0]
    /// Direction cosines of the x, y and z axes, row-major 3 × 3.
    public var direction: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    /// DICOM modality (CT, MR, CR, DX, …) when known.
    public var modality: String?
    public var format: ImageFormat
    /// The window the source suggests for display.
    public var window: Window?
    /// Attributes of the source (DICOM keywords, NIfTI header fields, raster properties).
    public var tags: [String: String] = [:]

    public init(width: Int, height: Int, depth: Int = 1, channels: Int = 1, pixelType: PixelType, data: [UInt8], format: ImageFormat) {
        self.width = width
        self.height = height
        self.depth = depth
        self.channels = channels
        self.pixelType = pixelType
        self.data = data
        self.format = format
    }

    /// A float32 image from values laid out depth × height × width × channels.
    public init(width: Int, height: Int, depth: Int = 1, channels: Int = 1, floats: [Float], format: ImageFormat = .tiff) {
        precondition(floats.count == width * height * depth * channels, "pixel count does not match the size")
        self.init(width: width, height: height, depth: depth, channels: channels, pixelType: .float32,
                  data: floats.withUnsafeBytes { Array($0) }, format: format)
    }

    /// Samples in the image: width × height × depth × channels.
    public var count: Int { width * height * depth * channels }
    public var isVolume: Bool { depth > 1 }

    /// Every sample as Float, in storage order.
    public func floats() -> [Float] {
        var out = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            switch pixelType {
            case .uint8: for i in 0..<count { out[i] = Float(raw[i]) }
            case .int16:
                let p = raw.bindMemory(to: Int16.self)
                for i in 0..<count { out[i] = Float(p[i]) }
            case .uint16:
                let p = raw.bindMemory(to: UInt16.self)
                for i in 0..<count { out[i] = Float(p[i]) }
            case .float32:
                let p = raw.bindMemory(to: Float.self)
                for i in 0..<count { out[i] = p[i] }
            }
        }
        return out
    }

    /// The value range (minimum, maximum) over all samples; (0, 0) for an empty image.
    public func valueRange() -> (min: Float, max: Float) {
        let values = floats()
        guard var lo = values.first else { return (0, 0) }
        var hi = lo
        for v in values where !v.isNaN {
            if v < lo { lo = v }
            if v > hi { hi = v }
        }
        return (lo, hi)
    }

    /// One slice (or frame) of a volume as a 2-D image with the same metadata.
    public func slice(_ index: Int) throws(ImagingError) -> MedicalImage {
        guard index >= 0, index < depth else {
            throw .invalidArgument("slice \(index) is outside 0..<\(depth)")
        }
        let bytes = width * height * channels * pixelType.size
        var image = self
        image.depth = 1
        image.data = Array(data[index * bytes..<(index + 1) * bytes])
        return image
    }
}
