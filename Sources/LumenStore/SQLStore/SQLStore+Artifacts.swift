import SQLKit

extension SQLStore {
    public func recordArtifact(path: String, sha256: String, size: Int64) async throws {
        let clean = try ArtifactPath.validate(path)
        try await db.raw("""
            INSERT INTO artifact_files (path, sha256, size, created) VALUES (\(bind: clean), \(bind: sha256), \(bind: size), \(bind: Clock.nowMillis()))
            ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, created = excluded.created
            """).run()
    }

    public func artifact(path: String) async throws -> ArtifactEntry? {
        let clean = try ArtifactPath.validate(path)
        guard let row = try await db.raw("SELECT path, sha256, size FROM artifact_files WHERE path = \(bind: clean)").first() else { return nil }
        return ArtifactEntry(path: clean, isDirectory: false, size: try row.decode(column: "size", as: Int64.self),
                             sha256: try row.decode(column: "sha256", as: String.self))
    }

    public func listArtifacts(directory: String) async throws -> [ArtifactEntry] {
        let clean = try ArtifactPath.validate(directory)
        let prefix = clean.isEmpty ? "" : clean + "/"
        // Range scan on the primary key: every path that starts with the prefix.
        let rows = try await db.raw("""
            SELECT path, sha256, size FROM artifact_files WHERE path >= \(bind: prefix) AND path < \(bind: prefix + "\u{10FFFF}") ORDER BY path
            """).all()
        var entries: [String: ArtifactEntry] = [:]
        for row in rows {
            let path = try row.decode(column: "path", as: String.self)
            guard path.hasPrefix(prefix) else { continue }
            let rest = path.dropFirst(prefix.count)
            if let slash = rest.firstIndex(of: "/") {
                let dir = prefix + rest[..<slash]
                entries[dir] = ArtifactEntry(path: dir, isDirectory: true, size: nil, sha256: nil)
            } else {
                entries[path] = ArtifactEntry(path: path, isDirectory: false, size: try row.decode(column: "size", as: Int64.self),
                                              sha256: try row.decode(column: "sha256", as: String.self))
            }
        }
        return entries.values.sorted { $0.path < $1.path }
    }
}
