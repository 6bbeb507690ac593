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

    /// Reads the image file at `url` (a multi-page TIFF becomes a volume). DICOM is read as
    /// `dicomValues`: presentation values by default, as training and display use them.
    public static func read(_ url: URL, dicomValues: DICOMValues = .presentation) throws(ImagingError) -> MedicalImage {
        let bytes = try readFile(url)
        if detect(bytes) == .tiff {
            if let (w, h) = RasterReader.declaredSize(bytes, format: .tiff), w * h > ImagingLimits.maxSamples {
                throw .tooLarge(source: url.path, reason: "the header declares \(w) x \(h) pixels, more than the limit of \(ImagingLimits.maxSamples)")
            }
            return try RasterReader.readPages(path: url.path, source: url.path)
        }
        return try read(bytes, source: url.path, dicomValues: dicomValues)
    }

    /// Reads an image from memory; `source` names it in errors.
    public static func read(_ bytes: [UInt8], source: String, dicomValues: DICOMValues = .presentation) throws(ImagingError) -> MedicalImage {
        _ = ImagingLimits.installDefault
        guard !bytes.isEmpty else { throw .unreadable(source: source, reason: "the file is empty") }
        guard let format = detect(bytes) else {
            throw .unsupportedFormat(source: source, reason: "not DICOM, NIfTI, PNG, JPEG, BMP, WebP or TIFF (first bytes: \(bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")))")
        }
        switch format {
        case .dicom: return try DICOMReader.read(bytes, source: source, values: dicomValues)
        case .nifti: return try NIfTIReader.read(bytes, source: source)
        default: return try RasterReader.read(bytes, format: format, source: source)
        }
    }

    /// The file's bytes, refusing folders and files beyond `ImagingLimits.maxFileBytes` (plain POSIX
    /// calls: one open, one fstat, reads; Foundation's file APIs cost several system calls more per file).
    public static func readFile(_ url: URL) throws(ImagingError) -> [UInt8] {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .io(path: url.path, reason: errno == ENOENT ? "no such file" : "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(path: url.path, reason: "cannot stat: \(String(cString: strerror(errno)))") }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw .io(path: url.path, reason: "is a folder, not a file") }
        let size = Int(info.st_size)
        if size > ImagingLimits.maxFileBytes {
            throw .tooLarge(source: url.path, reason: "\(size) bytes is beyond the limit of \(ImagingLimits.maxFileBytes)")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, size - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            done += n
        }
        return done == size ? bytes : Array(bytes.prefix(done))
    }
}
