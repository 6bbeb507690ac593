import Foundation
import Testing
@testable import LumenImaging

/// Patient geometry: LPS kept in `MedicalImage`, RAS in NIfTI files, DICOM series placed by position.
@Suite("Patient geometry (LPS)")
struct GeometryTests {
    /// SimpleITK's reading of the oblique NIfTI fixture (see make_geometry_fixtures.py).
    static func simpleITKReference() throws -> (origin: [Double], spacing: [Double], direction: [Double], orientation: String) {
        let json = try JSONSerialization.jsonObject(with: Data(Fixture.bytes("oblique.expected.json"))) as! [String: Any]
        return (json["origin"] as! [Double], json["spacing"] as! [Double], json["direction"] as! [Double], json["orientation"] as! String)
    }

    static func worst(_ a: [Double], _ b: [Double]) -> Double {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) }.max() ?? 0 : .infinity
    }

    @Test func obliqueNIfTIIsReadInLPSAsSimpleITKReadsIt() throws {
        let image = try ImageReader.read(Fixture.url("oblique.nii.gz"))
        let ref = try Self.simpleITKReference()
        #expect(Self.worst(image.origin, ref.origin) < 1e-4, "origin \(image.origin) vs \(ref.origin)")
        #expect(Self.worst(image.spacing, ref.spacing) < 1e-5, "spacing \(image.spacing) vs \(ref.spacing)")
        #expect(Self.worst(image.direction, ref.direction) < 1e-4, "direction \(image.direction) vs \(ref.direction)")
        #expect(image.orientationCode == ref.orientation)
    }

    /// The writer's qform (a quaternion) and sform (a matrix) each give the geometry back on their own.
    @Test func niftiWriterRoundTripsThroughQformAndSform() throws {
        let original = try ImageReader.read(Fixture.url("oblique.nii.gz"))
        let written = try ImageWriter.nifti(original, gzip: false)
        var sformOnly = written, qformOnly = written
        sformOnly[252] = 0; sformOnly[253] = 0  // qform_code 0
        qformOnly[254] = 0; qformOnly[255] = 0  // sform_code 0
        for (name, bytes) in [("both", written), ("sform", sformOnly), ("qform", qformOnly)] {
            let back = try ImageReader.read(bytes, source: "\(name).nii")
            #expect(Self.worst(back.origin, original.origin) < 1e-4, "\(name): origin \(back.origin)")
            #expect(Self.worst(back.direction, original.direction) < 1e-5, "\(name): direction \(back.direction)")
            #expect(Self.worst(back.spacing, original.spacing) < 1e-6, "\(name): spacing \(back.spacing)")
            #expect(back.doubles() == original.doubles())
        }
    }

    @Test func niftiReaderConvertsRASToLPS() throws {
        // make_fixtures.py wrote vol.nii with nibabel's affine diag(0.8, 0.9, 2.5) and origin (-10, 5, 30) in RAS.
        let image = try ImageReader.read(Fixture.url("vol.nii"))
        #expect(Self.worst(image.origin, [10, -5, 30]) < 1e-6)
        #expect(Self.worst(image.direction, [-1, 0, 0, 0, -1, 0, 0, 0, 1]) < 1e-12)
        #expect(image.orientationCode == "RAS")
    }

    @Test("orientation codes name where each axis points", arguments: [
        ([1.0, 0, 0, 0, 1, 0], "LPS", "RAI"),    // axial
        ([0.0, 1, 0, 0, 0, -1], "PIR", "ASL"),   // sagittal: rows run anterior→posterior, columns head→feet
        ([1.0, 0, 0, 0, 0, -1], "LIP", "RSA"),   // coronal
    ])
    func orientationCodes(_ c: ([Double], String, String)) throws {
        let direction = try #require(Geometry.direction(imageOrientation: c.0))
        #expect(Geometry.orientationCode(direction) == c.1)
        #expect(Geometry.legacyITKCode(direction) == c.2)
    }

    @Test func notUnitOrientationIsIgnored() {
        #expect(Geometry.direction(imageOrientation: [1, 0, 0, 1, 0, 0]) == nil)
        #expect(Geometry.direction(imageOrientation: [2, 0, 0, 0, 1, 0]) == nil)
        #expect(Geometry.direction(imageOrientation: [1, 0, 0, 0, .nan, 1]) == nil)
    }

    /// Writes an oblique series: slice k at origin + k · gap · normal + k · shear · column direction.
    static func series(in dir: URL, count: Int = 5, gap: Double = 2.5, shear: Double = 0, gaps: [Double]? = nil) throws -> (row: [Double], col: [Double], normal: [Double], origin: [Double]) {
        let (a, b) = (0.3, -0.2)
        let row = [cos(b), sin(b), 0.0]
        let col = [-sin(b) * cos(a), cos(b) * cos(a), sin(a)]
        let normal = Geometry.cross(row, col)
        let origin = [-120.5, 33.25, 10.0]
        var offsets = [0.0]
        for k in 1..<count { offsets.append(offsets[k - 1] + (gaps?[k - 1] ?? gap)) }
        // File names and instance numbers in an order unrelated to the positions.
        let order = [3, 0, 4, 1, 2] + Array(5..<max(5, count))
        for (fileIndex, k) in order.prefix(count).enumerated() {
            let position = (0..<3).map { origin[$0] + offsets[k] * normal[$0] + Double(k) * shear * col[$0] }
            let pixels = [UInt16](repeating: UInt16(1000 + k), count: 6 * 4)
            let bytes = try ImageWriter.dicom(attributes: [
                ("SOPClassUID", "1.2.840.10008.5.1.4.1.1.2"), ("SOPInstanceUID", "1.2.3.9.\(k)"), ("SeriesInstanceUID", "1.2.3.9"),
                ("Modality", "CT"), ("RescaleSlope", "1"), ("RescaleIntercept", "-1024"), ("InstanceNumber", String(count - fileIndex)),
                ("ImagePositionPatient", position.map { String(format: "%.6f", $0) }.joined(separator: "\\")),
                ("ImageOrientationPatient", (row + col).map { String(format: "%.8f", $0) }.joined(separator: "\\")),
                ("PixelSpacing", "0.7\\0.9"),
            ], data: pixels.withUnsafeBytes { Array($0) }, width: 4, height: 6, type: .uint16)
            try Data(bytes).write(to: dir.appendingPathComponent("IM\(fileIndex).dcm"))
        }
        return (row, col, normal, origin)
    }

    static func withFolder<T>(_ body: (URL) throws -> T) throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-geometry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        return try body(dir)
    }

    @Test func obliqueSeriesIsPlacedByPositionNotByNameOrInstanceNumber() throws {
        try Self.withFolder { dir in
            let g = try Self.series(in: dir)
            let volume = try DICOMSeries.read(folder: dir)
            #expect(volume.depth == 5)
            #expect(Self.worst(volume.origin, g.origin) < 1e-5)
            #expect(Self.worst(volume.direction, (0..<3).flatMap { [g.row[$0], g.col[$0], g.normal[$0]] }) < 1e-6)
            #expect(Self.worst(volume.spacing, [0.9, 0.7, 2.5]) < 1e-5)
            let firsts: [Double] = try (0..<5).map { k throws -> Double in try volume.slice(k).doubles()[0] }
            let expected: [Double] = (0..<5).map { (k: Int) -> Double in Double(k - 24) }  // stored 1000 + k, intercept -1024
            #expect(firsts == expected)
        }
    }

    @Test func gantryTiltIsRefusedWithTheReason() throws {
        try Self.withFolder { dir in
            _ = try Self.series(in: dir, shear: 2.5 * tan(12 * Double.pi / 180))
            #expect { try DICOMSeries.read(folder: dir) } throws: { error in
                let text = "\(error)"
                return text.contains("gantry tilt") && text.contains(dir.path) && text.contains("12°")
            }
        }
    }

    @Test func unevenGapsAndStackedPositionsAreRefused() throws {
        try Self.withFolder { dir in
            _ = try Self.series(in: dir, gaps: [2.5, 2.5, 5, 2.5])
            #expect { try DICOMSeries.read(folder: dir) } throws: { "\($0)".contains("uneven") }
        }
        try Self.withFolder { dir in
            _ = try Self.series(in: dir, gaps: [2.5, 0, 2.5, 2.5])
            #expect { try DICOMSeries.read(folder: dir) } throws: { "\($0)".contains("same position") }
        }
    }
}
