import Foundation
import Testing
@testable import LumenImaging

/// Modality and VOI values against pydicom's `apply_modality_lut` / `apply_voi_lut` (arrays written by
/// make_geometry_fixtures.py), and exact 32-bit pixels.
@Suite("Modality and VOI values")
struct ModalityTests {
    static func read(_ name: String, _ values: DICOMValues) throws -> MedicalImage {
        try DICOMReader.read(Fixture.bytes(name), source: name, values: values)
    }

    @Test func modalityLUTSequenceEqualsPydicom() throws {
        let image = try Self.read("mlut_signed.dcm", .modality)
        #expect(image.doubles() == Fixture.expected("mlut_signed.expected.npy").values)
        #expect(image.pixelType == .uint16)
        #expect(image.tags["ModalityLUT"] != nil)
        // Stored values are untouched by it.
        let stored = try Self.read("mlut_signed.dcm", .stored)
        #expect(stored.doubles() != image.doubles())
    }

    @Test func voiLUTSequenceEqualsPydicom() throws {
        let image = try Self.read("voi_lut.dcm", .modality)
        let lut = try #require(image.voiLUT)
        #expect(lut.bits == 16)
        let expected = Fixture.expected("voi_lut.expected.npy").values.map { $0 / 65535 }
        let display = image.displayValues()
        #expect(ModalityTests.largest(display, expected) < 1e-12)
    }

    @Test func thirtyTwoBitIntegersAreExact() throws {
        let expected = Fixture.expected("int32.expected.npy").values
        for values in [DICOMValues.stored, .modality] {
            let image = try Self.read("int32.dcm", values)
            #expect(image.pixelType == .int32)
            #expect(image.doubles() == expected, "\(values)")
        }
        // NPY keeps them: the header says <i4 and the samples are the bytes as read.
        let image = try Self.read("int32.dcm", .stored)
        let npy = ImageWriter.npy(image)
        #expect(String(decoding: npy.prefix(80), as: UTF8.self).contains("'<i4'"))
        #expect(Array(npy.suffix(image.data.count)) == image.data)
    }

    @Test func monochrome1ModalityValuesAreNotInverted() throws {
        let stored = Fixture.expected("cr_mono1_3frames.expected.npy").values
        let modality = try Self.read("cr_mono1_3frames.dcm", .modality)
        #expect(modality.doubles() == stored)
        #expect(modality.tags["Inverted"] == nil)
        let presentation = try Self.read("cr_mono1_3frames.dcm", .presentation)
        #expect(presentation.doubles() != stored)
        #expect(presentation.tags["Inverted"] == "MONOCHROME1")
    }

    @Test func displayPNGInvertsMonochrome1AfterTheWindow() throws {
        var image = try Self.read("cr_mono1_3frames.dcm", .modality).slice(0)
        image.window = Window(center: 128, width: 256)
        let png = try ImageReader.read(ImageWriter.displayPNG(image), source: "mono1.png")
        let stored = image.doubles()
        // DICOM LINEAR window (c - 0.5, w - 1), then inverted: bright is low stored values.
        let expected = stored.map { v -> Double in
            let y = v <= 127.5 - 127.5 ? 0 : (v > 127.5 + 127.5 ? 1 : (v - 127.5) / 255 + 0.5)
            return ((1 - y) * 255).rounded()
        }
        #expect(ModalityTests.largest(png.doubles(), expected) <= 1)
        #expect(zip(stored, png.doubles()).contains { $0.0 < 20 && $0.1 > 230 })
    }

    static func largest(_ a: [Double], _ b: [Double]) -> Double {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) }.max() ?? 0 : .infinity
    }
}

/// Mutated files that carry LUT sequences and 32-bit pixels: each decodes or fails with the file named.
@Suite("LUT parsing fuzz")
struct LUTFuzzTests {
    /// A fresh seed each run, printed so that a failure can be replayed with `LUMEN_FUZZ_SEED=N`.
    static func generator(_ name: String) -> SeededGenerator {
        let seed = ProcessInfo.processInfo.environment["LUMEN_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64(UInt32.max))
        print("\(name): LUMEN_FUZZ_SEED=\(seed)")
        return SeededGenerator(seed: seed)
    }

    @Test func mutatedLUTFilesDecodeOrFailCleanly() {
        var rng = Self.generator("LUT fuzz")
        let originals = ["mlut_signed.dcm", "voi_lut.dcm", "int32.dcm"].map { Fixture.bytes($0) }
        var failures = 0
        for i in 0..<900 {
            var b = originals[i % originals.count]
            // Most mutations land in the header and the LUT items (the first ~1,200 bytes), not in pixels.
            for _ in 0..<Int.random(in: 1...6, using: &rng) where !b.isEmpty {
                let at = Int.random(in: 0..<min(b.count, 1_200), using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: b[at] ^= UInt8.random(in: 1...255, using: &rng)
                case 1: for k in 0..<4 where at + k < b.count { b[at + k] = 0xFF }
                default: b.removeSubrange(at..<min(b.count, at + Int.random(in: 1...8, using: &rng)))
                }
            }
            for values in [DICOMValues.modality, .presentation] {
                do {
                    let image = try DICOMReader.read(b, source: "lut-mutant-\(i)", values: values)
                    _ = image.displayValues()
                } catch {
                    failures += 1
                    #expect("\(error)".contains("lut-mutant-\(i)"))
                }
            }
        }
        #expect(failures > 50, "mutations should break many files")
    }
}
