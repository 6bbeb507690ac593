import CImaging
import Foundation

/// A parsed DICOM file: its attributes by keyword, and its pixels on demand (DCMTK, OpenJPEG).
public final class DICOMFile {
    let handle: OpaquePointer
    public let source: String
    /// Top-level attributes by DICOM keyword (multi-values joined by `\`), bulk data left out.
    public let attributes: [String: String]
    /// File meta information (group 0002) by keyword.
    public let meta: [String: String]

    /// Parses `bytes`; fails with a precise reason for anything that is not DICOM.
    public init(_ bytes: [UInt8], source: String) throws(ImagingError) {
        var err = ci_error()
        let opened = bytes.withUnsafeBufferPointer { ci_dicom_open($0.baseAddress, Int64($0.count), &err) }
        guard let opened, err.failed == 0 else { throw .unreadable(source: source, reason: Native.message(err)) }
        handle = opened
        self.source = source
        var attributes: [String: String] = [:]
        var meta: [String: String] = [:]
        var listError = ci_error()
        let listed = ci_dicom_attributes(opened, &listError)
        if listed == nil && listError.failed != 0 { _ = Native.message(listError) }  // no attributes: read as none (the message is freed)
        if let text = listed {
            defer { ci_free(text) }
            for line in String(cString: text).split(separator: "\n") {
                let fields = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
                guard fields.count == 4 else { continue }
                let keyword = String(fields[1])
                let value = String(fields[3]).trimmingCharacters(in: .whitespaces)
                if fields[0].hasPrefix("meta:") { meta[keyword] = value } else if fields[0].hasPrefix("xfer:") { meta[keyword] = value } else { attributes[keyword] = value }
            }
        }
        self.attributes = attributes
        self.meta = meta
    }

    deinit { ci_dicom_free(handle) }

    public subscript(_ keyword: String) -> String? { attributes[keyword].flatMap { $0.isEmpty ? nil : $0 } }

    /// The numbers of a (multi-valued) numeric attribute.
    public func numbers(_ keyword: String) -> [Double] {
        (self[keyword] ?? "").split(separator: "\\").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// The transfer syntax UID the pixels were stored with.
    public var transferSyntax: String { meta["TransferSyntaxUID"] ?? "1.2.840.10008.1.2" }

    /// Decoded stored values (before the modality LUT), with the photometric interpretation after decoding.
    /// Internal: the C struct stays inside the module (callers get `MedicalImage`).
    func storedPixels() throws(ImagingError) -> (pixels: ci_pixels, photometric: String) {
        var pixels = ci_pixels()
        try Native.call(Native.readError(source)) { err in ci_dicom_pixels(handle, &pixels, err) }
        let photometric = withUnsafeBytes(of: pixels.photometric) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return (pixels, photometric.trimmingCharacters(in: .whitespaces))
    }

    /// Item `index` of the Modality LUT Sequence (`voi` false) or the VOI LUT Sequence (`voi` true);
    /// nil when the file has none, an error when it is malformed.
    public func lookupTable(voi: Bool, index: Int = 0) throws(ImagingError) -> LookupTable? {
        var lut = ci_lut()
        var err = ci_error()
        let found = ci_dicom_lut(handle, Int32(voi ? CI_LUT_VOI : CI_LUT_MODALITY), Int32(index), &lut, &err)
        defer { ci_free(lut.data) }
        if found < 0 || err.failed != 0 { throw .unreadable(source: source, reason: Native.message(err)) }
        guard found == 1, let data = lut.data else { return nil }
        let values = (0..<Int(lut.entries)).map { Int(data[$0]) }
        return LookupTable(firstMapped: Int(lut.first_mapped), bits: Int(lut.bits), values: values)
    }
}

/// Which values a DICOM image is read as.
public enum DICOMValues: String, Sendable, CaseIterable {
    /// The stored values, as pydicom's `pixel_array` gives them.
    case stored
    /// Modality values (PS3.3 C.11.1): the Modality LUT Sequence when present, Rescale Slope/Intercept
    /// otherwise, as pydicom's `apply_modality_lut` computes them (Hounsfield units for CT). Never
    /// inverted: MONOCHROME1 says how to display values, not what they measure.
    case modality
    /// Modality values with MONOCHROME1 inverted over their range, so that bright means dense in every
    /// image: what display and the training path (`ImageReader.read`) use.
    case presentation
}

/// DICOM images: every transfer syntax DCMTK decodes plus JPEG 2000; modality LUT applied (CT in
/// Hounsfield units), YBR converted to RGB, multi-frame as a volume, geometry in LPS.
public enum DICOMReader {
    /// True for a DICOM data set without preamble: an even group-0002/0008 tag first, and a plausible layout.
    public static func looksLikeBareDataSet(_ b: [UInt8]) -> Bool {
        guard b.count >= 12 else { return false }
        let group = UInt16(b[0]) | UInt16(b[1]) << 8
        let groupBE = UInt16(b[0]) << 8 | UInt16(b[1])
        guard [0x0002, 0x0008].contains(group) || [0x0002, 0x0008].contains(groupBE) else { return false }
        let vr = String(decoding: b[4..<6], as: UTF8.self)
        let explicitVRs: Set<String> = ["AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT"]
        if explicitVRs.contains(vr) { return true }
        let length = UInt32(b[4]) | UInt32(b[5]) << 8 | UInt32(b[6]) << 16 | UInt32(b[7]) << 24
        return length < 1 << 16 || length == 0xFFFF_FFFF  // implicit VR: a sane first length
    }

