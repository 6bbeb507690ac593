import Crypto
import Foundation

/// Content-addressed file storage under the artifact root: `sha256/ab/cdef…`. Identical bytes are
/// stored once; a blob is written to a temporary file and renamed into place, so a crash never
/// leaves a partial blob under its final name.
public struct ArtifactStore: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// Where the blob with this digest lives.
    public func url(for sha256: String) throws -> URL {
        guard sha256.count == 64, sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw StoreError.invalidParameter("invalid content address '\(sha256.prefix(70))'")
        }
        return root.appendingPathComponent("sha256").appendingPathComponent(String(sha256.prefix(2))).appendingPathComponent(String(sha256.dropFirst(2)))
    }

    /// A writer for a new blob: feed chunks, then `finish()` to hash-address it (or `cancel()`).
    public func makeWriter(maxBytes: Int64) throws -> BlobWriter {
        let tmp = root.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let file = tmp.appendingPathComponent(UUID().uuidString)
        guard FileManager.default.createFile(atPath: file.path, contents: nil), let handle = try? FileHandle(forWritingTo: file) else {
            throw StoreError.database("cannot write under the artifact root \(root.path)")
        }
        return BlobWriter(store: self, temporary: file, handle: handle, maxBytes: maxBytes)
    }

    /// Stores `data` and returns its digest.
    public func put(_ data: Data) throws -> (sha256: String, size: Int64) {
        let writer = try makeWriter(maxBytes: Int64(data.count))
        try writer.write(data)
        return try writer.finish()
    }
}

/// Streams one blob to disk while hashing it.
public final class BlobWriter {
    let store: ArtifactStore
    let temporary: URL
    let handle: FileHandle
    let maxBytes: Int64
    private var hasher = SHA256()
    private(set) var size: Int64 = 0

    init(store: ArtifactStore, temporary: URL, handle: FileHandle, maxBytes: Int64) {
        self.store = store
        self.temporary = temporary
        self.handle = handle
        self.maxBytes = maxBytes
    }

    public func write(_ data: Data) throws {
        size += Int64(data.count)
        guard size <= maxBytes else {
            cancel()
            throw StoreError.invalidParameter("artifact exceeds the size limit of \(maxBytes) bytes")
        }
        hasher.update(data: data)
        try handle.write(contentsOf: data)
    }

    /// Closes, names the blob by its SHA-256 and moves it into place (kept once if it already exists).
    public func finish() throws -> (sha256: String, size: Int64) {
        try handle.synchronize()
        try handle.close()
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        let target = try store.url(for: digest)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: target.path) {
            try? FileManager.default.removeItem(at: temporary)
        } else {
            if rename(temporary.path, target.path) != 0 {
                try? FileManager.default.removeItem(at: temporary)
                throw StoreError.database("cannot move artifact into place at \(target.path)")
            }
        }
        return (digest, size)
    }

    public func cancel() {
        try? handle.close()
        try? FileManager.default.removeItem(at: temporary)
    }
}

/// Artifact paths come from clients: relative, `/`-separated, no `..`, no empty or hidden tricks.
public enum ArtifactPath {
    public static func validate(_ path: String) throws -> String {
        let trimmed = path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.hasPrefix("/"), !path.contains("\\"), !path.contains("\0"), path.count <= 1024,
              !parts.contains(where: { $0 == ".." || $0 == "." || ($0.isEmpty && !trimmed.isEmpty) }) else {
            throw StoreError.invalidParameter("invalid artifact path '\(path.prefix(100))': it must be relative and must not contain '..'")
        }
        return trimmed
    }
}
