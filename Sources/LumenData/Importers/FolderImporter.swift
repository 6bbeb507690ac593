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

    /// Regular files under `root` (hidden ones skipped), by relative path. Walks with readdir, whose entry
    /// types save a stat per file; symbolic links to files are followed, links to folders are not.
    static func regularFiles(under root: URL) -> [File] {
        var out: [File] = []
        func walk(_ dir: String, _ prefix: String) {
            guard let handle = opendir(dir) else { return }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
                if name.hasPrefix(".") { continue }
                let path = dir + "/" + name, relative = prefix.isEmpty ? name : prefix + "/" + name
                var type = Int32(entry.pointee.d_type)
                if type == Int32(DT_UNKNOWN) || type == Int32(DT_LNK) {
                    var info = stat()
                    guard stat(path, &info) == 0 else { continue }
                    type = (info.st_mode & S_IFMT) == S_IFDIR ? (type == Int32(DT_LNK) ? -1 : Int32(DT_DIR)) : ((info.st_mode & S_IFMT) == S_IFREG ? Int32(DT_REG) : -1)
                }
                if type == Int32(DT_DIR) { walk(path, relative) } else if type == Int32(DT_REG) { out.append(File(url: URL(fileURLWithPath: path, isDirectory: false), relative: relative)) }
            }
        }
        var base = root.path
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        walk(base, "")
        return out.sorted { $0.relative < $1.relative }
    }

    static func isDirectory(_ url: URL) -> Bool {
        var dir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &dir) && dir.boolValue
    }
}
