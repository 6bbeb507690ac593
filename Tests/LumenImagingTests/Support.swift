import Foundation
@testable import LumenImaging

/// The committed fixtures (made by Fixtures/make_fixtures.py with pydicom, nibabel and Pillow).
enum Fixture {
    static let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    static func bytes(_ name: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: url(name).path)!) }

    /// The expected array written by the reference tool, as doubles in storage order, with its shape.
    static func expected(_ name: String) -> (shape: [Int], values: [Double]) {
        let b = bytes(name)
        let headerLength = Int(b[8]) | Int(b[9]) << 8
        let header = String(decoding: b[10..<10 + headerLength], as: UTF8.self)
        let descr = header.components(separatedBy: "'descr': '")[1].prefix { $0 != "'" }
        let shapeText = header.components(separatedBy: "'shape': (")[1].prefix { $0 != ")" }
        let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let data = Array(b[(10 + headerLength)...])
        let n = shape.reduce(1, *)
        let values: [Double] = data.withUnsafeBytes { p in
            switch descr.dropFirst() {
            case "u1": return (0..<n).map { Double(p[$0]) }
            case "i2": return (0..<n).map { Double(p.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self)) }
            case "u2": return (0..<n).map { Double(p.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
            case "f4": return (0..<n).map { Double(p.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self)) }
            case "f8": return (0..<n).map { p.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self) }
            case "i4": return (0..<n).map { Double(p.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
            case "u4": return (0..<n).map { Double(p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
            default: fatalError("fixture dtype \(descr)")
            }
        }
        return (shape, values)
    }
}

/// A synthetic CT slice with identifying attributes, written through the bridge.
func syntheticDICOM(patientID: String = "PAT-123", sop: String = "1.2.3.4.5.6.7", series: String = "1.2.3.4.5.6.8", z: Double = 0, value: UInt16 = 1000, size: Int = 16) throws -> [UInt8] {
    let pixels = (0..<size * size).map { UInt16(truncatingIfNeeded: Int(value) + $0) }
    return try ImageWriter.dicom(attributes: [
        ("SOPClassUID", "1.2.840.10008.5.1.4.1.1.2"), ("SOPInstanceUID", sop), ("SeriesInstanceUID", series), ("StudyInstanceUID", "1.2.3.4.5.6.9"),
        ("Modality", "CT"), ("PatientName", "Doe^John"), ("PatientID", patientID), ("PatientBirthDate", "19600102"),
        ("InstitutionName", "General Hospital"), ("ReferringPhysicianName", "House^Gregory"), ("AccessionNumber", "A12345"),
        ("StudyDate", "20240229"), ("StudyTime", "120000"), ("OperatorsName", "Tech^Tom"), ("StationName", "CT01"),
        ("RescaleSlope", "1"), ("RescaleIntercept", "-1024"), ("PhotometricInterpretation", "MONOCHROME2"),
        ("ImagePositionPatient", "0\\0\\\(z)"), ("ImageOrientationPatient", "1\\0\\0\\0\\1\\0"), ("PixelSpacing", "0.5\\0.5"),
    ], data: pixels.withUnsafeBytes { Array($0) }, width: size, height: size, type: .uint16)
}