    public static func read(_ bytes: [UInt8], source: String, values: DICOMValues = .presentation) throws(ImagingError) -> MedicalImage {
        _ = ImagingLimits.installDefault
        return try image(from: DICOMFile(bytes, source: source), values: values)
    }

    /// The image of a parsed file: presentation values (modality values, MONOCHROME1 inverted) or, with
    /// `modalityLUT` false, the stored values.
    public static func image(from file: DICOMFile, modalityLUT: Bool) throws(ImagingError) -> MedicalImage {
        try image(from: file, values: modalityLUT ? .presentation : .stored)
    }

    /// The image of a parsed file as `values`, with its geometry (LPS), windows and VOI LUT.
    public static func image(from file: DICOMFile, values: DICOMValues = .presentation) throws(ImagingError) -> MedicalImage {
        let (pixels, photometric) = try file.storedPixels()
        let (type, data) = Native.takePixels(pixels)
        var image = MedicalImage(width: Int(pixels.width), height: Int(pixels.height), depth: Int(pixels.frames),
                                 channels: Int(pixels.channels), pixelType: type, data: data, format: .dicom)
        if image.channels == 3 && photometric.hasPrefix("YBR_FULL") {
            image = convertYBRToRGB(image)
        }
        if values != .stored && image.channels == 1 {
            image = try modalityValues(image, file: file)
        }
        if values == .presentation && photometric == "MONOCHROME1" {
            let (lo, hi) = image.exactRange()
            image = image.mapDoubles { hi + lo - $0 }.converted(to: image.pixelType)
            image.tags["Inverted"] = "MONOCHROME1"
        }
        image.modality = file["Modality"]
        let pixelSpacing = file.numbers("PixelSpacing").isEmpty ? file.numbers("ImagerPixelSpacing") : file.numbers("PixelSpacing")
        if pixelSpacing.count >= 2 { image.spacing[0] = pixelSpacing[1]; image.spacing[1] = pixelSpacing[0] }
        if let z = (file.numbers("SpacingBetweenSlices").first ?? file.numbers("SliceThickness").first), z > 0 { image.spacing[2] = z }
        let position = file.numbers("ImagePositionPatient")
        if position.count == 3 && position.allSatisfy(\.isFinite) { image.origin = position }
        if let direction = Geometry.direction(imageOrientation: file.numbers("ImageOrientationPatient")) {
            image.direction = direction
        }
        if let center = file.numbers("WindowCenter").first, let width = file.numbers("WindowWidth").first, width > 0 {
            image.window = Window(center: center, width: width)
        }
        if image.channels == 1 {
            // Display only: a malformed VOI LUT is reported in the tags, and the values stay readable.
            do { image.voiLUT = try file.lookupTable(voi: true) } catch { image.tags["VOILUTError"] = "\(error)" }
        }
        var tags = file.attributes
        tags["TransferSyntaxUID"] = file.transferSyntax
        tags["TransferSyntaxName"] = file.meta["TransferSyntaxName"]
        tags["PhotometricInterpretationDecoded"] = photometric
        tags["Format"] = "DICOM"
        tags["Values"] = values.rawValue
        image.tags.merge(tags) { current, _ in current }
        return image
    }

    /// Stored values to modality values (PS3.3 C.11.1): the Modality LUT Sequence when present, else
    /// Rescale Slope/Intercept (a missing one taken as 1 or 0). Integers stay integers (int16, else
    /// int32); fractional results are float64, so nothing is rounded.
    static func modalityValues(_ image: MedicalImage, file: DICOMFile) throws(ImagingError) -> MedicalImage {
        if let lut = try file.lookupTable(voi: false) {
            var out = image.mapDoubles(lut.apply).converted(to: lut.outputType)
            out.tags["ModalityLUT"] = "Modality LUT Sequence (\(lut.values.count) entries from \(lut.firstMapped), \(lut.bits) bits)"
            return out
        }
        let slope = file.numbers("RescaleSlope").first ?? 1
        let intercept = file.numbers("RescaleIntercept").first ?? 0
        guard (slope != 1 || intercept != 0) && slope.isFinite && intercept.isFinite else { return image }
        return applyRescale(image, slope: slope, intercept: intercept)
    }

    /// Modality rescale: value × slope + intercept, computed in double precision; int16 or int32 when
    /// the results are integers that fit, float64 otherwise.
    static func applyRescale(_ image: MedicalImage, slope: Double, intercept: Double) -> MedicalImage {
        image.mapDoubles { $0 * slope + intercept }.narrowedExactly()
    }

    /// YCbCr (full range, ITU-R BT.601) to RGB, as pydicom's `convert_color_space` does it.
    static func convertYBRToRGB(_ image: MedicalImage) -> MedicalImage {
        guard image.pixelType == .uint8 else { return image }
        var out = image
        out.data = [UInt8](repeating: 0, count: image.data.count)
        let n = image.width * image.height * image.depth
        image.data.withUnsafeBufferPointer { src in
            out.data.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let y = Double(src[3 * i]), cb = Double(src[3 * i + 1]) - 128, cr = Double(src[3 * i + 2]) - 128
                    let rgb = [y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb]
                    for k in 0..<3 { dst[3 * i + k] = UInt8(min(max(rgb[k].rounded(), 0), 255)) }
                }
            }
        }
        out.tags["PhotometricInterpretationDecoded"] = "RGB"
        return out
    }
}
