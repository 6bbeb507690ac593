import Foundation
import Testing
@testable import LumenImaging

@Suite("Bad input: clear errors, never a crash")
struct BadInputTests {
    static let fixtures = ["ct_explicit.dcm", "ct_implicit.dcm", "ct_rle.dcm", "ct_j2k.dcm", "mr_signed12.dcm", "cr_mono1_3frames.dcm", "rgb.dcm",
                           "vol.nii", "vol2_scaled.nii.gz", "gray8.png", "gray16.png", "rgb.bmp", "rgb.jpg", "rgb.webp", "stack16.tif"]

    @Test("truncated files fail with the file named", arguments: fixtures)
    func truncated(_ name: String) {
        let bytes = Fixture.bytes(name)
        for keep in [0, 1, 4, 64, 132, bytes.count / 3] where keep < bytes.count {
            do {
                _ = try ImageReader.read(Array(bytes.prefix(keep)), source: name)
                // A long prefix may still decode (e.g. a PNG whose last chunk went missing); it must not crash.
                // No fixture's first 64 bytes (or fewer than all of them) hold a whole image, so those prefixes must fail.
                #expect(keep >= 64, "\(name): its first \(keep) of \(bytes.count) bytes decoded")
            } catch {
                #expect("\(error)".contains(name))
            }
        }
    }

    @Test func emptyWrongMagicAndText() {
        #expect(throws: ImagingError.unreadable(source: "empty.png", reason: "the file is empty")) { try ImageReader.read([], source: "empty.png") }
        let text = Array("patient,label\nfoo.png,1\n".utf8)
        #expect { try ImageReader.read(text, source: "labels.csv") } throws: { "\($0)".contains("unsupported format") }
        var wrongMagic = Fixture.bytes("gray8.png")
        wrongMagic[1] = 0x00
        #expect(throws: ImagingError.self) { try ImageReader.read(wrongMagic, source: "x.png") }
    }

    @Test func onePixelImagesDecode() throws {
        let png = try ImageWriter.encode(".png", data: [42], width: 1, height: 1, channels: 1, type: .uint8)
        let image = try ImageReader.read(png, source: "1x1.png")
        #expect(image.width == 1 && image.height == 1 && image.floats() == [42])
        let dcm = try syntheticDICOM(size: 1)
        #expect(try ImageReader.read(dcm, source: "1x1.dcm").width == 1)
    }

    @Test func hugeDeclaredSizesAreRefusedBeforeAllocating() throws {
        // A PNG header declaring 100,000 x 100,000 pixels.
        var png = Fixture.bytes("gray8.png")
        for (offset, value) in [(16, 100_000), (20, 100_000)] {
            png[offset] = UInt8(value >> 24 & 0xFF); png[offset + 1] = UInt8(value >> 16 & 0xFF)
            png[offset + 2] = UInt8(value >> 8 & 0xFF); png[offset + 3] = UInt8(value & 0xFF)
        }
        #expect { try ImageReader.read(png, source: "huge.png") } throws: { error in
            guard case ImagingError.tooLarge(let source, let reason) = error else { return false }
            return source == "huge.png" && reason.contains("100000 x 100000")
        }
        // A TIFF whose first IFD declares 100,000 x 100,000 pixels.
        var tiff: [UInt8] = [0x49, 0x49, 42, 0, 8, 0, 0, 0, 2, 0]
        for (tag, value) in [(256, 100_000), (257, 100_000)] {
            tiff += [UInt8(tag & 0xFF), UInt8(tag >> 8), 4, 0, 1, 0, 0, 0] + withUnsafeBytes(of: UInt32(value).littleEndian) { Array($0) }
        }
        tiff += [0, 0, 0, 0]
        #expect { try ImageReader.read(tiff, source: "huge.tif") } throws: { error in
            if case ImagingError.tooLarge = error { return true }
            return false
        }
        // A NIfTI header declaring 30000 x 30000 x 30000 voxels.
        var nii = Fixture.bytes("vol.nii")
        for i in 1...3 { nii[40 + 2 * i] = 0x30; nii[41 + 2 * i] = 0x75 }
        #expect { try ImageReader.read(nii, source: "huge.nii") } throws: { error in
            if case ImagingError.tooLarge = error { return true }
            return false
        }
        // A DICOM declaring 65535 x 65535 pixels and 99999 frames.
        let dcm = try ImageWriter.dicom(attributes: [("SOPClassUID", "1.2.840.10008.5.1.4.1.1.7"), ("SOPInstanceUID", "1.2.3"), ("NumberOfFrames", "99999")],
                                        data: [0, 0, 0, 0], width: 2, height: 2, type: .uint8)
        var patched = dcm
        // Rows and Columns (0028,0010/0011) are US: find "(28 00 10 00) 'US' 02 00" and set 0xFFFF.
        for tag: UInt8 in [0x10, 0x11] {
            let header: [UInt8] = [0x28, 0, tag, 0, 0x55, 0x53]
            let found = (0..<patched.count - 10).first { Array(patched[$0..<$0 + 6]) == header }
            let i = try #require(found, "element (0028,00\(String(tag, radix: 16))) found to patch")
            patched[i + 8] = 0xFF; patched[i + 9] = 0xFF
        }
        #expect { try ImageReader.read(patched, source: "huge.dcm") } throws: { "\($0)".contains("huge.dcm") }
    }

    @Test func truncatedPixelDataSaysHowMuchIsMissing() throws {
        let bytes = Fixture.bytes("ct_explicit.dcm")
        #expect { try ImageReader.read(Array(bytes.dropLast(100)), source: "cut.dcm") } throws: { error in
            let text = "\(error)"
            return text.contains("cut.dcm") && (text.contains("truncated") || text.contains("Invalid stream") || text.contains("premature"))
        }
    }
}

