/// What changed between two dataset versions, by path.
public struct DatasetDiff: Codable, Sendable, Equatable {
    public var added: [String]
    public var removed: [String]
    /// Files whose label changed: path, old label, new label.
    public var relabelled: [Relabel]
    /// Files whose content changed under the same path.
    public var modified: [String]
    /// Files that moved to another split.
    public var resplit: [String]

    public struct Relabel: Codable, Sendable, Equatable {
        public var path: String
        public var from: String?
        public var to: String?
    }

    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && relabelled.isEmpty && modified.isEmpty && resplit.isEmpty }
}

extension DatasetVersion {
    /// The differences from `old` to `self`.
    public func diff(from old: DatasetVersion) -> DatasetDiff {
        let before = Dictionary(old.entries.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(entries.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var diff = DatasetDiff(added: [], removed: [], relabelled: [], modified: [], resplit: [])
        for (path, e) in after.sorted(by: { $0.key < $1.key }) {
            guard let o = before[path] else { diff.added.append(path); continue }
            if o.label != e.label { diff.relabelled.append(.init(path: path, from: o.label, to: e.label)) }
            if o.sha256 != e.sha256 || o.maskSHA256 != e.maskSHA256 { diff.modified.append(path) }
            if o.split != e.split { diff.resplit.append(path) }
        }
        diff.removed = before.keys.filter { after[$0] == nil }.sorted()
        return diff
    }
}
