import Foundation
import LumenImaging
@testable import LumenData
import LumenWorkspace

/// A temporary workspace folder with a dataset repository, removed by `cleanup()`.
struct Scratch {
    let root: URL
    let repository: DatasetRepository

    init() {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-data-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        repository = DatasetRepository(folder: root.appendingPathComponent("datasets"), artifacts: ArtifactStore(root: root.appendingPathComponent("artifacts")))
    }

    func cleanup() { try? FileManager.default.removeItem(at: root) }

    func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    func write(_ bytes: [UInt8], _ path: String) throws {
        try FileManager.default.createDirectory(at: url(path).deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url(path))
    }

    /// A grey PNG of `size` filled with `value`.
    func png(_ path: String, value: UInt8, size: Int = 8) throws {
        try write(ImageWriter.encode(".png", data: [UInt8](repeating: value, count: size * size), width: size, height: size, channels: 1, type: .uint8), path)
    }

    func builder() -> DatasetBuilder {
        var options = ImportOptions()
        options.threads = 2
        return DatasetBuilder(repository: repository, options: options, salt: "test-salt")
    }
}

/// Entries for split tests: `patients` groups of `perPatient` files, labels alternating per patient.
func syntheticEntries(patients: Int, perPatient: Int, classes: [String] = ["a", "b"]) -> [DatasetEntry] {
    (0..<patients).flatMap { p in
        (0..<perPatient).map { i in
            DatasetEntry(path: "p\(p)/\(i).png", sha256: String(format: "%064x", p * 1000 + i), size: 1, format: "png",
                         label: classes[p % classes.count], group: "patient-\(p)", metadata: ["site": p % 3 == 0 ? "x" : "y"])
        }
    }
}
