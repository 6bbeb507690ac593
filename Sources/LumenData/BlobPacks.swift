import Crypto
import Foundation
import LumenWorkspace

/// Content-addressed blobs packed many to a file, like git's packs, under `ARTIFACTS/packs/`: an import
/// writes each worker's blobs one after another into `NAME.pack` and, once the pack is on disk, an index
/// `NAME.idx` (SHA-256, offset, length per blob, written atomically). Creating one file per blob costs a
/// file-system inode each; a pack costs one per worker. An index only ever names data already synced.
enum BlobPacks {
    static func folder(_ artifactRoot: URL) -> String { artifactRoot.path + "/packs" }

    /// Index records are 48 bytes: 32 bytes of digest, then offset and length as little-endian UInt64.
    static let recordSize = 48
}

/// Appends blobs to one pack file; `finish()` syncs it and writes its index.
final class PackWriter {
    let path: String
    private let fd: Int32
    private var offset: UInt64 = 0
    private var records: [(digest: [UInt8], offset: UInt64, length: UInt64)] = []

    init(folder: String, name: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        path = folder + "/" + name + ".pack"
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DataError.io(path: path, reason: "cannot create a pack: \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    var isEmpty: Bool { records.isEmpty }

    func append(_ bytes: [UInt8], digest: [UInt8]) throws {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw DataError.io(path: path, reason: "cannot write: \(String(cString: strerror(errno)))") }
            written += n
        }
        records.append((digest, offset, UInt64(bytes.count)))
        offset += UInt64(bytes.count)
    }

    /// Syncs the pack, then writes and syncs its index (temporary file, rename); an empty pack is removed.
    func finish() throws {
        if records.isEmpty { unlink(path); return }
        guard fsync(fd) == 0 else { throw DataError.io(path: path, reason: "cannot sync the pack") }
        var index = [UInt8]()
        index.reserveCapacity(records.count * BlobPacks.recordSize)
        for r in records {
            index += r.digest
            withUnsafeBytes(of: r.offset.littleEndian) { index += $0 }
            withUnsafeBytes(of: r.length.littleEndian) { index += $0 }
        }
        let indexPath = String(path.dropLast(5)) + ".idx"
        do { try Data(index).write(to: URL(fileURLWithPath: indexPath, isDirectory: false), options: .atomic) } catch {
            throw DataError.io(path: indexPath, reason: "cannot write the pack index: \(error)")
        }
    }
}

/// The blobs of every pack under an artifact root, by SHA-256, loaded lazily and reloaded when a lookup
/// misses and new indexes have appeared.
final class PackIndex: Sendable {
    struct Location: Sendable { let pack: String; let offset: UInt64; let length: UInt64 }
    /// What has been read of the folder: blob locations, the index files read, and the folder's mtime then.
    struct State: Sendable {
        var locations: [String: Location] = [:]
        var loaded: Set<String> = []
        var scannedSeconds: Int?
        var scannedNanoseconds: Int?
    }
    let folder: String
    private let state = Locked(State())

    init(folder: String) { self.folder = folder }

    func location(_ sha256: String) -> Location? {
        state.withLock { s in
            if let hit = s.locations[sha256] { return hit }
            reload(&s)
            return s.locations[sha256]
        }
    }

    func contains(_ sha256: String) -> Bool { location(sha256) != nil }

    private func reload(_ s: inout State) {
        // Rescan only when the folder changed (a new index appears): a miss costs one stat, not a listing.
        var info = stat()
        guard stat(folder, &info) == 0 else { return }
        if s.scannedSeconds == info.st_mtim.tv_sec, s.scannedNanoseconds == info.st_mtim.tv_nsec { return }
        s.scannedSeconds = info.st_mtim.tv_sec
        s.scannedNanoseconds = info.st_mtim.tv_nsec
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in names where name.hasSuffix(".idx") && !s.loaded.contains(name) {
            guard let data = FileManager.default.contents(atPath: folder + "/" + name) else { continue }
            let pack = folder + "/" + name.dropLast(4) + ".pack"
            let bytes = [UInt8](data)
            var i = 0
            while i + BlobPacks.recordSize <= bytes.count {
                let digest = hex(bytes[i..<i + 32])
                let offset = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: i + 32, as: UInt64.self)) }
                let length = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: i + 40, as: UInt64.self)) }
                s.locations[digest] = Location(pack: pack, offset: offset, length: length)
                i += BlobPacks.recordSize
            }
            s.loaded.insert(name)
        }
    }

    /// The bytes of a packed blob, or nil when no pack holds it.
    func read(_ sha256: String) throws(DataError) -> [UInt8]? {
        guard let at = location(sha256) else { return nil }
        let fd = open(at.pack, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: at.pack, reason: "cannot open the pack holding \(sha256)") }
        defer { close(fd) }
        let total = Int(at.length)
        var bytes = [UInt8](repeating: 0, count: total)
        var done = 0
        while done < total {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, total - done, off_t(at.offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io(path: at.pack, reason: "the pack is shorter than its index says (blob \(sha256))") }
            done += n
        }
        return bytes
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

/// Lower-case hexadecimal of `bytes` (String(format:) per byte is slow enough to matter for 10,000 files).
func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(hexDigits[Int(b >> 4)])
        out.append(hexDigits[Int(b & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
}
