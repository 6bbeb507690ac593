import Foundation
import LumenData
import LumenImaging
import LumenWorkspace

/// Keeps what clients upload, when the server is told to (`lumen serve --keep-inputs`): DICOM files are
/// de-identified first (PS3.15 Basic Profile, pseudonyms keyed by the store's secret, as at import) and a
/// file that cannot be de-identified is refused rather than kept; other images are kept as sent (burned-in
/// text is not cleaned). Files go to the content-addressed artifact store; the prediction log names them.
public struct InputKeeper: Sendable {
    let artifacts: ArtifactStore
    let deidentifier: DeIdentifier

    public init(artifacts: ArtifactStore, deidentifier: DeIdentifier) {
        self.artifacts = artifacts
        self.deidentifier = deidentifier
    }

    /// Stores one upload; returns the SHA-256 it is kept under.
    public func keep(_ bytes: [UInt8], image: MedicalImage, file: String) throws -> String {
        var kept = bytes
        if image.format == .dicom {
            do { kept = try deidentifier.deidentify(bytes, source: file).bytes } catch {
                throw ServingError.badInput("\(file): cannot be de-identified, so it is not kept (--keep-inputs): \(error)")
            }
        }
        return try artifacts.put(Data(kept)).sha256
    }
}
