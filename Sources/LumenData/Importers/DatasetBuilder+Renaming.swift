import Foundation
import LumenImaging

/// What an import produced: the entries, the files left out, and for de-identified DICOM the report
/// and the original names (kept only if the caller asks, see `DeIdentificationMapping`).
public struct ImportResult: Sendable {
    public var entries: [DatasetEntry]
    public var skipped: [SkippedFile]
    /// What de-identification did, per stored file; nil when no file was de-identified.
    public var report: DeIdentificationReport?
    /// Original path → stored path of every renamed file (skipped ones included).
    public var renamedPaths: [PathMapping]
}

/// One renamed file: where it came from and the name the manifest gives it.
public struct PathMapping: Codable, Sendable, Equatable {
    public var original: String
    public var stored: String
}

/// A de-identified file's name, proposed from keyed digests, and what was done to it.
struct Renaming: Sendable {
    let original: String
    let proposed: String
    let record: DeIdentificationRecord
}

extension DatasetBuilder {
    /// Replaces the original names of de-identified files, which in hospitals often carry a medical
    /// record or accession number, by their keyed names ("LUMEN-…/study-…/series-…/image-….dcm"; a
    /// clash, such as one instance stored twice, gets "-2", "-3", … in original-path order). When the
    /// import de-identified anything, skipped files are renamed too ("unreadable/…"), since their
    /// names are as telling, and their reasons no longer quote the original path.
    func renamed(_ outcomes: [(DatasetEntry, Renaming?)], skipped: [SkippedFile], deidentifying: Bool) -> ImportResult {
        var taken = Set(outcomes.compactMap { $0.1 == nil ? $0.0.path : nil })
        var entries: [DatasetEntry] = []
        var files: [DeIdentificationReport.File] = []
        var mapping: [PathMapping] = []
        for (entry, renaming) in outcomes.sorted(by: { $0.0.path < $1.0.path }) {
            guard let renaming else { entries.append(entry); continue }
            let stem = String(renaming.proposed.dropLast(".dcm".count))
            var path = renaming.proposed, n = 1
            while !taken.insert(path).inserted { n += 1; path = "\(stem)-\(n).dcm" }
            var renamed = entry
            renamed.path = path
            if let mask = entry.maskPath {
                let ext = (mask as NSString).pathExtension
                renamed.maskPath = stem + (n > 1 ? "-\(n)" : "") + ".mask" + (ext.isEmpty ? "" : "." + ext)
            }
            entries.append(renamed)
            files.append(.init(path: path, record: renaming.record))
            mapping.append(PathMapping(original: entry.path, stored: path))
        }
        var hidden = skipped
        if deidentifying, let deidentifier {
            hidden = skipped.map { file in
                let name = "unreadable/" + deidentifier.pseudonyms.token("skipped-path", file.path) + ((file.path as NSString).pathExtension.isEmpty ? "" : "." + (file.path as NSString).pathExtension.lowercased())
                mapping.append(PathMapping(original: file.path, stored: name))
                var reason = file.reason.replacingOccurrences(of: file.path, with: name)
                for part in file.path.split(separator: "/") where part.count >= 3 {
                    reason = reason.replacingOccurrences(of: String(part), with: "…")
                }
                return SkippedFile(path: name, reason: reason)
            }
        }
        let report = files.isEmpty ? nil : DeIdentificationReport(datesRemoved: options.removeDates, files: files.sorted { $0.path < $1.path })
        return ImportResult(entries: entries.sorted { $0.path < $1.path }, skipped: hidden.sorted { $0.path < $1.path }, report: report, renamedPaths: mapping)
    }
}