/// At least 1,000 mutated files per reader (DICOM, NIfTI, raster): each decodes or fails cleanly, none
/// crashes, aborts or takes more than 5 s.
@Suite("Reader fuzzing")
struct ReaderFuzzTests {
    static let families: [(String, [String])] = [
        ("DICOM", ["ct_explicit.dcm", "ct_implicit.dcm", "ct_rle.dcm", "ct_j2k.dcm", "mr_signed12.dcm", "cr_mono1_3frames.dcm", "rgb.dcm"]),
        ("NIfTI", ["vol.nii", "vol2_scaled.nii.gz"]),
        ("raster", ["gray8.png", "gray16.png", "rgb.bmp", "rgb.jpg", "rgb.webp", "stack16.tif"]),
    ]

    @Test("mutations", arguments: families)
    func fuzz(_ family: (String, [String])) {
        var rng = SeededGenerator(seed: 0xF022 &+ UInt64(family.0.count))
        let originals = family.1.map { Fixture.bytes($0) }
        var decoded = 0, failed = 0
        var slowest = 0.0
        for i in 0..<1_050 {
            var b = originals[i % originals.count]
            switch i % 5 {
            case 0: b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng)))
            case 1: for _ in 0..<Int.random(in: 1...12, using: &rng) { b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
            case 2:
                let at = Int.random(in: 0..<max(1, b.count - 4), using: &rng)
                for k in 0..<4 where at + k < b.count { b[at + k] = 0xFF }
            case 3:
                let at = Int.random(in: 0..<min(b.count, 400), using: &rng)
                b.removeSubrange(at..<min(b.count, at + Int.random(in: 1...16, using: &rng)))
            default:
                let at = Int.random(in: 0..<b.count, using: &rng)
                let field = [UInt8](repeating: 0, count: 4).map { _ in UInt8.random(in: 0...255, using: &rng) }
                for k in 0..<4 where at + k < b.count { b[at + k] = field[k] }
            }
            let start = Date()
            do {
                _ = try ImageReader.read(b, source: "mutant-\(i)")
                decoded += 1
            } catch {
                #expect("\(error)".contains("mutant-\(i)"))
                failed += 1
            }
            slowest = max(slowest, Date().timeIntervalSince(start))
        }
        // Both outcomes happen: mutations break many files, and some (a flipped pixel, say) still decode.
        #expect(failed > 100, "mutations should break many files (\(failed) of 1,050 failed)")
        #expect(decoded > 20, "some mutants still decode (\(decoded) of 1,050)")
        #expect(slowest < 5, "slowest mutant took \(slowest) s")
    }
}
