import Foundation

/// A Lumen workspace: a `.lumen/` folder (like `.git`) holding `config.yaml`, the embedded database and
/// the artifact store. Commands find the nearest one upward from the current directory, or use
/// `--workspace` / `LUMEN_HOME`.
public struct Workspace: Sendable {
    /// The folder that contains `.lumen/`.
    public let root: URL
    public var configuration: WorkspaceConfiguration

    public var folder: URL { root.appendingPathComponent(".lumen") }
    public var configFile: URL { folder.appendingPathComponent("config.yaml") }

    /// The artifact root as an absolute path.
    public var artifactRoot: URL {
        let path = configuration.artifacts
        return path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path)
    }

    /// The store URI in force: `LUMEN_STORE` when set, else `store:` in config.yaml.
    public var storeURI: String { ProcessInfo.processInfo.environment["LUMEN_STORE"] ?? configuration.store }

    /// Creates `.lumen/` with a commented `config.yaml` in `root`; fails if one exists.
    public static func create(at root: URL, store: String? = nil) throws -> Workspace {
        let folder = root.appendingPathComponent(".lumen")
        guard !FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.yaml").path) else {
            throw WorkspaceError.alreadyExists(folder.path)
        }
        var configuration = WorkspaceConfiguration()
        if let store { configuration.store = store }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("artifacts"), withIntermediateDirectories: true)
        try configuration.yaml.write(to: folder.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        return Workspace(root: root, configuration: configuration)
    }

    /// Finds the workspace: `explicit`, else `LUMEN_HOME`, else the nearest `.lumen/` upward from `start`.
    public static func find(explicit: String? = nil, from start: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) throws -> Workspace {
        if let path = explicit ?? ProcessInfo.processInfo.environment["LUMEN_HOME"] {
            let url = URL(fileURLWithPath: path).standardizedFileURL
            let root = url.lastPathComponent == ".lumen" ? url.deletingLastPathComponent() : url
            return try load(root)
        }
        var dir = start.standardizedFileURL
        while true {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent(".lumen/config.yaml").path) { return try load(dir) }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { throw WorkspaceError.notFound(start.path) }
            dir = parent
        }
    }

    static func load(_ root: URL) throws -> Workspace {
        let file = root.appendingPathComponent(".lumen/config.yaml")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { throw WorkspaceError.notFound(root.path) }
        return Workspace(root: root, configuration: try WorkspaceConfiguration(yaml: text, source: file.path))
    }
}

/// `.lumen/config.yaml`: every key documented here and in `docs/configuration.md`.
public struct WorkspaceConfiguration: Sendable, Equatable {
    /// Where runs, metrics and models are recorded: `sqlite:PATH` (relative to the workspace root) or `postgres://…`.
    public var store = "sqlite:.lumen/lumen.db"
    /// Where artifact files are stored (content-addressed); relative to the workspace root or absolute (shared storage).
    public var artifacts = ".lumen/artifacts"

    public static let keys = ["store", "artifacts"]

    public init() {}

    /// Parses the simple `key: value` YAML of config.yaml; unknown keys are errors that list the allowed ones.
    public init(yaml text: String, source: String) throws {
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            guard let colon = line.firstIndex(of: ":") else {
                throw WorkspaceError.invalidConfig(source, "line \(number + 1): expected 'key: value'")
            }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q { value = String(value.dropFirst().dropLast()) }
            switch key {
            case "store": store = value
            case "artifacts": artifacts = value
            default:
                throw WorkspaceError.invalidConfig(source, "line \(number + 1): unknown key '\(key)' (allowed: \(Self.keys.joined(separator: ", ")))")
            }
            guard !value.isEmpty else { throw WorkspaceError.invalidConfig(source, "line \(number + 1): '\(key)' needs a value") }
        }
    }

    var yaml: String {
        """
        # Lumen workspace configuration (see docs/configuration.md).
        # store: where experiments, runs, metrics and models are recorded.
        #   sqlite:PATH (relative to this workspace's root) is the embedded default;
        #   postgres://user:password@host:5432/lumen lets a team and several servers share one store.
        store: \(store)
        # artifacts: where files (datasets, checkpoints, reports) are kept, content-addressed by SHA-256.
        #   A relative path is under the workspace root; point it at shared storage for a team.
        artifacts: \(artifacts)

        """
    }
}

public enum WorkspaceError: Error, CustomStringConvertible {
    case notFound(String), alreadyExists(String), invalidConfig(String, String)
    public var description: String {
        switch self {
        case let .notFound(path): return "no Lumen workspace at or above \(path): run `lumen init` there, or pass --workspace / set LUMEN_HOME"
        case let .alreadyExists(path): return "\(path) already holds a Lumen workspace"
        case let .invalidConfig(file, reason): return "\(file): \(reason)"
        }
    }
}
