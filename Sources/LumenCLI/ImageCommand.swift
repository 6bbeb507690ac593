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
            abstract: "Print what to check first: format, transfer syntax, modality, size, frames, bit depth, spacing, window, value range.",
            discussion: "The reader is chosen by content, not extension. A folder is read as one DICOM series (slices sorted by Image Position). Exits 1 when any file cannot be read."
        )
        @Argument(help: "Image files or DICOM series folders.") var files: [String]
        @Flag(help: "One JSON object per file, for scripts.") var json = false

        func run() throws {
            var failed = false
            var reports: [[String: String]] = []
            for path in files {
                do {
                    let image = try load(path)
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

        func describe(_ image: MedicalImage, path: String) -> [String: String] {
            var r: [String: String] = ["path": path, "format": image.tags["Format"] ?? image.format.rawValue]
            r["size"] = image.depth > 1 ? "\(image.width) x \(image.height) x \(image.depth)" : "\(image.width) x \(image.height)"
            r["channels"] = String(image.channels)
            r["frames"] = String(image.depth)
            r["pixel_type"] = image.pixelType.rawValue
            r["bit_depth"] = image.tags["BitsStored"] ?? String(image.pixelType.bits)
            r["spacing_mm"] = image.spacing.map { formatNumber($0) }.joined(separator: " x ")
            let (lo, hi) = image.valueRange()
            r["value_range"] = "\(formatNumber(Double(lo))) … \(formatNumber(Double(hi)))"
            if let m = image.modality { r["modality"] = m }
            if let w = image.window { r["window"] = "C \(formatNumber(w.center)) / W \(formatNumber(w.width))" }
            if let ts = image.tags["TransferSyntaxUID"] { r["transfer_syntax"] = "\(image.tags["TransferSyntaxName"] ?? "") (\(ts))" }
            if let p = image.tags["PhotometricInterpretation"] { r["photometric"] = p }
            if let s = image.tags["RescaleSlope"], let i = image.tags["RescaleIntercept"] { r["rescale"] = "slope \(s), intercept \(i)" }
            if image.format == .dicom, image.tags["RescaleIntercept"] != nil, image.modality == "CT" { r["units"] = "HU" }
            return r
        }

        func printReport(_ r: [String: String]) {
            print(r["path"]!)
            for key in ["format", "transfer_syntax", "modality", "size", "channels", "frames", "bit_depth", "pixel_type", "photometric", "spacing_mm", "rescale", "units", "window", "value_range"] {
                if let v = r[key] { print("  \(key.replacingOccurrences(of: "_", with: " ").padding(toLength: 16, withPad: " ", startingAt: 0)) \(v)") }
            }
        }
    }

    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an image as .png (windowed), .nii/.nii.gz or .npy (the exact decoded array).",
            discussion: """
            PNG: --window takes a preset (\(WindowPreset.allCases.map(\.rawValue).joined(separator: ", "))) or CENTER,WIDTH; \
            without it the file's own window is used, else the value range. NPY: DICOM stored values by default, \
            modality values (Hounsfield units for CT) with --hu.
            """
        )
        @Argument(help: "Input image (or DICOM series folder).") var input: String
        @Argument(help: "Output file: .png, .nii, .nii.gz or .npy.") var output: String
        @Option(help: "Display window for PNG: a preset or CENTER,WIDTH.") var window: String?
        @Flag(help: "NPY/NIfTI from DICOM: modality values (HU for CT) instead of stored values.") var hu = false
        @Option(help: "Slice of a volume to write as PNG (default: the middle one).") var slice: Int?

        func run() throws {
            let lower = output.lowercased()
            guard lower.hasSuffix(".png") || lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz") || lower.hasSuffix(".npy") else {
                throw CLIError("\(output): unknown output type; use .png, .nii, .nii.gz or .npy")
            }
            var image = try load(input)
            if !hu && !lower.hasSuffix(".png") && image.format == .dicom && !isDirectory(input) {
                image = try storedValues(input, fallback: image)
            }
            let bytes: [UInt8]
            if lower.hasSuffix(".png") {
                let chosen = try window.map { try WindowPreset.parse($0) } ?? image.window
                bytes = try ImageWriter.png(image, window: chosen, slice: slice ?? image.depth / 2)
            } else if lower.hasSuffix(".npy") {
                bytes = ImageWriter.npy(image)
            } else {
                bytes = try ImageWriter.nifti(image, gzip: lower.hasSuffix(".gz"))
            }
            try ImageWriter.writeAtomically(bytes, to: URL(fileURLWithPath: output))
            print("wrote \(output) (\(image.width) x \(image.height)\(image.depth > 1 ? " x \(image.depth)" : ""), \(bytes.count) bytes)")
        }

        func storedValues(_ path: String, fallback: MedicalImage) throws -> MedicalImage {
            let file = try DICOMFile(ImageReader.readFile(URL(fileURLWithPath: path)), source: path)
            var image = fallback
            let raw = try DICOMReader.image(from: file, modalityLUT: false)
            image.data = raw.data
            image.pixelType = raw.pixelType
            return image
        }
    }
}

func isDirectory(_ path: String) -> Bool {
    var dir: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && dir.boolValue
}

/// Reads a file, or a folder as a DICOM series.
func load(_ path: String) throws -> MedicalImage {
    let url = URL(fileURLWithPath: path)
    return isDirectory(path) ? try DICOMSeries.read(folder: url) : try ImageReader.read(url)
}
