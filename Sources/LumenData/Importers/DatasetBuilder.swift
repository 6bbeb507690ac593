import Crypto
import Foundation
import LumenImaging
import LumenWorkspace

/// One file to ingest: where it is (or its bytes), and what the importer knows of it.
public struct ImportItem: Sendable {
    public var path: String
    public var url: URL?
    public var bytes: [UInt8]?
    public var label: String?
    public var group: String?
    public var split: String?
    public var mask: URL?
    public var maskBytes: [UInt8]?
    public var metadata: [String: String]

    public init(path: String, url: URL? = nil, bytes: [UInt8]? = nil, label: String? = nil, group: String? = nil, split: String? = nil,
                mask: URL? = nil, maskBytes: [UInt8]? = nil, metadata: [String: String] = [:]) {
        self.path = path
        self.url = url
        self.bytes = bytes
        self.label = label
        self.group = group
        self.split = split
        self.mask = mask
        self.maskBytes = maskBytes
        self.metadata = metadata
    }
}

/// Import options shared by every importer.
public struct ImportOptions: Sendable {
    /// De-identify DICOM before storing it (on by default; the opt-out is explicit).
    public var deidentify = true
    /// Remove dates instead of shifting them.
    public var removeDates = false
    /// Worker threads that decode, de-identify and hash files.
    public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Called after each file with (done, total).
    public var progress: (@Sendable (Int, Int) -> Void)?
    public init() {}
}

/// Turns import items into stored, validated entries: every file is decoded once (a file that does not
/// decode is skipped with its reason), DICOM is de-identified, and the bytes are stored by SHA-256.
public struct DatasetBuilder: Sendable {
    public let repository: DatasetRepository
    public let options: ImportOptions
    public let deidentifier: DeIdentifier?
    let directories = DirectoryCache()
    let temporaryNames = Counter()
    let claimed = Claims()
    let wroteLoose = Flag()
    var blobRoot: String { repository.artifacts.root.path + "/sha256" }

    /// A builder whose pseudonyms, UIDs and date shifts derive from `key` (the workspace's
    /// de-identification secret: `Store.deidentificationSecret()`).
    public init(repository: DatasetRepository, options: ImportOptions, key: any KeyedHash) {
        self.repository = repository
        self.options = options
        self.deidentifier = options.deidentify ? DeIdentifier(key: key, removeDates: options.removeDates) : nil
    }

    /// A builder keyed by the workspace's secret (`Store.deidentificationSecret()`, which every replica
    /// and import shares).
    public init(repository: DatasetRepository, options: ImportOptions, secret: SymmetricKey) {
        self.init(repository: repository, options: options, key: WorkspaceKey(secret))
    }

    /// A builder that stores every file as it is; `options.deidentify` must be off.
    public init(storingAsIs repository: DatasetRepository, options: ImportOptions) {
        precondition(!options.deidentify, "a builder without a key cannot de-identify")
        self.repository = repository
        self.options = options
        self.deidentifier = nil
    }

    /// A builder keyed by the bytes of `salt` (tests and tools that bring their own key).
    public init(repository: DatasetRepository, options: ImportOptions, salt: String) {
        self.init(repository: repository, options: options, secret: SymmetricKey(data: Data(salt.utf8)))
    }

