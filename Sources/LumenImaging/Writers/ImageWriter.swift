import CImaging
import Foundation

/// Writes images for people and for other tools: PNG (8 or 16-bit, windowed), NIfTI (`.nii`, `.nii.gz`)
/// and NumPy `.npy` (the exact decoded array). Files are written atomically.
public enum ImageWriter {
    /// PNG of one slice: 8-bit through `window` (mapped to 0…255) or the raw values when they fit 8/16 bits.
    public static func png(_ image: MedicalImage, window: Window? = nil, slice: Int = 0) throws(ImagingError) -> [UInt8] {
        let plane = try image.depth > 1 ? image.slice(slice) : image
        let channels = plane.channels
        guard [1, 3, 4].contains(channels) else { throw .invalidArgument("PNG takes 1, 3 or 4 channels, the image has \(channels)") }
        let type: PixelType
        let data: [UInt8]
        if let window {
            type = .uint8
            data = MedicalImage.encode(plane.floats().map { window.apply($0) * 255 }, as: .uint8)
        } else if plane.pixelType == .uint8 || plane.pixelType == .uint16 {
            type = plane.pixelType
            data = plane.data
        } else {
            let (lo, hi) = plane.valueRange()
            type = .uint8
            let scale = hi > lo ? 255 / (hi - lo) : 0
            data = MedicalImage.encode(plane.floats().map { ($0 - lo) * scale }, as: .uint8)
        }
        return try encode(".png", data: data, width: plane.width, height: plane.height, channels: channels, type: type)
    }

    /// PNG of one slice for a person, following DICOM's display pipeline: modality values (as
    /// `DICOMValues.modality` reads them) through `window` when given, else the source's VOI LUT, else
    /// its window (with its VOI LUT Function), then MONOCHROME1 inverted, so bright means dense. An
    /// image with neither (or with colour) is written as `png(_:window:slice:)` writes it.
    public static func displayPNG(_ image: MedicalImage, window: Window? = nil, slice: Int = 0) throws(ImagingError) -> [UInt8] {
        var plane = try image.depth > 1 ? image.slice(slice) : image
        let monochrome1 = plane.tags["PhotometricInterpretation"] == "MONOCHROME1" && plane.channels == 1
        guard plane.channels == 1, window != nil || plane.window != nil || plane.voiLUT != nil else {
            if monochrome1 {
                let (lo, hi) = plane.exactRange()
                plane = plane.mapDoubles { hi + lo - $0 }.converted(to: plane.pixelType)
            }
            return try png(plane, slice: 0)
        }
        let values = plane.displayValues(window: window).map { monochrome1 ? 1 - $0 : $0 }
        return try encode(".png", data: MedicalImage.encode(values.map { $0 * 255 }, as: .uint8), width: plane.width,
                          height: plane.height, channels: 1, type: .uint8)
    }

    /// Encodes raw interleaved samples with OpenCV (`ext` ".png", ".jpg", ".tiff", ".bmp").
    public static func encode(_ ext: String, data: [UInt8], width: Int, height: Int, channels: Int, type: PixelType) throws(ImagingError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var length: Int64 = 0
        try Native.call({ .invalidArgument("cannot encode \(ext): \($0)") }) { err in
            data.withUnsafeBytes { ci_raster_encode(ext, $0.baseAddress, Int32(width), Int32(height), Int32(channels), Native.bridgeType(type), &out, &length, err) }
        }
        return Native.take(out, length)
    }

    /// A Part-10 DICOM file (explicit VR little endian) from attributes (keyword, value) and raw samples
    /// of `type` uint8, uint16 or int16.
    public static func dicom(attributes: [(String, String)], data: [UInt8], width: Int, height: Int, frames: Int = 1, channels: Int = 1, type: PixelType) throws(ImagingError) -> [UInt8] {
        let text = attributes.map { "\($0.0)\t\($0.1)" }.joined(separator: "\n")
        var out: UnsafeMutablePointer<UInt8>?
        var length: Int64 = 0
        try Native.call({ .invalidArgument("cannot write DICOM: \($0)") }) { err in
            data.withUnsafeBytes { ci_dicom_write(text, $0.baseAddress, Int32(width), Int32(height), Int32(frames), Int32(channels), Native.bridgeType(type), &out, &length, err) }
        }
        return Native.take(out, length)
    }

