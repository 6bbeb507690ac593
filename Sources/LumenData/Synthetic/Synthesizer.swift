import Foundation
import LumenImaging

/// Deterministic synthetic data for tests and the demo: CT-like slices with and without round lesions,
/// written as real DICOM files (with fake identifying attributes for de-identification to remove), and
/// cell-membrane-like images with masks.
public enum Synthesizer {
    /// Writes `patients` × `slicesPerPatient` CT slices under `out/lesion/` and `out/normal/` plus a
    /// `labels.csv` (path, label, patient_id). About half the patients carry lesions. Returns the file count.
    @discardableResult
    public static func ctPhantom(out: URL, patients: Int, slicesPerPatient: Int, size: Int = 128, seed: UInt64) throws(DataError) -> Int {
        guard patients > 0, slicesPerPatient > 0, (32...1024).contains(size) else { throw .invalidArgument("ct phantom: patients and slices must be positive and size 32–1024") }
        var rng = SeededGenerator(seed: seed)
        var csv = "path,label,patient_id\n"
        var count = 0
        for p in 0..<patients {
            let patientID = String(format: "SYN%05d", p)
            let study = uid(&rng), series = uid(&rng), frame = uid(&rng)
            let age = Int(rng.uniform(30, 85))
            let sick = p % 2 == 0
            for s in 0..<slicesPerPatient {
                let lesion = sick && s % 2 == 0
                let label = lesion ? "lesion" : "normal"
                let hu = phantomSlice(size: size, lesion: lesion, rng: &rng)
                let stored = hu.map { UInt16(clamping: Int(($0 + 1024).rounded())) }
                let attributes: [(String, String)] = [
                    ("SOPClassUID", "1.2.840.10008.5.1.4.1.1.2"), ("SOPInstanceUID", uid(&rng)), ("StudyInstanceUID", study),
                    ("SeriesInstanceUID", series), ("FrameOfReferenceUID", frame), ("Modality", "CT"),
                    ("PatientName", "Synthetic^Patient\(p)"), ("PatientID", patientID), ("PatientBirthDate", String(format: "%04d0101", 2025 - age)),
                    ("PatientSex", p % 3 == 0 ? "F" : "M"), ("InstitutionName", "Synthetic General Hospital"),
                    ("ReferringPhysicianName", "Doctor^Example"), ("AccessionNumber", String(format: "ACC%06d", p)),
                    ("StudyDate", "20250314"), ("SeriesDate", "20250314"), ("StudyTime", "101500"), ("StudyID", "1"),
                    ("SeriesNumber", "1"), ("InstanceNumber", String(s + 1)), ("BodyPartExamined", "CHEST"),
                    ("PhotometricInterpretation", "MONOCHROME2"), ("RescaleIntercept", "-1024"), ("RescaleSlope", "1"), ("RescaleType", "HU"),
                    ("WindowCenter", "-600"), ("WindowWidth", "1500"), ("PixelSpacing", "0.7\\0.7"), ("SliceThickness", "2.5"),
                    ("ImagePositionPatient", "-44.8\\-44.8\\\(String(format: "%.1f", Double(s) * 2.5))"), ("ImageOrientationPatient", "1\\0\\0\\0\\1\\0"),
                    ("Manufacturer", "Lumen Synthetic"), ("ImageType", "ORIGINAL\\PRIMARY\\AXIAL"),
                ]
                let relative = "\(label)/\(patientID)_\(String(format: "%03d", s)).dcm"
                do {
                    let bytes = try ImageWriter.dicom(attributes: attributes, data: stored.withUnsafeBytes { Array($0) }, width: size, height: size, type: .uint16)
                    try write(bytes, to: out.appendingPathComponent(relative))
                } catch let e as DataError { throw e } catch { throw .invalidArgument("\(error)") }
                csv += "\(relative),\(label),\(patientID)\n"
                count += 1
            }
        }
        try write(Array(csv.utf8), to: out.appendingPathComponent("labels.csv"))
        return count
    }

