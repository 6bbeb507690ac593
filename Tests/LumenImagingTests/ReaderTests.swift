import Foundation
import Testing
@testable import LumenImaging

@Suite("Readers against reference arrays")
struct ReaderTests {
    /// (fixture, expected array, tolerance, pixel type)
    static let cases: [(String, String, Double, PixelType)] = [
        ("ct_explicit.dcm", "ct.expected.npy", 0, .int16),
        ("ct_implicit.dcm", "ct.expected.npy", 0, .int16),
        ("ct_rle.dcm", "ct.expected.npy", 0, .int16),
        ("ct_j2k.dcm", "ct.expected.npy", 0, .int16),
        ("mr_signed12.dcm", "mr_signed12.expected.npy", 0, .float64),
        ("cr_mono1_3frames.dcm", "cr_mono1_3frames.expected.npy", 0, .uint8),
        ("rgb.dcm", "rgb.expected.npy", 0, .uint8),
        ("vol.nii", "vol.expected.npy", 0, .int16),
        ("vol2_scaled.nii.gz", "vol2_scaled.expected.npy", 1e-4, .float32),
        ("gray8.png", "gray8.expected.npy", 0, .uint8),
        ("gray16.png", "gray16.expected.npy", 0, .uint16),
        ("rgb.bmp", "rgb_bmp.expected.npy", 0, .uint8),
        ("rgb.jpg", "rgb_jpg.expected.npy", 1, .uint8),
        ("rgb.webp", "rgb_bmp.expected.npy", 0, .uint8),
        ("stack16.tif", "stack16.expected.npy", 0, .uint16),
    ]

    @Test("stored values equal the reference tool's", arguments: cases)
    func matchesReference(_ c: (String, String, Double, PixelType)) throws {
        let (name, expectedName, tolerance, type) = c
        var image = try ImageReader.read(Fixture.url(name))
        if image.format == .dicom {
            image = try DICOMReader.image(from: DICOMFile(Fixture.bytes(name), source: name), modalityLUT: false)
        }
        let expected = Fixture.expected(expectedName)
        let shape = [image.depth, image.height, image.width] + (image.channels > 1 ? [image.channels] : [])
        #expect(shape == expected.shape, "\(name)")
        let values = image.floats().map(Double.init)
        let worst = zip(values, expected.values).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= tolerance, "\(name): largest difference \(worst)")
        let full = try ImageReader.read(Fixture.url(name))
        #expect(full.pixelType == type, "\(name): \(full.pixelType)")
    }

    @Test func ctIsInHounsfieldUnitsWithGeometryAndWindow() throws {
        let image = try ImageReader.read(Fixture.url("ct_explicit.dcm"))
        let stored = Fixture.expected("ct.expected.npy").values
        #expect(image.floats().map(Double.init) == stored.map { $0 - 1024 })
        #expect(image.modality == "CT")
        #expect(image.spacing[0] == 0.75 && image.spacing[1] == 0.5 && image.spacing[2] == 2)
        #expect(image.window == Window(center: 40, width: 400))
        #expect(image.tags["TransferSyntaxUID"] == "1.2.840.10008.1.2.1")
    }

    @Test func dataSetWithoutPreambleOrMetaHeader() throws {
        // Cut the 128-byte preamble, "DICM" and the group-0002 meta header off a Part-10 file.
        let bytes = Fixture.bytes("ct_implicit.dcm")
        let groupLength = Int(bytes[140]) | Int(bytes[141]) << 8 | Int(bytes[142]) << 16 | Int(bytes[143]) << 24
        let bare = Array(bytes[(144 + groupLength)...])
        #expect(ImageReader.detect(bare) == .dicom)
        let image = try ImageReader.read(bare, source: "bare.dcm")
        #expect(image.floats().map(Double.init) == Fixture.expected("ct.expected.npy").values.map { $0 - 1024 })
    }

    @Test func fractionalRescaleGivesExactDoubles() throws {
        let image = try ImageReader.read(Fixture.url("mr_signed12.dcm"))
        let stored = Fixture.expected("mr_signed12.expected.npy").values
        #expect(image.pixelType == .float64)
        #expect(image.doubles() == stored.map { $0 * 0.5 + 3.25 })
    }

    @Test func monochrome1IsInverted() throws {
        let image = try ImageReader.read(Fixture.url("cr_mono1_3frames.dcm"))
        let stored = Fixture.expected("cr_mono1_3frames.expected.npy").values
        let lo = stored.min()!, hi = stored.max()!
        #expect(image.depth == 3)
        #expect(zip(image.floats(), stored).allSatisfy { Double($0) == hi + lo - $1 })
        #expect(image.tags["Inverted"] == "MONOCHROME1")
    }

    @Test func niftiGeometryFollowsTheAffine() throws {
        let image = try ImageReader.read(Fixture.url("vol.nii"))
        #expect(image.width == 12 && image.height == 10 && image.depth == 6)
        #expect(zip(image.spacing, [0.8, 0.9, 2.5]).allSatisfy { abs($0 - $1) < 1e-6 })
        // nibabel's RAS origin (-10, 5, 30) is (10, -5, 30) in LPS.
        #expect(zip(image.origin, [10.0, -5, 30]).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test func formatIsChosenByContentNotExtension() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-detect-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, format) in [("ct_explicit.dcm", ImageFormat.dicom), ("gray8.png", .png), ("vol.nii", .nifti), ("vol2_scaled.nii.gz", .nifti), ("rgb.jpg", .jpeg)] {
            let renamed = dir.appendingPathComponent(name + ".txt")
            try Data(Fixture.bytes(name)).write(to: renamed)
            #expect(try ImageReader.read(renamed).format == format)
        }
    }

    @Test func seriesFolderIsSortedByPosition() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-series-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Written in a shuffled order with names that sort differently from their positions.
        for (i, z) in [7.5, 0, 5, 2.5].enumerated() {
            try Data(syntheticDICOM(sop: "1.2.3.\(i + 10)", z: z, value: UInt16(1000 + Int(z * 10)))).write(to: dir.appendingPathComponent("f\(i).dcm"))
        }
        let volume = try DICOMSeries.read(folder: dir)
        #expect(volume.depth == 4)
        #expect(abs(volume.spacing[2] - 2.5) < 1e-9)
        let firsts: [Float] = try (0..<4).map { i throws -> Float in try volume.slice(i).floats()[0] }
        let expected: [Float] = [-24, 1, 26, 51]
        #expect(firsts == expected)
    }
}