    /// NIfTI-1 single file. The image's LPS geometry is converted to NIfTI's RAS and written as both
    /// the qform (quaternion) and the sform (affine), code 1 (scanner), so that every reader (nibabel,
    /// ITK, viewers) sees the same, unmirrored placement; values are written as they are held
    /// (modality values such as Hounsfield units stay so: scl_slope 1, scl_inter 0).
    public static func nifti(_ image: MedicalImage, gzip: Bool) throws(ImagingError) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 352)
        func put<T>(_ value: T, _ offset: Int) { withUnsafeBytes(of: value) { for (i, b) in $0.enumerated() { header[offset + i] = b } } }
        put(Int32(348), 0)
        let dims: [Int16] = [image.channels > 1 ? 5 : (image.depth > 1 ? 3 : 2), Int16(clamping: image.width), Int16(clamping: image.height), Int16(clamping: image.depth), 1, Int16(clamping: image.channels), 1, 1]
        guard image.width <= 32767, image.height <= 32767, image.depth <= 32767 else { throw .invalidArgument("NIfTI-1 dimensions are limited to 32767") }
        for (i, d) in dims.enumerated() { put(d, 40 + 2 * i) }
        let (datatype, bitpix): (Int16, Int16) = switch image.pixelType {
        case .uint8: (2, 8)
        case .int16: (4, 16)
        case .uint16: (512, 16)
        case .int32: (8, 32)
        case .uint32: (768, 32)
        case .float32: (16, 32)
        case .float64: (64, 64)
        }
        put(datatype, 70)
        put(bitpix, 72)
        let ras = Geometry.rasAffine(image)
        let (quaternion, qfac) = Geometry.quaternion(ras)
        let pixdim: [Float] = [Float(qfac), Float(image.spacing[0]), Float(image.spacing[1]), Float(image.spacing[2]), 1, 1, 1, 1]
        for (i, p) in pixdim.enumerated() { put(p, 76 + 4 * i) }
        put(Float(352), 108)
        put(Float(1), 112)
        put(Float(0), 116)
        header[123] = 2  // xyzt_units: millimetres
        put(Int16(1), 252)  // qform_code: scanner
        put(Int16(1), 254)  // sform_code: scanner
        for (i, q) in quaternion.enumerated() { put(Float(q), 256 + 4 * i) }
        for r in 0..<3 { put(Float(ras[r * 4 + 3]), 268 + 4 * r) }
        for row in 0..<3 {
            for col in 0..<4 { put(Float(ras[row * 4 + col]), 280 + 16 * row + 4 * col) }
        }
        header.replaceSubrange(344..<348, with: Array("n+1\u{0}".utf8))
        // NIfTI wants x fastest, then y, z and channels last: de-interleave channels.
        var body: [UInt8]
        if image.channels == 1 {
            body = image.data
        } else {
            let size = image.pixelType.size, n = image.width * image.height * image.depth
            body = [UInt8](repeating: 0, count: image.data.count)
            for c in 0..<image.channels {
                for i in 0..<n {
                    for b in 0..<size { body[(c * n + i) * size + b] = image.data[(i * image.channels + c) * size + b] }
                }
            }
        }
        let file = header + body
        return gzip ? try Compression.gzip(file) : file
    }

    /// NumPy `.npy` (format 1.0): shape (depth, height, width[, channels]) without singleton depth.
    public static func npy(_ image: MedicalImage) -> [UInt8] {
        let descr = switch image.pixelType {
        case .uint8: "|u1"
        case .int16: "<i2"
        case .uint16: "<u2"
        case .int32: "<i4"
        case .uint32: "<u4"
        case .float32: "<f4"
        case .float64: "<f8"
        }
        var shape = image.depth > 1 ? [image.depth, image.height, image.width] : [image.height, image.width]
        if image.channels > 1 { shape.append(image.channels) }
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", "))\(shape.count == 1 ? "," : "")), }"
        let total = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        let length = UInt16(dict.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dict.utf8) + image.data
    }

    /// Writes `bytes` to `url` through a temporary file and a rename, so no partial file is left.
    public static func writeAtomically(_ bytes: [UInt8], to url: URL) throws(ImagingError) {
        do { try Data(bytes).write(to: url, options: .atomic) } catch {
            throw .io(path: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
