import Foundation

/// The sample type of a `MedicalImage`'s pixels; 32-bit integers and float64 hold what DICOM and NIfTI
/// store exactly (nothing is rounded through float32).
public enum PixelType: String, Codable, Sendable, CaseIterable {
    case uint8, int16, uint16, int32, uint32, float32, float64

    /// Bytes per sample.
    public var size: Int {
        switch self {
        case .uint8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64: return 8
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
///
/// **Patient coordinates are DICOM's LPS**, as in ITK: +x towards the patient's left, +y towards the
/// posterior, +z towards the head. Every reader converts into this frame (NIfTI's RAS has x and y
/// negated) and every writer converts out of it, so the voxel at column i, row j, slice k lies at
/// `origin + direction · diag(spacing) · (i, j, k)` (see `affine`).
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
    /// Centre of the first sample (column 0, row 0, slice 0) in LPS patient coordinates, in millimetres.
    public var origin: [Double] = [0, 0, 0]
    /// Direction cosines in LPS, row-major 3 × 3 with one **column** per image axis (ITK's and
    /// SimpleITK's `GetDirection()` layout): column 0 is the direction of increasing column index (x),
    /// column 1 of increasing row index (y), column 2 of increasing slice index (z).
    public var direction: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    /// DICOM modality (CT, MR, CR, DX, …) when known.
    public var modality: String?
    public var format: ImageFormat
    /// The window the source suggests for display (in modality units).
    public var window: Window?
    /// The VOI LUT the source suggests for display (DICOM VOI LUT Sequence); it takes precedence over
    /// `window`, as it does in pydicom's `apply_voi_lut`.
    public var voiLUT: LookupTable?
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

    /// Every sample as Float, in storage order (32-bit integers and float64 are rounded; see `doubles()`).
    public func floats() -> [Float] { samples(Float.self) }

    /// Every sample as Double, in storage order: exact for every pixel type.
    public func doubles() -> [Double] { samples(Double.self) }

    private func samples<T: BinaryFloatingPoint>(_: T.Type) -> [T] {
        var out = [T](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            func load<S>(_: S.Type, _ convert: (S) -> T) {
                let p = raw.bindMemory(to: S.self)
                for i in 0..<count { out[i] = convert(p[i]) }
            }
            switch pixelType {
            case .uint8: for i in 0..<count { out[i] = T(raw[i]) }
            case .int16: load(Int16.self) { T($0) }
            case .uint16: load(UInt16.self) { T($0) }
            case .int32: load(Int32.self) { T($0) }
            case .uint32: load(UInt32.self) { T($0) }
            case .float32: load(Float.self) { T($0) }
            case .float64: load(Double.self) { T($0) }
            }
        }
        return out
    }

    /// The value range (minimum, maximum) over all samples; (0, 0) for an empty image.
    public func valueRange() -> (min: Float, max: Float) {
        let (lo, hi) = exactRange()
        return (Float(lo), Float(hi))
    }

    /// The value range over all non-NaN samples, exact for every pixel type; (0, 0) for an empty image.
    public func exactRange() -> (min: Double, max: Double) {
        let values = doubles()
        guard var lo = values.first(where: { !$0.isNaN }) else { return (0, 0) }
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
