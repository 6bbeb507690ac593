import Foundation

/// A DICOM series folder assembled into one volume: slices ordered by Image Position (Patient) along
/// the slice normal (never by file name or Instance Number), geometry in LPS.
public enum DICOMSeries {
    /// How far (degrees) the step between slices may lean from the slice normal before the series is
    /// refused as tilted or sheared.
    public static let maxTiltDegrees = 0.05
    /// How much (relative) slice gaps may differ before the series is refused as unevenly spaced.
    public static let maxGapVariation = 0.01

    /// Reads every DICOM file under `folder` that belongs to the series (the largest one when several
    /// are present, or `seriesUID`), sorts the slices along the normal of their common orientation and
    /// stacks them: origin is the first slice's position, the third direction column the normal, z
    /// spacing the distance between positions. A gantry-tilted (or otherwise sheared) series, slices
    /// with different orientations, two slices at one position and uneven gaps are refused with the
    /// reason, since no single origin, direction and spacing could place their voxels.
    public static func read(folder: URL, seriesUID: String? = nil, values: DICOMValues = .presentation) throws(ImagingError) -> MedicalImage {
        let files = (FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])?.allObjects as? [URL] ?? [])
            .filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
            .sorted { $0.path < $1.path }
        var slices: [Slice] = []
        for url in files {
            guard let bytes = try? ImageReader.readFile(url), ImageReader.detect(bytes) == .dicom,
                  let file = try? DICOMFile(bytes, source: url.path), file["Rows"] != nil,
                  let image = try? DICOMReader.image(from: file, values: values) else { continue }
            slices.append(Slice(series: file["SeriesInstanceUID"] ?? "", position: file.numbers("ImagePositionPatient"),
                                instance: file.numbers("InstanceNumber").first ?? 0, tilt: file.numbers("GantryDetectorTilt").first ?? 0,
                                name: url.lastPathComponent, image: image))
        }
        guard !slices.isEmpty else { throw .unreadable(source: folder.path, reason: "no readable DICOM image in the folder") }
        let counts = Dictionary(grouping: slices, by: \.series).mapValues(\.count)
        let chosen = seriesUID ?? counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!.key
        var members = slices.filter { $0.series == chosen }
        guard let first = members.first else { throw .unreadable(source: folder.path, reason: "series \(chosen) has no image in the folder") }
        for m in members where m.image.width != first.image.width || m.image.height != first.image.height || m.image.channels != first.image.channels {
            throw .unreadable(source: folder.path, reason: "slices of series \(chosen) differ in size (\(m.image.width) x \(m.image.height) vs \(first.image.width) x \(first.image.height))")
        }
        var spacingZ: Double?
        var placed = true
        if members.count > 1 {
            if members.allSatisfy({ $0.position.count != 3 }) {
                // No slice has a position (secondary captures): Instance Number is all there is.
                members.sort { $0.instance < $1.instance || ($0.instance == $1.instance && $0.name < $1.name) }
                placed = false
            } else {
                spacingZ = try order(&members, folder: folder.path)
            }
        }
        let common = members.allSatisfy { $0.image.pixelType == members[0].image.pixelType } ? members[0].image.pixelType : .float64
        var volume = members[0].image
        volume.pixelType = common
        volume.depth = members.reduce(0) { $0 + $1.image.depth }
        volume.data = members.flatMap { $0.image.converted(to: common).data }
        if let spacingZ { volume.spacing[2] = spacingZ }
        volume.tags["SeriesFiles"] = String(members.count)
        if !placed { volume.tags["Geometry"] = "no Image Position (Patient): slices ordered by Instance Number, z placement unknown" }
        return volume
    }

    struct Slice {
        var series: String
        var position: [Double]
        var instance: Double
        var tilt: Double
        var name: String
        var image: MedicalImage
    }

    /// Sorts `members` along the slice normal and checks that they form one regular grid; returns the
    /// z spacing (mm).
    static func order(_ members: inout [Slice], folder: String) throws(ImagingError) -> Double {
        let reference = members[0]
        guard members.allSatisfy({ $0.position.count == 3 && $0.position.allSatisfy(\.isFinite) }) else {
            throw .unreadable(source: folder, reason: "a slice has no valid Image Position (Patient) (0020,0032): the slices cannot be placed; Instance Numbers do not define geometry")
        }
        for m in members where zip(m.image.direction, reference.image.direction).contains(where: { abs($0 - $1) > 1e-4 }) {
            throw .unreadable(source: folder, reason: "slices have different Image Orientation (Patient) (\(m.name) vs \(reference.name)); a volume needs one orientation")
        }
        let normal = [2, 5, 8].map { reference.image.direction[$0] }
        let along = { (s: Slice) -> Double in Geometry.dot(s.position, normal) }
        members.sort { along($0) < along($1) }
        var gaps: [Double] = []
        for (a, b) in zip(members, members.dropFirst()) {
            let step = zip(b.position, a.position).map { $0 - $1 }
            let distance = Geometry.norm(step)
            guard distance > 1e-6 else {
                throw .unreadable(source: folder, reason: "\(a.name) and \(b.name) lie at the same position \(a.position.map { format($0) }.joined(separator: ", ")); the folder holds more than one volume of this series (time points or echoes)")
            }
            let angle = acos(min(1, abs(Geometry.dot(step, normal)) / distance)) * 180 / .pi
            if angle > maxTiltDegrees {
                let tag = members.contains { $0.tilt != 0 } ? " (Gantry/Detector Tilt \(format(members.first { $0.tilt != 0 }!.tilt))°)" : ""
                throw .unreadable(source: folder, reason: "gantry tilt or sheared series\(tag): the step from \(a.name) to \(b.name) leans \(format(angle))° from the slice normal; Lumen does not write a sheared volume as if it were rectangular. Resample it to a rectangular grid first (e.g. dcm2niix, which corrects gantry tilt)")
            }
            gaps.append(Geometry.dot(step, normal))
        }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        if let worst = gaps.max(by: { abs($0 - mean) < abs($1 - mean) }), abs(worst - mean) > maxGapVariation * mean {
            throw .unreadable(source: folder, reason: "slice gaps are uneven (\(format(gaps.min()!)) to \(format(gaps.max()!)) mm, mean \(format(mean)) mm): slices are missing or the series mixes spacings; one z spacing cannot place them")
        }
        return mean
    }

    static func format(_ v: Double) -> String { String(format: "%.4g", v) }
}
