import Foundation
import LumenWorkspace
import LumenImaging

/// What `lumen data validate` finds in a dataset version.
public struct ValidationReport: Codable, Sendable {
    public var dataset: String
    public var files: Int
    public var unreadable: [SkippedFile]
    /// Identical files (same SHA-256) under several paths.
    public var duplicates: [[String]]
    /// Identical files in more than one split, and groups split across splits.
    public var leakage: LeakageReport
    /// Files per class, per split (`all` for the whole version).
    public var classBalance: [String: [String: Int]]
    public var sizes: [String: Int]
    public var bitDepths: [String: Int]
    public var modalities: [String: Int]
    public var channels: [String: Int]
    public var emptyMasks: [String]
    public var maskSizeMismatches: [String]

    /// True when nothing needs attention.
    public var isClean: Bool {
        unreadable.isEmpty && duplicates.isEmpty && leakage.isClean && emptyMasks.isEmpty && maskSizeMismatches.isEmpty
    }
}

/// Decodes every file of a version and reports problems and distributions.
public enum Validator {
    public static func validate(_ version: DatasetVersion, repository: DatasetRepository, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                                progress: (@Sendable (Int, Int) -> Void)? = nil) -> ValidationReport {
        struct Finding: Sendable {
            var error: String?
            var size = "", bits = "", modality = "", channels = ""
            var emptyMask = false, maskMismatch = false
        }
        let entries = version.entries
        let box = FindingBox<Finding>(count: entries.count)
        let workers = max(1, min(threads, entries.count))
        let counter = Counter()
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < entries.count {
                let e = entries[i]
                var f = Finding()
                do {
                    let image = try ImageReader.read(try repository.bytes(e.sha256), source: e.path)
                    f.size = image.depth > 1 ? "\(image.width)x\(image.height)x\(image.depth)" : "\(image.width)x\(image.height)"
                    f.bits = image.tags["BitsStored"].map { "\($0)-bit" } ?? "\(image.pixelType.bits)-bit \(image.pixelType.rawValue)"
                    f.modality = image.modality ?? image.format.rawValue.uppercased()
                    f.channels = String(image.channels)
                    if let m = e.maskSHA256 {
                        let mask = try ImageReader.read(try repository.bytes(m), source: e.maskPath ?? m)
                        f.maskMismatch = mask.width != image.width || mask.height != image.height
                        f.emptyMask = !mask.floats().contains { $0 != 0 }
                    }
                } catch {
                    f.error = "\(error)"
                }
                box.set(i, f)
                if let progress { progress(counter.increment(), entries.count) }
                i += workers
            }
        }
        var report = ValidationReport(dataset: version.reference, files: entries.count, unreadable: [], duplicates: [], leakage: Splitter.leakage(entries),
                                      classBalance: [:], sizes: [:], bitDepths: [:], modalities: [:], channels: [:], emptyMasks: [], maskSizeMismatches: [])
        for (e, f) in zip(entries, box.values) {
            guard let f else { continue }
            if let error = f.error { report.unreadable.append(SkippedFile(path: e.path, reason: error)); continue }
            report.sizes[f.size, default: 0] += 1
            report.bitDepths[f.bits, default: 0] += 1
            report.modalities[f.modality, default: 0] += 1
            report.channels[f.channels, default: 0] += 1
            if f.emptyMask { report.emptyMasks.append(e.path) }
            if f.maskMismatch { report.maskSizeMismatches.append(e.path) }
        }
        for e in entries {
            for label in e.labels.isEmpty ? ["(none)"] : e.labels {
                report.classBalance["all", default: [:]][label, default: 0] += 1
                if let s = e.split { report.classBalance[s, default: [:]][label, default: 0] += 1 }
            }
        }
        report.duplicates = Dictionary(grouping: entries, by: \.sha256).values.filter { $0.count > 1 }.map { $0.map(\.path).sorted() }.sorted { $0[0] < $1[0] }
        return report
    }
}

/// One finding per file, filled in by worker threads.
struct FindingBox<T: Sendable>: Sendable {
    private let storage: Locked<[T?]>
    init(count: Int) { storage = Locked(Array(repeating: nil, count: count)) }
    func set(_ i: Int, _ v: T) { storage.withLock { $0[i] = v } }
    var values: [T?] { storage.value }
}
