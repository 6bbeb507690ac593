import Foundation

/// Items from a folder tree: a folder per class (`root/CLASS/…`), honouring `train/`, `val/` and `test/`
/// subfolders when present (the Kaggle chest X-ray layout); files deeper down (DICOM trees) take the
/// class of their first folder.
public enum FolderImporter {
    static let splitNames: [String: String] = ["train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val", "test": "test", "testing": "test"]

    /// Side files of a dataset folder that are not images (manifests, notes, licences).
    public static let ignoredExtensions: Set<String> = ["csv", "tsv", "txt", "json", "md", "yaml", "yml", "xml", "py", "ipynb", "html", "pdf"]

    public static func items(root: URL, labelsFromFolders: Bool = true) throws(DataError) -> [ImportItem] {
        guard isDirectory(root) else { throw .invalidSource(path: root.path, reason: "not a folder") }
        let files = regularFiles(under: root).filter { !ignoredExtensions.contains(($0.relative as NSString).pathExtension.lowercased()) }
        guard !files.isEmpty else { throw .invalidSource(path: root.path, reason: "the folder holds no files") }
        let top = Set(files.compactMap { $0.components.count > 1 ? $0.components[0].lowercased() : nil })
        let hasSplits = !top.isEmpty && top.allSatisfy { splitNames[$0] != nil }
        return files.map { file in
            var parts = file.components
            var split: String?
            if hasSplits, parts.count > 1 {
                split = splitNames[parts[0].lowercased()]
                parts.removeFirst()
            }
            let label = labelsFromFolders && parts.count > 1 ? parts[0] : nil
            return ImportItem(path: file.relative, url: file.url, label: label, split: split)
        }
    }

    struct File {
        let url: URL
        let relative: String
        var components: [String] { relative.split(separator: "/").map(String.init) }
    }

    static func regularFiles(under root: URL) -> [File] {
        let base = root.standardizedFileURL.path
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
        var out: [File] = []
        while let url = enumerator?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let path = url.standardizedFileURL.path
            let relative = path.hasPrefix(base + "/") ? String(path.dropFirst(base.count + 1)) : url.lastPathComponent
            out.append(File(url: url, relative: relative))
        }
        return out.sorted { $0.relative < $1.relative }
    }

    static func isDirectory(_ url: URL) -> Bool {
        var dir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &dir) && dir.boolValue
    }
}
