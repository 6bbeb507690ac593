import CImaging
import Foundation

/// Reads any supported image, choosing the reader by the file's content (magic bytes), not its name.
public enum ImageReader {
    /// Detects the format of `bytes`; nil when no reader recognises it.
    public static func detect(_ bytes: [UInt8]) -> ImageFormat? {
        func at(_ offset: Int, _ magic: [UInt8]) -> Bool {
            bytes.count >= offset + magic.count && Array(bytes[offset..<offset + magic.count]) == magic
        }
        // First: a DICOM preamble may itself hold a TIFF header (dual-personality files).
        if at(128, Array("DICM".utf8)) { return .dicom }
        if at(0, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if at(0, [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if at(0, [0x49, 0x49, 0x2A, 0x00]) || at(0, [0x4D, 0x4D, 0x00, 0x2A]) || at(0, [0x49, 0x49, 0x2B, 0x00]) { return .tiff }
        if at(0, Array("RIFF".utf8)) && at(8, Array("WEBP".utf8)) { return .webp }
        if at(0, [0x1F, 0x8B]) { return .nifti }  // gzip: only NIfTI is read compressed
        if NIfTIReader.looksLikeNIfTI(bytes) { return .nifti }
        if at(0, Array("BM".utf8)) && bytes.count >= 26 { return .bmp }
        if DICOMReader.looksLikeBareDataSet(bytes) { return .dicom }
        return nil
    }

    /// Reads the image file at `url` (a multi-page TIFF becomes a volume).
    public static func read(_ url: URL) throws(ImagingError) -> MedicalImage {
        let bytes = try readFile(url)
        if detect(bytes) == .tiff {
            return try RasterReader.readPages(path: url.path, source: url.path)
        }
        return try read(bytes, source: url.path)
    }

    /// Reads an image from memory; `source` names it in errors.
    public static func read(_ bytes: [UInt8], source: String) throws(ImagingError) -> MedicalImage {
        _ = ImagingLimits.installDefault
        guard !bytes.isEmpty else { throw .unreadable(source: source, reason: "the file is empty") }
        guard let format = detect(bytes) else {
            throw .unsupportedFormat(source: source, reason: "not DICOM, NIfTI, PNG, JPEG, BMP, WebP or TIFF (first bytes: \(bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")))")
        }
        switch format {
        case .dicom: return try DICOMReader.read(bytes, source: source)
        case .nifti: return try NIfTIReader.read(bytes, source: source)
        default: return try RasterReader.read(bytes, format: format, source: source)
        }
    }

    /// The file's bytes, refusing files beyond `ImagingLimits.maxFileBytes`.
    public static func readFile(_ url: URL) throws(ImagingError) -> [UInt8] {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: url.path) } catch {
            throw .io(path: url.path, reason: "no such file")
        }
        if (attributes[.type] as? FileAttributeType) == .typeDirectory { throw .io(path: url.path, reason: "is a folder, not a file") }
        if let size = attributes[.size] as? Int, size > ImagingLimits.maxFileBytes {
            throw .tooLarge(source: url.path, reason: "\(size) bytes is beyond the limit of \(ImagingLimits.maxFileBytes)")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else { throw .io(path: url.path, reason: "cannot read the file") }
        return [UInt8](data)
    }
}
