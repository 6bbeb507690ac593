import Crypto
import Foundation
import LumenImaging
import LumenWorkspace

/// HMAC-SHA256 under the workspace's de-identification secret: the keyed function behind every
/// pseudonym, re-mapped UID and date shift (`Pseudonyms`).
public struct WorkspaceKey: KeyedHash {
    let key: SymmetricKey
    public init(_ key: SymmetricKey) { self.key = key }
    public func authenticationCode(for message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }
}

/// What de-identification did in one import, per stored file: names of the elements removed, emptied,
/// replaced, re-mapped and shifted (never their values, never the original file names). Stored as an
/// artifact and referenced from the dataset version.
public struct DeIdentificationReport: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        /// The file's path in the manifest (the de-identified name).
        public var path: String
        public var record: DeIdentificationRecord
    }

    public var profile = "DICOM PS3.15 Annex E Basic Application Confidentiality Profile"
    public var options: [String]
    public var files: [File]

    public init(datesRemoved: Bool, files: [File]) {
        self.options = datesRemoved ? ["dates removed"] : ["Retain Longitudinal Temporal Information with Modified Dates (per-patient shift)"]
        self.files = files
    }

    /// Counts over every file: elements removed (private ones apart), emptied, replaced, re-mapped, shifted.
    public var totals: [String: Int] {
        let records = files.map(\.record)
        return [
            "files": files.count,
            "removed": records.reduce(0) { $0 + $1.removed.count - $1.privateRemoved },
            "private removed": records.reduce(0) { $0 + $1.privateRemoved },
            "emptied": records.reduce(0) { $0 + $1.emptied.count },
            "replaced": records.reduce(0) { $0 + $1.replaced.count },
            "re-mapped": records.reduce(0) { $0 + $1.remapped.count },
            "shifted": records.reduce(0) { $0 + $1.shifted.count },
            "warnings": records.reduce(0) { $0 + $1.warnings.count },
        ]
    }

    /// Stores the report as JSON in the artifact store; returns its SHA-256.
    public func save(in repository: DatasetRepository) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try repository.artifacts.put(encoder.encode(self)).sha256
    }
}

/// The original names of a de-identified import, kept only on request (`lumen data import --keep-mapping`):
/// `ARTIFACT_ROOT/deidentification/NAME/ID.mapping.json`, readable by its owner only (0600, in 0700
/// folders), since it links pseudonymous files back to medical record and accession numbers.
public enum DeIdentificationMapping {
    public struct Contents: Codable, Sendable, Equatable {
        public var dataset: String
        public var source: String
        public var files: [PathMapping]
    }

    public static func url(for version: DatasetVersion, in repository: DatasetRepository) -> URL {
        repository.artifacts.root.appendingPathComponent("deidentification").appendingPathComponent(version.name)
            .appendingPathComponent("\(version.id).mapping.json")
    }

    /// Writes the mapping, owner-only; replaces an earlier mapping of the same version.
    @discardableResult
    public static func save(_ files: [PathMapping], source: String, version: DatasetVersion, in repository: DatasetRepository) throws(DataError) -> URL {
        let file = url(for: version, in: repository)
        let folders = [file.deletingLastPathComponent().deletingLastPathComponent(), file.deletingLastPathComponent()]
        do {
            for folder in folders {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                guard chmod(folder.path, 0o700) == 0 else { throw DataError.io(path: folder.path, reason: "cannot restrict permissions") }
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(Contents(dataset: version.reference, source: source, files: files.sorted { $0.stored < $1.stored }))
            let temporary = file.path + ".\(getpid()).tmp"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw DataError.io(path: temporary, reason: String(cString: strerror(errno))) }
            let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            fsync(fd)
            close(fd)
            guard written == data.count, fchmodat(AT_FDCWD, temporary, 0o600, 0) == 0, rename(temporary, file.path) == 0 else {
                unlink(temporary)
                throw DataError.io(path: file.path, reason: "cannot write the mapping: \(String(cString: strerror(errno)))")
            }
        } catch let error as DataError {
            throw error
        } catch {
            throw .io(path: file.path, reason: "cannot write the mapping: \(error)")
        }
        return file
    }
}
