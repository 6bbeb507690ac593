import Foundation
import LumenImaging
import LumenWorkspace

/// Where dataset versions live: manifests under `datasets/NAME/ID.json` of the artifact root (written
/// atomically, never changed), file bytes in the content-addressed artifact store. Both are under the
/// artifact root, so every workspace and server pointed at the same root sees the same datasets.
public struct DatasetRepository: Sendable {
    public let folder: URL
    public let artifacts: ArtifactStore
    let packs: PackIndex

    public init(folder: URL, artifacts: ArtifactStore) {
        self.folder = folder
        self.artifacts = artifacts
        self.packs = PackIndex(folder: BlobPacks.folder(artifacts.root))
    }

    public init(workspace: Workspace) {
        self.init(folder: workspace.artifactRoot.appendingPathComponent("datasets"), artifacts: ArtifactStore(root: workspace.artifactRoot))
        Self.adoptLegacyManifests(from: workspace.folder.appendingPathComponent("datasets"), into: folder)
    }

    /// Workspaces made before manifests moved to the artifact root kept them in `.lumen/datasets/`: each one
    /// missing from the artifact root is copied there (versions are immutable, so a copy is the same version).
    static func adoptLegacyManifests(from legacy: URL, into folder: URL) {
        guard legacy.standardizedFileURL != folder.standardizedFileURL,
              let names = try? FileManager.default.contentsOfDirectory(atPath: legacy.path) else { return }
        for name in names where !name.hasPrefix(".") {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: legacy.appendingPathComponent(name).path)) ?? []
            for file in files where file.hasSuffix(".json") {
                let target = folder.appendingPathComponent(name).appendingPathComponent(file)
                guard !FileManager.default.fileExists(atPath: target.path),
                      let data = try? Data(contentsOf: legacy.appendingPathComponent(name).appendingPathComponent(file)) else { continue }
                try? FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try? data.write(to: target, options: .atomic)
            }
        }
    }

    /// Saves `version` (a no-op when the same id exists: versions are immutable).
    @discardableResult
    public func save(_ version: DatasetVersion) throws(DataError) -> URL {
        try checkName(version.name)
        let dir = folder.appendingPathComponent(version.name)
        let file = dir.appendingPathComponent("\(version.id).json")
        if FileManager.default.fileExists(atPath: file.path) { return file }
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            try encoder.encode(version).write(to: file, options: .atomic)
        } catch {
            throw .io(path: file.path, reason: "cannot write the manifest: \(error)")
        }
        return file
    }

    /// Dataset names.
    public func names() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Every version of `name`, oldest first.
    public func versions(of name: String) throws(DataError) -> [DatasetVersion] {
        let dir = folder.appendingPathComponent(name)
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else {
            throw .notFound("no dataset named '\(name)' (known: \(names().joined(separator: ", ")))")
        }
        var versions: [DatasetVersion] = []
        for file in files where file.hasSuffix(".json") {
            versions.append(try load(dir.appendingPathComponent(file)))
        }
        // Manifests keep whole seconds: a version derived in the same second as its parent (an import
        // and its split) still sorts after it, by its depth in the parent chain.
        let byID = Dictionary(versions.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func depth(_ v: DatasetVersion) -> Int {
            var d = 0, seen = Set<String>(), parent = v.parent
            while let id = parent, let p = byID[id], seen.insert(id).inserted { d += 1; parent = p.parent }
            return d
        }
        let keyed = versions.map { (v: $0, created: $0.createdAt.timeIntervalSince1970.rounded(.down), depth: depth($0)) }
        return keyed.sorted { ($0.created, $0.depth, $0.v.id) < ($1.created, $1.depth, $1.v.id) }.map(\.v)
    }

    /// Resolves `NAME`, `NAME:latest`, `NAME:ID` or `NAME:ID-prefix`.
    public func resolve(_ reference: String) throws(DataError) -> DatasetVersion {
        let parts = reference.split(separator: ":", maxSplits: 1).map(String.init)
        guard let name = parts.first, !name.isEmpty else { throw .invalidArgument("empty dataset reference") }
        let all = try versions(of: name)
        guard let latest = all.last else { throw .notFound("dataset '\(name)' has no versions") }
        guard parts.count == 2, parts[1] != "latest" else { return latest }
        let matches = all.filter { $0.id.hasPrefix(parts[1]) }
        guard matches.count == 1 else {
            throw .notFound(matches.isEmpty ? "dataset '\(name)' has no version '\(parts[1])' (versions: \(all.map(\.id).joined(separator: ", ")))" : "version prefix '\(parts[1])' is ambiguous")
        }
        return matches[0]
    }

    func load(_ url: URL) throws(DataError) -> DatasetVersion {
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(DatasetVersion.self, from: Data(contentsOf: url))
        } catch {
            throw .io(path: url.path, reason: "unreadable manifest: \(error)")
        }
    }

    /// The stored bytes of a file: a loose blob of the artifact store, or a blob of a dataset pack.
    public func bytes(_ sha256: String) throws(DataError) -> [UInt8] {
        if let packed = try packs.read(sha256) { return packed }
        guard sha256.count == 64, sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { throw .invalidArgument("invalid content address '\(sha256.prefix(70))'") }
        let path = artifacts.root.path + "/sha256/" + sha256.prefix(2) + "/" + sha256.dropFirst(2)
        do { return try ImageReader.readFile(URL(fileURLWithPath: path, isDirectory: false)) } catch {
            throw .notFound("blob \(sha256) is missing from the artifact store \(artifacts.root.path)")
        }
    }

    /// True when the store holds the blob (loose or packed).
    public func contains(_ sha256: String) -> Bool {
        access(artifacts.root.path + "/sha256/" + sha256.prefix(2) + "/" + sha256.dropFirst(2), F_OK) == 0 || packs.contains(sha256)
    }

    func checkName(_ name: String) throws(DataError) {
        let ok = !name.isEmpty && name.count <= 100 && name.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) } && !name.hasPrefix(".")
        guard ok else { throw .invalidArgument("dataset name '\(name)' must be 1–100 letters, digits, '-', '_' or '.'") }
    }
}
