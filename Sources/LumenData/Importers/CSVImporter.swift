import Foundation

/// Items from a CSV/TSV (or whitespace-separated) manifest: a path column, a label, optional patient/group
/// and split columns; every other column is kept as metadata. Paths are relative to the manifest's folder
/// unless `root` says otherwise.
public struct CSVImporter: Sendable {
    public enum Delimiter: String, Sendable { case auto, comma, tab, whitespace, semicolon }

    public var delimiter: Delimiter = .auto
    /// Column names for a file without a header row (e.g. `path,label,type` for ELPV's labels.csv).
    public var columns: [String]?
    public var pathColumn: String?
    public var labelColumn: String?
    public var groupColumn: String?
    public var splitColumn: String?
    public var root: URL?

    public init() {}

    static let pathNames = ["path", "file", "filename", "file_name", "image", "image_path", "filepath", "img"]
    public static let labelNames = ["label", "labels", "class", "target", "y", "diagnosis", "finding"]
    static let groupNames = ["patient_id", "patientid", "patient", "group", "subject", "subject_id", "case", "case_id"]
    static let splitNames = ["split", "subset", "set", "partition"]

    public func items(csv: URL) throws(DataError) -> [ImportItem] {
        guard let data = FileManager.default.contents(atPath: csv.path), let text = String(data: data, encoding: .utf8) else {
            throw .invalidSource(path: csv.path, reason: "cannot read the manifest as UTF-8 text")
        }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard let first = lines.first else { throw .invalidSource(path: csv.path, reason: "the manifest is empty") }
        let mode = delimiter == .auto ? guess(first) : delimiter
        var rows = lines.map { split($0, mode) }
        let header: [String]
        if let columns { header = columns } else { header = rows.removeFirst().map { $0.lowercased() } }
        func find(_ explicit: String?, _ names: [String], required: Bool) throws(DataError) -> Int? {
            if let explicit {
                guard let i = header.firstIndex(of: explicit.lowercased()) else {
                    throw .invalidSource(path: csv.path, reason: "no column '\(explicit)'; columns are \(header.joined(separator: ", "))")
                }
                return i
            }
            let i = header.firstIndex { names.contains($0) }
            if required && i == nil {
                throw .invalidSource(path: csv.path, reason: "no path column (one of \(names.joined(separator: ", "))); columns are \(header.joined(separator: ", ")); name it with --path-column or give --columns")
            }
            return i
        }
        let pathIndex = try find(pathColumn, Self.pathNames, required: true)!
        let labelIndex = try find(labelColumn, Self.labelNames, required: false)
        let groupIndex = try find(groupColumn, Self.groupNames, required: false)
        let splitIndex = try find(splitColumn, Self.splitNames, required: false)
        let base = root ?? csv.deletingLastPathComponent()
        var items: [ImportItem] = []
        for (n, row) in rows.enumerated() {
            guard row.count > pathIndex, !row[pathIndex].isEmpty else {
                throw .invalidSource(path: csv.path, reason: "line \(n + (columns == nil ? 2 : 1)): no value in the path column")
            }
            let path = row[pathIndex]
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
            var metadata: [String: String] = [:]
            for (i, name) in header.enumerated() where ![pathIndex, labelIndex, groupIndex, splitIndex].contains(i) && i < row.count {
                metadata[name] = row[i]
            }
            func value(_ i: Int?) -> String? { i.flatMap { $0 < row.count && !row[$0].isEmpty ? row[$0] : nil } }
            let split = value(splitIndex).map { FolderImporter.splitNames[$0.lowercased()] ?? $0.lowercased() }
            items.append(ImportItem(path: path, url: url, label: value(labelIndex), group: value(groupIndex), split: split, metadata: metadata))
        }
        return items
    }

    func guess(_ line: String) -> Delimiter {
        if line.contains("\t") { return .tab }
        if line.contains(",") { return .comma }
        if line.contains(";") { return .semicolon }
        return .whitespace
    }

    /// Splits one line; comma/semicolon fields may be double-quoted ("a, b" and "" escapes).
    func split(_ line: String, _ mode: Delimiter) -> [String] {
        switch mode {
        case .whitespace, .auto: return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        case .tab: return line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        case .comma, .semicolon:
            let sep: Character = mode == .comma ? "," : ";"
            var fields: [String] = [], current = "", quoted = false
            var chars = Array(line)[...]
            while let c = chars.popFirst() {
                if quoted {
                    if c == "\"" { if chars.first == "\"" { current.append("\""); chars.removeFirst() } else { quoted = false } } else { current.append(c) }
                } else if c == "\"" { quoted = true } else if c == sep { fields.append(current.trimmingCharacters(in: .whitespaces)); current = "" } else { current.append(c) }
            }
            fields.append(current.trimmingCharacters(in: .whitespaces))
            return fields
        }
    }
}
