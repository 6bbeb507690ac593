import Foundation
import LumenImaging

/// Items whose images are produced in memory (array archives, TIFF stacks), encoded as PNG.
public enum ArrayImporters {
    /// A MedMNIST `.npz`: `train_images`/`train_labels`, `val_*`, `test_*`. Labels are class indices; a
    /// multi-label row (several columns of 0/1) becomes the indices of its ones joined by `|`.
    public static func medMNIST(_ url: URL) throws(DataError) -> [ImportItem] {
        let arrays = try NumPyArchive.read(url)
        var items: [ImportItem] = []
        var found = false
        for split in ["train", "val", "test"] {
            guard let images = arrays["\(split)_images"] else { continue }
            found = true
            guard let labels = arrays["\(split)_labels"] else { throw .invalidSource(path: url.path, reason: "\(split)_images has no \(split)_labels") }
            guard images.kind == "u1", images.shape.count == 3 || images.shape.count == 4 else {
                throw .invalidSource(path: url.path, reason: "\(split)_images must be uint8 N×H×W or N×H×W×C, got \(images.kind) \(images.shape)")
            }
            let n = images.shape[0], h = images.shape[1], w = images.shape[2], c = images.shape.count == 4 ? images.shape[3] : 1
            let values = try labels.doubles()
            guard labels.shape.first == n, n > 0 else { throw .invalidSource(path: url.path, reason: "\(split)_labels has \(labels.shape.first ?? 0) rows for \(n) images") }
            let perRow = values.count / n
            let size = h * w * c
            for i in 0..<n {
                let png: [UInt8]
                do { png = try ImageWriter.encode(".png", data: Array(images.data[i * size..<(i + 1) * size]), width: w, height: h, channels: c, type: .uint8) } catch {
                    throw .invalidSource(path: url.path, reason: "\(error)")
                }
                let row = values[i * perRow..<(i + 1) * perRow]
                let label = perRow == 1 ? String(Int(row.first!)) : row.enumerated().filter { $0.element != 0 }.map { String($0.offset) }.joined(separator: "|")
                items.append(ImportItem(path: String(format: "%@/%06d.png", split, i), bytes: png, label: label, split: split))
            }
        }
        guard found else { throw .invalidSource(path: url.path, reason: "no train_images, val_images or test_images array (arrays: \(arrays.keys.sorted().joined(separator: ", ")))") }
        return items
    }

    /// Image/mask pairs from two folders, matched by file name without extension (a `_mask`/`_seg`
    /// suffix on the mask is ignored).
    public static func segmentationFolders(images: URL, masks: URL) throws(DataError) -> (items: [ImportItem], unmatched: [SkippedFile]) {
        let imageFiles = FolderImporter.regularFiles(under: images)
        let maskFiles = FolderImporter.regularFiles(under: masks)
        guard !imageFiles.isEmpty else { throw .invalidSource(path: images.path, reason: "no image files") }
        func stem(_ f: FolderImporter.File) -> String {
            var s = (f.relative as NSString).deletingPathExtension
            for suffix in ["_mask", "-mask", "_seg", "_label", "_labels", "_gt"] where s.lowercased().hasSuffix(suffix) { s = String(s.dropLast(suffix.count)) }
            return s
        }
        let byStem = Dictionary(maskFiles.map { (stem($0), $0) }, uniquingKeysWith: { a, _ in a })
        var items: [ImportItem] = []
        var unmatched: [SkippedFile] = []
        for f in imageFiles {
            if let m = byStem[stem(f)] {
                items.append(ImportItem(path: f.relative, url: f.url, mask: m.url))
            } else {
                unmatched.append(SkippedFile(path: f.relative, reason: "no mask named like it in \(masks.path)"))
            }
        }
        return (items, unmatched)
    }

    /// Image and mask stacks (multi-page TIFF, ISBI 2012 style): page i of one pairs with page i of the other.
    public static func segmentationStacks(images: URL, masks: URL) throws(DataError) -> [ImportItem] {
        let volume: MedicalImage, labels: MedicalImage
        do {
            volume = try ImageReader.read(images)
            labels = try ImageReader.read(masks)
        } catch { throw .invalidSource(path: images.path, reason: "\(error)") }
        guard volume.depth == labels.depth, volume.width == labels.width, volume.height == labels.height else {
            throw .invalidSource(path: masks.path, reason: "mask stack is \(labels.width) x \(labels.height) x \(labels.depth), the image stack \(volume.width) x \(volume.height) x \(volume.depth)")
        }
        var items: [ImportItem] = []
        for i in 0..<volume.depth {
            do {
                let page = try volume.slice(i), mask = try labels.slice(i)
                let png = try ImageWriter.encode(".png", data: page.data, width: page.width, height: page.height, channels: page.channels, type: page.pixelType == .uint16 ? .uint16 : .uint8)
                let maskPNG = try ImageWriter.encode(".png", data: mask.converted(to: .uint8).data, width: mask.width, height: mask.height, channels: mask.channels, type: .uint8)
                items.append(ImportItem(path: String(format: "%@/%04d.png", images.lastPathComponent, i), bytes: png, maskBytes: maskPNG, metadata: ["page": String(i)]))
            } catch { throw .invalidSource(path: images.path, reason: "page \(i): \(error)") }
        }
        return items
    }
}
