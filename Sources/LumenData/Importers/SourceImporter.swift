import Foundation

/// The items of an import source, whatever it is: a folder of class folders, a CSV/TSV manifest, image
/// and mask folders or stacks (segmentation), or a MedMNIST `.npz`. The importer is picked from the
/// source; a source that gives no label is refused unless `allowUnlabelled`, and `groupPattern` gives
/// files their patient from their paths. What `lumen data import` (and any other caller) runs before
/// `DatasetBuilder.ingest`.
public struct SourceImporter: Sendable {
    /// Mask folder or stack: the import is a segmentation one.
    public var masks: URL?
    /// How a manifest is read (columns, delimiter, root).
    public var manifest = CSVImporter()
    public var groupPattern: GroupPattern?
    public var allowUnlabelled = false

    public init() {}

    public struct Items: Sendable {
        public var items: [ImportItem]
        /// Files the importer could not pair or list (segmentation folders).
        public var skipped: [SkippedFile]
        public var task: DatasetTask
        /// Items `groupPattern` matched no group for.
        public var ungrouped: Int
    }

    public func items(from source: URL) throws(DataError) -> Items {
        guard FileManager.default.fileExists(atPath: source.path) else { throw .invalidSource(path: source.path, reason: "no such file or folder") }
        let folder = FolderImporter.isDirectory(source)
        var out = Items(items: [], skipped: [], task: .classification, ungrouped: 0)
        if let masks {
            out.task = .segmentation
            if folder {
                (out.items, out.skipped) = try ArrayImporters.segmentationFolders(images: source, masks: masks)
            } else {
                out.items = try ArrayImporters.segmentationStacks(images: source, masks: masks)
            }
        } else if source.pathExtension.lowercased() == "npz" {
            out.items = try ArrayImporters.medMNIST(source)
        } else if !folder {
            out.items = try manifest.items(csv: source)
        } else {
            out.items = try FolderImporter.items(root: source)
        }
        if out.task == .classification && !allowUnlabelled && !out.items.isEmpty && out.items.allSatisfy({ $0.label == nil }) {
            let reason = folder
                ? "the folder has no class subfolders (FOLDER/CLASS/file), so no file has a label"
                : "no label column (one of \(CSVImporter.labelNames.joined(separator: ", "))) or every label is empty; name it with --label-column"
            throw .invalidSource(path: source.path, reason: reason + "; add --unlabelled to import the files without labels")
        }
        if let groupPattern { out.ungrouped = try groupPattern.apply(to: &out.items) }
        return out
    }
}
