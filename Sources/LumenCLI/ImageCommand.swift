import ArgumentParser
import Foundation
import LumenImaging

/// `lumen image info|convert`: look at any medical image, or hand it to another tool.
struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Inspect and convert DICOM, NIfTI and raster images.",
        subcommands: [Info.self, Convert.self]
    )

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what to check first: format, transfer syntax, modality, size, frames, bit depth, spacing, geometry, window, value range.",
            discussion: """
            The reader is chosen by content, not extension. A folder is read as one DICOM series (slices sorted \
            along the slice normal by Image Position). Values are modality values (Hounsfield units for CT, \
            never inverted for MONOCHROME1). Origin and direction cosines are in DICOM's LPS patient frame \
            (as ITK's); the orientation code names the direction each axis points to (LPS: the column index \
            grows towards the patient's left, the row index towards posterior, the slice index towards the \
            head; ITK's legacy code for the same frame is RAI). Exits 1 when any file cannot be read.
            """
        )
        @Argument(help: "Image files or DICOM series folders.") var files: [String]
        @Flag(help: "One JSON object per file, for scripts.") var json = false

        func run() throws {
            var failed = false
            var reports: [[String: String]] = []
            for path in files {
                do {
                    let image = try load(path, values: .modality)
                    let report = describe(image, path: path)
                    if json { reports.append(report) } else { printReport(report) }
                } catch {
                    failed = true
                    if json { reports.append(["path": path, "error": "\(error)"]) } else { FileHandle.standardError.write(Data("error: \(error)\n".utf8)) }
                }
            }
            if json {
                let data = try JSONSerialization.data(withJSONObject: files.count == 1 ? reports[0] as Any : reports as Any, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
            if failed { throw ExitCode(1) }
        }

        /// Text values for people; geometry and range also at full precision, numbers separated by spaces
        /// (`origin`, `direction` row-major, `spacing`, `min`, `max`), for scripts.
        func describe(_ image: MedicalImage, path: String) -> [String: String] {
            func exact(_ values: [Double]) -> String { values.map { "\($0)" }.joined(separator: " ") }
            var r: [String: String] = ["path": path, "format": image.tags["Format"] ?? image.format.rawValue]
            r["size"] = image.depth > 1 ? "\(image.width) x \(image.height) x \(image.depth)" : "\(image.width) x \(image.height)"
            r["channels"] = String(image.channels)
            r["frames"] = String(image.depth)
            r["pixel_type"] = image.pixelType.rawValue
            r["bit_depth"] = image.tags["BitsStored"] ?? String(image.pixelType.bits)
            r["spacing_mm"] = image.spacing.map { formatNumber($0) }.joined(separator: " x ")
            r["spacing"] = exact(image.spacing)
            r["origin"] = exact(image.origin)
            r["direction"] = exact(image.direction)
            r["origin_mm"] = "(" + image.origin.map { String(format: "%.4f", $0) }.joined(separator: ", ") + ") LPS"
            r["direction_cosines"] = (0..<3).map { c in "(" + (0..<3).map { String(format: "%.6f", image.direction[$0 * 3 + c]) }.joined(separator: ", ") + ")" }.joined(separator: " ")
            r["orientation"] = image.orientationCode
            r["orientation_text"] = "\(image.orientationCode) (axes point to; ITK legacy code \(Geometry.legacyITKCode(image.direction)))"
            let (lo, hi) = image.exactRange()
            r["value_range"] = "\(formatNumber(lo)) … \(formatNumber(hi))"
            r["min"] = exact([lo])
            r["max"] = exact([hi])
            if let m = image.modality { r["modality"] = m }
            if let w = image.window { r["window"] = "C \(formatNumber(w.center)) / W \(formatNumber(w.width))" + (image.tags["VOILUTFunction"].map { " \($0)" } ?? "") }
            if let lut = image.voiLUT { r["voi_lut"] = "\(lut.values.count) entries from \(lut.firstMapped), \(lut.bits) bits" }
            if let m = image.tags["ModalityLUT"] { r["modality_lut"] = m }
            if let ts = image.tags["TransferSyntaxUID"] { r["transfer_syntax"] = "\(image.tags["TransferSyntaxName"] ?? "") (\(ts))" }
            if let p = image.tags["PhotometricInterpretation"] { r["photometric"] = p }
            if let s = image.tags["RescaleSlope"], let i = image.tags["RescaleIntercept"] { r["rescale"] = "slope \(s), intercept \(i)" }
            if image.format == .dicom, image.tags["RescaleIntercept"] != nil, image.modality == "CT" { r["units"] = "HU" }
            if let g = image.tags["Geometry"] { r["geometry_note"] = g }
            return r
        }

        func printReport(_ r: [String: String]) {
            print(r["path"]!)
            let keys = ["format", "transfer_syntax", "modality", "size", "channels", "frames", "bit_depth", "pixel_type", "photometric", "spacing_mm",
                        "origin_mm", "direction_cosines", "orientation_text", "geometry_note", "rescale", "modality_lut", "units", "window", "voi_lut", "value_range"]
            for key in keys {
                if let v = r[key] {
                    let label = key == "orientation_text" ? "orientation" : key.replacingOccurrences(of: "_", with: " ")
                    print("  \(label.padding(toLength: 17, withPad: " ", startingAt: 0)) \(v)")
                }
            }
        }
    }

    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an image as .png (windowed), .nii/.nii.gz (geometry and modality values) or .npy (the exact decoded array).",
            discussion: """
            PNG: --window takes a preset (\(WindowPreset.allCases.map(\.rawValue).joined(separator: ", "))) or CENTER,WIDTH; \
            without it the file's own VOI LUT or window is used, else the value range; MONOCHROME1 is inverted for display. \
            NIfTI: modality values (Hounsfield units for CT), geometry converted from LPS to NIfTI's RAS (qform and sform). \
            NPY: DICOM stored values by default, modality values with --hu (never inverted), display values in 0…1 \
            (VOI LUT or window, before MONOCHROME1 inversion) with --voi.
            """
        )
        @Argument(help: "Input image (or DICOM series folder).") var input: String
        @Argument(help: "Output file: .png, .nii, .nii.gz or .npy.") var output: String
        @Option(help: "Display window for PNG: a preset or CENTER,WIDTH.") var window: String?
        @Flag(help: "NPY from DICOM: modality values (HU for CT) instead of stored values (NIfTI always holds them).") var hu = false
        @Flag(help: "NPY from DICOM: display values in 0…1 through the file's VOI LUT or window.") var voi = false
        @Option(help: "Slice of a volume to write as PNG (default: the middle one).") var slice: Int?

        func run() throws {
            let lower = output.lowercased()
            guard lower.hasSuffix(".png") || lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz") || lower.hasSuffix(".npy") else {
                throw CLIError("\(output): unknown output type; use .png, .nii, .nii.gz or .npy")
            }
            guard !(hu && voi) else { throw CLIError("--hu and --voi choose different values; give one") }
            let npy = lower.hasSuffix(".npy")
            let values: DICOMValues = npy && !hu && !voi && !isDirectory(input) ? .stored : .modality
            var image = try load(input, values: values)
            let bytes: [UInt8]
            if lower.hasSuffix(".png") {
                let chosen = try window.map { try WindowPreset.parse($0) }
                bytes = try ImageWriter.displayPNG(image, window: chosen, slice: slice ?? image.depth / 2)
            } else if npy {
                if voi {
                    guard image.channels == 1 else { throw CLIError("--voi needs a single-channel image") }
                    image.data = image.displayValues().withUnsafeBytes { Array($0) }
                    image.pixelType = .float64
                }
                bytes = ImageWriter.npy(image)
            } else {
                bytes = try ImageWriter.nifti(image, gzip: lower.hasSuffix(".gz"))
            }
            try ImageWriter.writeAtomically(bytes, to: URL(fileURLWithPath: output))
            print("wrote \(output) (\(image.width) x \(image.height)\(image.depth > 1 ? " x \(image.depth)" : ""), \(bytes.count) bytes)")
        }
    }
}

func isDirectory(_ path: String) -> Bool {
    var dir: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && dir.boolValue
}

/// Reads a file, or a folder as a DICOM series; DICOM as `values`.
func load(_ path: String, values: DICOMValues = .presentation) throws -> MedicalImage {
    let url = URL(fileURLWithPath: path)
    return isDirectory(path) ? try DICOMSeries.read(folder: url, values: values) : try ImageReader.read(url, dicomValues: values)
}
