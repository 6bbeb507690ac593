import Crypto
import Foundation

/// The task a dataset serves.
public enum DatasetTask: String, Codable, Sendable {
    case classification, segmentation
}

/// One file of a dataset version: its content address, label, patient/group, split and metadata.
public struct DatasetEntry: Codable, Sendable, Equatable {
    /// Where the file came from, relative to the import source.
    public var path: String
    /// SHA-256 of the stored bytes (after de-identification for DICOM): the key in the artifact store.
    public var sha256: String
    public var size: Int64
    public var format: String
    /// Class name; several labels (multi-label) are joined by `|`.
    public var label: String?
    /// Patient or other group: files of one group never fall in two splits.
    public var group: String?
    /// `train`, `val` or `test` when assigned.
    public var split: String?
    /// The mask of a segmentation pair.
    public var maskSHA256: String?
    public var maskPath: String?
    /// Non-identifying properties (size, bit depth, modality, CSV columns, fold).
    public var metadata: [String: String]

    public init(path: String, sha256: String, size: Int64, format: String, label: String? = nil, group: String? = nil,
                split: String? = nil, maskSHA256: String? = nil, maskPath: String? = nil, metadata: [String: String] = [:]) {
        self.path = path
        self.sha256 = sha256
        self.size = size
        self.format = format
        self.label = label
        self.group = group
        self.split = split
        self.maskSHA256 = maskSHA256
        self.maskPath = maskPath
        self.metadata = metadata
    }

    /// The labels of a multi-label entry.
    public var labels: [String] { label.map { $0.split(separator: "|").map(String.init) } ?? [] }
}

/// A file an import left out, and why.
public struct SkippedFile: Codable, Sendable, Equatable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// An immutable dataset version: a manifest of entries whose id is derived from its content, so the
/// same files with the same labels and splits always give the same id.
public struct DatasetVersion: Codable, Sendable, Equatable {
    public var name: String
    public var id: String
    public var createdAt: Date
    public var task: DatasetTask
    /// Where the data came from (folder, CSV, .npz) and how it was imported.
    public var source: String
    /// The version this one was derived from (a re-split), if any.
    public var parent: String?
    public var entries: [DatasetEntry]
    public var skipped: [SkippedFile]
    /// SHA-256 of the de-identification report in the artifact store (`DeIdentificationReport`), for
    /// versions imported with DICOM de-identified. Not part of the id.
    public var deidentificationReport: String?

    public init(name: String, task: DatasetTask, source: String, parent: String? = nil, entries: [DatasetEntry], skipped: [SkippedFile] = [], createdAt: Date = Date()) {
        self.name = name
        self.task = task
        self.source = source
        self.parent = parent
        self.entries = entries.sorted { $0.path < $1.path }
        self.skipped = skipped
        self.createdAt = createdAt
        self.id = DatasetVersion.contentID(task: task, entries: self.entries)
    }

    /// `NAME:ID`, how runs and commands refer to this version.
    public var reference: String { "\(name):\(id)" }

    /// The sorted class names.
    public var classes: [String] { Array(Set(entries.flatMap(\.labels))).sorted() }

    /// Entries of one split (all entries for nil).
    public func entries(in split: String?) -> [DatasetEntry] {
        guard let split else { return entries }
        return entries.filter { $0.split == split }
    }

    /// 12 hex digits of the SHA-256 of the canonical manifest (task, then per entry: path, hashes, label, group, split, fold).
    static func contentID(task: DatasetTask, entries: [DatasetEntry]) -> String {
        var hasher = SHA256()
        hasher.update(data: Data(task.rawValue.utf8))
        for e in entries {
            let fields = [e.path, e.sha256, e.maskSHA256 ?? "", e.label ?? "", e.group ?? "", e.split ?? "", e.metadata["fold"] ?? ""]
            hasher.update(data: Data((fields.joined(separator: "\u{1F}") + "\u{1E}").utf8))
        }
        return hasher.finalize().prefix(6).map { String(format: "%02x", $0) }.joined()
    }
}