    /// Ingests `items` on `options.threads` threads; entries come back sorted by path. New blobs go
    /// into one pack per worker (see `BlobPacks`), synced and indexed before this returns. De-identified
    /// DICOM files are renamed from keyed digests (see `renamed(_:skipped:)`).
    public func ingest(_ items: [ImportItem]) -> ImportResult {
        let results = ResultBox(count: items.count)
        let counter = Counter()
        let threads = max(1, min(options.threads, items.count))
        let stamp = "\(Int(Date().timeIntervalSince1970 * 1000))-\(getpid())"
        let failures = ResultBox(count: threads)
        DispatchQueue.concurrentPerform(iterations: threads) { worker in
            let writer = try? PackWriter(folder: BlobPacks.folder(repository.artifacts.root), name: "\(stamp)-\(worker)")
            var i = worker
            while i < items.count {
                results.set(i, ingest(items[i], writer: writer))
                let done = counter.increment()
                options.progress?(done, items.count)
                i += threads
            }
            do { try writer?.finish() } catch {
                failures.set(worker, .failure(SkippedFile(path: writer?.path ?? "pack", reason: "\(error)")))
            }
        }
        var entries: [(DatasetEntry, Renaming?)] = []
        var skipped: [SkippedFile] = []
        for r in results.values {
            switch r {
            case .success(let e, let renaming): entries.append((e, renaming))
            case .failure(let s): skipped.append(s)
            case nil: break
            }
        }
        if failures.values.contains(where: { $0 != nil }) {
            // A pack that could not be synced or indexed: none of this import's entries can be trusted.
            let reasons = failures.values.compactMap { if case .failure(let s) = $0 { return s.reason } else { return nil } }
            let failed = items.map { SkippedFile(path: $0.path, reason: "storing failed: \(reasons.joined(separator: "; "))") }
            return renamed([], skipped: failed, deidentifying: deidentifier != nil)
        }
        if wroteLoose.value { sync() }
        return renamed(entries, skipped: skipped, deidentifying: entries.contains { $0.1 != nil })
    }

    enum Outcome: Sendable { case success(DatasetEntry, Renaming?), failure(SkippedFile) }

    func ingest(_ item: ImportItem, writer: PackWriter? = nil) -> Outcome {
        do {
            let (stored, _, renaming) = try store(item.path, url: item.url, bytes: item.bytes, label: item.label, group: item.group, writer: writer)
            var entry = stored
            entry.split = item.split
            entry.metadata.merge(item.metadata) { own, _ in own }
            if item.mask != nil || item.maskBytes != nil {
                let maskPath = item.mask?.lastPathComponent ?? item.path + ".mask"
                let (mask, image, _) = try store(maskPath, url: item.mask, bytes: item.maskBytes, label: nil, group: nil, writer: writer)
                guard let w = Int(entry.metadata["width"] ?? ""), let h = Int(entry.metadata["height"] ?? ""), image.width == w, image.height == h else {
                    throw DataError.invalidSource(path: item.path, reason: "mask \(maskPath) is \(image.width) x \(image.height), the image is \(entry.metadata["width"] ?? "?") x \(entry.metadata["height"] ?? "?")")
                }
                entry.maskSHA256 = mask.sha256
                entry.maskPath = maskPath
                let values = image.floats()
                entry.metadata["mask_foreground"] = String(values.filter { $0 != 0 }.count)
            }
            return .success(entry, renaming)
        } catch {
            return .failure(SkippedFile(path: item.path, reason: "\(error)"))
        }
    }

    /// Decodes, de-identifies (DICOM) and stores one file.
    func store(_ path: String, url: URL?, bytes given: [UInt8]?, label: String?, group: String?, writer: PackWriter? = nil) throws -> (DatasetEntry, MedicalImage, Renaming?) {
        var bytes: [UInt8]
        if let given { bytes = given } else if let url { bytes = try ImageReader.readFile(url) } else { throw DataError.invalidSource(path: path, reason: "no data") }
        guard let format = ImageReader.detect(bytes) else {
            throw DataError.invalidSource(path: path, reason: bytes.isEmpty ? "the file is empty" : "not an image Lumen reads (DICOM, NIfTI, PNG, JPEG, BMP, WebP, TIFF)")
        }
        var metadata: [String: String] = [:]
        var group = group
        var renaming: Renaming?
        let image: MedicalImage
        if format == .dicom {
            let file = try DICOMFile(bytes, source: path)
            image = try DICOMReader.image(from: file)
            if let deidentifier {
                let clean = try deidentifier.deidentify(bytes, source: path)
                bytes = clean.bytes
                // A group given by a manifest is an identifier too: it gets the same keyed pseudonym.
                group = group.map { deidentifier.pseudonyms.patientID($0) } ?? clean.patientID
                metadata["deidentified"] = "yes"
                renaming = Renaming(original: path, proposed: clean.anonymousPath, record: clean.record)
            } else if group == nil {
                group = file["PatientID"]
            }
            for key in ["Modality", "BodyPartExamined", "PhotometricInterpretation", "BitsStored", "Manufacturer", "ViewPosition"] {
                if let v = file[key] { metadata[key.lowercased()] = v }
            }
            metadata["transfer_syntax"] = file.transferSyntax
        } else if format == .tiff, let url {
            image = try ImageReader.read(url)
        } else {
            image = try ImageReader.read(bytes, source: path)
        }
        metadata["width"] = String(image.width)
        metadata["height"] = String(image.height)
        if image.depth > 1 { metadata["depth"] = String(image.depth) }
        metadata["channels"] = String(image.channels)
        metadata["pixel_type"] = image.pixelType.rawValue
        if metadata["modality"] == nil, let m = image.modality { metadata["modality"] = m }
        let sha = try put(bytes, into: writer)
        let entry = DatasetEntry(path: path, sha256: sha, size: Int64(bytes.count), format: format.rawValue, label: label, group: group, metadata: metadata)
        return (entry, image, renaming)
    }