    /// Hounsfield units of one axial slice: air, body, lungs, spine, and a lesion when asked.
    static func phantomSlice(size: Int, lesion: Bool, rng: inout SeededGenerator) -> [Float] {
        let n = Double(size)
        let bodyA = n * rng.uniform(0.40, 0.46), bodyB = n * rng.uniform(0.30, 0.36)
        let lungA = n * rng.uniform(0.13, 0.16), lungB = n * rng.uniform(0.20, 0.24)
        let c = n / 2
        let lesionLeft = rng.chance(0.5)
        let lesionX = c + (lesionLeft ? -1 : 1) * n * rng.uniform(0.16, 0.22), lesionY = c + n * rng.uniform(-0.1, 0.1)
        let lesionR = n * rng.uniform(0.035, 0.07)
        var hu = [Float](repeating: -1000, count: size * size)
        for y in 0..<size {
            for x in 0..<size {
                let dx = Double(x) - c, dy = Double(y) - c
                var v = -1000.0
                if (dx * dx) / (bodyA * bodyA) + (dy * dy) / (bodyB * bodyB) <= 1 { v = 40 }
                for side in [-1.0, 1.0] {
                    let lx = Double(x) - (c + side * n * 0.19)
                    if (lx * lx) / (lungA * lungA) + (dy * dy) / (lungB * lungB) <= 1 { v = -850 }
                }
                let sx = dx, sy = Double(y) - (c + bodyB * 0.7)
                if sx * sx + sy * sy <= (n * 0.05) * (n * 0.05) { v = 700 }
                if lesion {
                    let ex = Double(x) - lesionX, ey = Double(y) - lesionY
                    if ex * ex + ey * ey <= lesionR * lesionR { v = 45 }
                }
                hu[y * size + x] = Float(v + rng.gaussian() * 20)
            }
        }
        return hu
    }

    /// Writes `count` cell-membrane-like images (`out/images/`) with their membrane masks (`out/masks/`,
    /// 255 on membranes) as 8-bit PNG.
    @discardableResult
    public static func cells(out: URL, count: Int, size: Int = 128, seed: UInt64) throws(DataError) -> Int {
        guard count > 0, (32...2048).contains(size) else { throw .invalidArgument("cells: count must be positive and size 32–2048") }
        var rng = SeededGenerator(seed: seed)
        for i in 0..<count {
            let cells = Int(rng.uniform(12, 30))
            let seeds = (0..<cells).map { _ in (rng.uniform(0, Double(size)), rng.uniform(0, Double(size))) }
            var image = [Float](repeating: 0, count: size * size)
            var mask = [UInt8](repeating: 0, count: size * size)
            let shade = (0..<cells).map { _ in rng.uniform(150, 210) }
            for y in 0..<size {
                for x in 0..<size {
                    var d1 = Double.infinity, d2 = Double.infinity, nearest = 0
                    for (k, s) in seeds.enumerated() {
                        let d = ((Double(x) - s.0) * (Double(x) - s.0) + (Double(y) - s.1) * (Double(y) - s.1)).squareRoot()
                        if d < d1 { d2 = d1; d1 = d; nearest = k } else if d < d2 { d2 = d }
                    }
                    let membrane = d2 - d1 < 2.0
                    mask[y * size + x] = membrane ? 255 : 0
                    image[y * size + x] = Float(membrane ? 60 : shade[nearest])
                }
            }
            let plane = Plane(width: size, height: size, channels: 1, values: image)
            var noisy: Plane
            do { noisy = try Pipeline([.gaussianBlur(sigmaMin: 1, sigmaMax: 1, p: 1)]).apply(plane) } catch { throw .invalidArgument("\(error)") }
            for k in noisy.values.indices { noisy.values[k] += Float(rng.gaussian() * 12) }
            let pixels = MedicalImage.encode(noisy.values, as: .uint8)
            do {
                let name = String(format: "cell_%04d.png", i)
                try write(ImageWriter.encode(".png", data: pixels, width: size, height: size, channels: 1, type: .uint8), to: out.appendingPathComponent("images/\(name)"))
                try write(ImageWriter.encode(".png", data: mask, width: size, height: size, channels: 1, type: .uint8), to: out.appendingPathComponent("masks/\(name)"))
            } catch let e as DataError { throw e } catch { throw .invalidArgument("\(error)") }
        }
        return count
    }

    static func uid(_ rng: inout SeededGenerator) -> String {
        "2.25.\(rng.next() >> 1)\(String(format: "%019llu", rng.next() % 10_000_000_000_000_000_000))".prefix(64).description
    }

    static func write(_ bytes: [UInt8], to url: URL) throws(DataError) {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url, options: .atomic)
        } catch { throw .io(path: url.path, reason: "cannot write: \(error.localizedDescription)") }
    }
}
