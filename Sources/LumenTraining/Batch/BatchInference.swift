import Foundation
import LumenData
import LumenImaging
import LumenInference
import LumenStore
import LumenWorkspace

/// Batch inference: every image of a folder or a dataset version through a registered model with its own
/// preprocessing, `threads` threads reading and preprocessing while the network runs batches on its
/// compute thread, each result written as soon as its batch is done (CSV or JSON Lines), so that an
/// interrupted run resumes where it stopped: images already in the output are skipped.
public struct BatchInference {
    public enum Format: String, Sendable { case csv, jsonl }

    /// One image to predict: where it is named in the output, and how to read it.
    public struct Input: Sendable {
        public var name: String
        public var read: @Sendable () throws -> MedicalImage
    }

    public let loaded: LoadedModel
    public var batchSize = 32
    public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)

    public init(loaded: LoadedModel) { self.loaded = loaded }

    /// The image files under a folder (any depth; hidden files left out), sorted; files without a known
    /// image extension are tried as DICOM (which often has none).
    public static func inputs(folder: URL) throws -> [Input] {
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else {
            throw TrainingError.data("\(folder.path): cannot list the folder")
        }
        let skip: Set<String> = ["csv", "json", "jsonl", "txt", "md", "yaml", "yml", "xml", "html", "py", "sh", "zip", "gz"]
        var out: [Input] = []
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let ext = url.pathExtension.lowercased()
            if skip.contains(ext) && !url.lastPathComponent.lowercased().hasSuffix(".nii.gz") { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            out.append(Input(name: relative) { try ImageReader.read(url) })
        }
        return out.sorted { $0.name < $1.name }
    }

    /// The images of a dataset version (one split or all), named by their path in the dataset.
    public static func inputs(dataset: DatasetVersion, repository: DatasetRepository, split: String?) -> [Input] {
        dataset.entries(in: split).map { e in Input(name: e.path) { try ImageReader.read(try repository.bytes(e.sha256), source: e.path) } }
    }

    /// The names already in an output file (its first column, or each line's `path`).
    public static func done(in url: URL, format: Format) -> Set<String> {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        var out = Set<String>()
        for line in text.split(separator: "\n").dropFirst(format == .csv ? 1 : 0) {
            switch format {
            case .csv:
                if let first = csvFields(String(line)).first { out.insert(first) }
            case .jsonl:
                if let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let p = o["path"] as? String { out.insert(p) }
            }
        }
        return out
    }

    /// One result, as written.
    public struct Result: Sendable {
        public var name: String
        public var prediction: Prediction?
        public var error: String?
        public var id: String
        /// What the prediction log keeps of the input (monitoring features, acquisition, hash).
        public var features: [String: String]
    }

    /// The CSV header for this model.
    public func header() -> [String] {
        let spec = loaded.spec
        switch spec.task {
        case .classification: return ["path", "label", "probability"] + spec.classes.map { "p_" + $0 } + ["prediction_id", "error"]
        case .multiLabel: return ["path", "findings"] + spec.classes.map { "p_" + $0 } + ["prediction_id", "error"]
        case .segmentation: return ["path", "classes_present"] + spec.classes.map { "share_" + $0 } + ["prediction_id", "error"]
        }
    }

    func row(_ r: Result) -> [String] {
        let spec = loaded.spec
        let width = header().count
        guard let p = r.prediction else { return [r.name] + Array(repeating: "", count: width - 3) + [r.id, r.error ?? "failed"] }
        let probabilities = p.probabilities.map { String(format: "%.6f", $0) }
        switch spec.task {
        case .classification:
            let top = p.labels.first ?? 0
            return [r.name, spec.classes[top], String(format: "%.6f", p.probabilities[top])] + probabilities + [r.id, ""]
        case .multiLabel:
            return [r.name, p.labels.map { spec.classes[$0] }.joined(separator: ";")] + probabilities + [r.id, ""]
        case .segmentation:
            let pixels = p.mask?.classes ?? []
            let shares = spec.classes.indices.map { c in String(format: "%.6f", Double(pixels.filter { $0 == c }.count) / Double(max(pixels.count, 1))) }
            return [r.name, p.labels.map { spec.classes[$0] }.joined(separator: ";")] + shares + [r.id, ""]
        }
    }

    func json(_ r: Result) -> String {
        var o: [String: Any] = ["path": r.name, "prediction_id": r.id]
        if let p = r.prediction {
            let spec = loaded.spec
            switch spec.task {
            case .classification:
                o["label"] = spec.classes[p.labels.first ?? 0]
                o["probabilities"] = Dictionary(uniqueKeysWithValues: zip(spec.classes, p.probabilities))
            case .multiLabel:
                o["findings"] = p.labels.map { spec.classes[$0] }
                o["probabilities"] = Dictionary(uniqueKeysWithValues: zip(spec.classes, p.probabilities))
            case .segmentation:
                let pixels = p.mask?.classes ?? []
                o["classes_present"] = p.labels.map { spec.classes[$0] }
                o["shares"] = Dictionary(uniqueKeysWithValues: spec.classes.indices.map { c in (spec.classes[c], Double(pixels.filter { $0 == c }.count) / Double(max(pixels.count, 1))) })
            }
        } else {
            o["error"] = r.error ?? "failed"
        }
        return String(decoding: (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Predicts `inputs` into `output` (appending to what is there: the names already in it are skipped);
    /// `log` gets each batch's results (for the prediction log), `progress` (done, total) after each batch.
    /// Returns (predicted now, skipped as done before, failed).
    public func run(_ inputs: [Input], output: URL, format: Format, log: (([Result]) async throws -> Void)? = nil,
                    progress: ((Int, Int) -> Void)? = nil) async throws -> (predicted: Int, skipped: Int, failed: Int) {
        let done = Self.done(in: output, format: format)
        let todo = inputs.filter { !done.contains($0.name) }
        let fresh = !FileManager.default.fileExists(atPath: output.path) || done.isEmpty && ((try? FileManager.default.attributesOfItem(atPath: output.path)[.size] as? NSNumber)?.intValue ?? 0) == 0
        if fresh {
            try FileManager.default.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data((format == .csv ? Self.csvLine(header()) : "").utf8).write(to: output)
        }
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        try handle.seekToEnd()
        var predicted = 0, failed = 0
        let predictor = loaded.predictor
        let chunks = stride(from: 0, to: todo.count, by: batchSize).map { Array(todo[$0..<min($0 + batchSize, todo.count)]) }
        let threads = self.threads
        // The next batch is read and preprocessed while the network runs the current one.
        var next: Task<[(plane: Plane?, features: [String: String], error: String?)], Never>? = chunks.first.map { first in Task { await Self.prepare(first, predictor: predictor, threads: threads) } }
        var completed = 0
        for (index, chunk) in chunks.enumerated() {
            let items = await next!.value
            next = index + 1 < chunks.count ? Task { [chunk = chunks[index + 1]] in await Self.prepare(chunk, predictor: predictor, threads: threads) } : nil
            completed += chunk.count
            let ok = items.indices.filter { items[$0].plane != nil }
            var predictions: [Int: Prediction] = [:]
            if !ok.isEmpty {
                let planes = ok.map { items[$0].plane! }
                let answers = try await predictor.perform { p in try p.predict(batch: p.batch(planes)).predictions }
                for (i, a) in zip(ok, answers) { predictions[i] = a }
            }
            let results = chunk.indices.map { i in
                Result(name: chunk[i].name, prediction: predictions[i], error: items[i].error, id: UUID().uuidString.lowercased(), features: items[i].features)
            }
            var text = ""
            for r in results { text += format == .csv ? Self.csvLine(row(r)) : json(r) + "\n" }
            try handle.write(contentsOf: Data(text.utf8))
            predicted += results.filter { $0.prediction != nil }.count
            failed += results.filter { $0.prediction == nil }.count
            try await log?(results.filter { $0.prediction != nil })
            progress?(done.count + completed, inputs.count)
        }
        return (predicted, inputs.count - todo.count, failed)
    }

    /// Reads and preprocesses a batch's images on `threads` threads (not the cooperative pool).
    static func prepare(_ chunk: [Input], predictor: Predictor, threads: Int) async -> [(plane: Plane?, features: [String: String], error: String?)] {
        let prepared = Locked([(plane: Plane?, features: [String: String], error: String?)](repeating: (nil, [:], nil), count: chunk.count))
        let workers = max(1, min(threads, chunk.count))
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    for i in stride(from: w, to: chunk.count, by: workers) {
                        do {
                            let image = try chunk[i].read()
                            let plane = try predictor.preprocess(image)
                            var f = InputFeatures.acquisition(of: image)
                            for (k, v) in InputFeatures.of(plane) { f[k] = String(format: "%.6g", v) }
                            prepared.withLock { $0[i] = (plane, f, nil) }
                        } catch {
                            prepared.withLock { $0[i] = (nil, [:], "\(error)") }
                        }
                    }
                }
                continuation.resume()
            }.start()
        }
        return prepared.withLock { $0 }
    }

    // MARK: CSV

    static func csvLine(_ fields: [String]) -> String {
        fields.map { f in
            f.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f
        }.joined(separator: ",") + "\n"
    }

    /// The fields of one CSV line (RFC 4180 quotes).
    static func csvFields(_ line: String) -> [String] {
        var out: [String] = [], current = "", quoted = false, iterator = Array(line.trimmingCharacters(in: CharacterSet(charactersIn: "\r"))), i = 0
        while i < iterator.count {
            let c = iterator[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < iterator.count && iterator[i + 1] == "\"" { current.append("\""); i += 1 } else { quoted = false }
                } else { current.append(c) }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                out.append(current)
                current = ""
            } else {
                current.append(c)
            }
            i += 1
        }
        out.append(current)
        return out
    }
}