    /// Stores bytes under their SHA-256 (skipping the write when the blob exists): a temporary file in the
    /// blob's folder, renamed into place, so a crash never leaves a partial blob under its final name.
    /// No fsync per blob; `ingest` syncs once at the end.
    func put(_ bytes: [UInt8], into writer: PackWriter? = nil) throws -> String {
        let hash = Array(SHA256.hash(data: bytes))
        let digest = hex(hash)
        if let writer {
            // Each blob once: not if the store holds it, nor if another worker of this import packed it.
            if repository.contains(digest) || !claimed.claim(digest) { return digest }
            try writer.append(bytes, digest: hash)
            return digest
        }
        wroteLoose.set()
        // The artifact store's layout (sha256/ab/cdef…), built as a string: URL path appending stats the disk.
        let target = blobRoot + "/" + digest.prefix(2) + "/" + digest.dropFirst(2)
        if access(target, F_OK) == 0 { return digest }
        let folder = String(target[..<target.lastIndex(of: "/")!])
        if !directories.contains(folder) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            directories.insert(folder)
        }
        // A unique temporary name without UUID(), which opens /dev/urandom on Linux each time.
        let temporary = folder + "/.\(getpid())-\(temporaryNames.increment()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DataError.io(path: temporary, reason: "cannot create: \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            written += n
        }
        close(fd)
        guard written == bytes.count, rename(temporary, target) == 0 else {
            unlink(temporary)
            throw DataError.io(path: target, reason: "cannot write the blob: \(String(cString: strerror(errno)))")
        }
        return digest
    }
}

/// Folders of the artifact store already created by this process (saves a mkdir per blob).
struct DirectoryCache: Sendable {
    private let known = Locked(Set<String>())
    func contains(_ path: String) -> Bool { known.withLock { $0.contains(path) } }
    func insert(_ path: String) { _ = known.withLock { $0.insert(path) } }
}

/// Per-index results filled by worker threads.
struct ResultBox: Sendable {
    private let storage: Locked<[DatasetBuilder.Outcome?]>
    init(count: Int) { storage = Locked(Array(repeating: nil, count: count)) }
    func set(_ i: Int, _ value: DatasetBuilder.Outcome) { storage.withLock { $0[i] = value } }
    var values: [DatasetBuilder.Outcome?] { storage.value }
}

/// Digests claimed by the workers of one import.
struct Claims: Sendable {
    private let digests = Locked(Set<String>())
    /// True for the first caller with this digest.
    func claim(_ digest: String) -> Bool { digests.withLock { $0.insert(digest).inserted } }
}

/// A flag raised by any worker.
struct Flag: Sendable {
    private let raised = Locked(false)
    func set() { raised.withLock { $0 = true } }
    var value: Bool { raised.value }
}

/// A count shared by workers.
struct Counter: Sendable {
    private let count = Locked(0)
    func increment() -> Int { count.withLock { $0 += 1; return $0 } }
}
