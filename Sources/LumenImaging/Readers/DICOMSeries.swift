import Foundation

/// A DICOM series folder assembled into one volume, slices sorted by Image Position (Patient) along
/// the slice normal.
public enum DICOMSeries {
    /// Reads every DICOM file under `folder` that belongs to the series (the largest one when several are
    /// present, or `seriesUID`), sorts the slices and stacks them; z spacing comes from the positions.
    public static func read(folder: URL, seriesUID: String? = nil) throws(ImagingError) -> MedicalImage {
        let files = (FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])?.allObjects as? [URL] ?? [])
            .filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
            .sorted { $0.path < $1.path }
        var slices: [(series: String, position: Double, image: MedicalImage)] = []
        for url in files {
            guard let bytes = try? ImageReader.readFile(url), ImageReader.detect(bytes) == .dicom,
                  let file = try? DICOMFile(bytes, source: url.path), file["Rows"] != nil,
                  let image = try? DICOMReader.image(from: file) else { continue }
            let series = file["SeriesInstanceUID"] ?? ""
            let position = file.numbers("ImagePositionPatient")
            let normal = Array(image.direction[6..<9])
            let along = position.count == 3 ? zip(position, normal).map(*).reduce(0, +) : Double(file.numbers("InstanceNumber").first ?? 0)
            slices.append((series, along, image))
        }
        guard !slices.isEmpty else { throw .unreadable(source: folder.path, reason: "no readable DICOM image in the folder") }
        let counts = Dictionary(grouping: slices, by: \.series).mapValues(\.count)
        let chosen = seriesUID ?? counts.max { $0.value < $1.value }!.key
        let members = slices.filter { $0.series == chosen }.sorted { $0.position < $1.position }
        guard let first = members.first else { throw .unreadable(source: folder.path, reason: "series \(chosen) has no image in the folder") }
        for m in members where m.image.width != first.image.width || m.image.height != first.image.height || m.image.channels != first.image.channels {
            throw .unreadable(source: folder.path, reason: "slices of series \(chosen) differ in size (\(m.image.width) x \(m.image.height) vs \(first.image.width) x \(first.image.height))")
        }
        let common = members.allSatisfy { $0.image.pixelType == first.image.pixelType } ? first.image.pixelType : .float32
        var volume = first.image
        volume.pixelType = common
        volume.depth = members.reduce(0) { $0 + $1.image.depth }
        volume.data = members.flatMap { $0.image.converted(to: common).data }
        if members.count > 1 {
            let gaps = zip(members.dropFirst(), members).map { $0.position - $1.position }
            let mean = gaps.reduce(0, +) / Double(gaps.count)
            if mean > 0 { volume.spacing[2] = mean }
        }
        volume.tags["SeriesFiles"] = String(members.count)
        return volume
    }
}
