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
            throw ArtifactError.invalidAddress(sha256)
        }
        return root.appendingPathComponent("sha256").appendingPathComponent(String(sha256.prefix(2))).appendingPathComponent(String(sha256.dropFirst(2)))
    }

    /// A writer for a new blob: feed chunks, then `finish()` to hash-address it (or `cancel()`).
    public func makeWriter(maxBytes: Int64) throws -> BlobWriter {
        let tmp = root.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let file = tmp.appendingPathComponent(UUID().uuidString)
        guard FileManager.default.createFile(atPath: file.path, contents: nil), let handle = try? FileHandle(forWritingTo: file) else {
            throw ArtifactError.io(path: root.path, reason: "cannot write under the artifact root")
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
            throw ArtifactError.tooLarge(limit: maxBytes)
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
                throw ArtifactError.io(path: target.path, reason: "cannot move the artifact into place")
            }
        }
        return (digest, size)
    }

    public func cancel() {
        try? handle.close()
        try? FileManager.default.removeItem(at: temporary)
    }
}

/// What can go wrong with artifact files: a malformed address, a blob over its size limit, or a
/// file-system failure under the artifact root.
public enum ArtifactError: Error, CustomStringConvertible, Sendable {
    case invalidAddress(String)
    case tooLarge(limit: Int64)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidAddress(a): return "invalid content address '\(a.prefix(70))'"
        case let .tooLarge(limit): return "artifact exceeds the size limit of \(limit) bytes"
        case let .io(path, reason): return "\(path): \(reason)"
        }
    }
}
