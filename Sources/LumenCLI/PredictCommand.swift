import ArgumentParser
import Foundation
import LumenData
import LumenImaging
import LumenInference
import LumenServing
import LumenStore
import LumenTraining

/// `lumen predict NAME@ALIAS FILE…`: a registered model's answer for image files, the same answer
/// `POST /api/predict/NAME` gives (`--json` prints it as the server does).
struct PredictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict image files (DICOM, NIfTI, PNG, JPEG, TIFF) with a registered model, as the server's /api/predict does.",
        discussion: "Each file is read and preprocessed as at training (the version's own pipeline); a DICOM series folder gives its middle slice. A file that cannot be read stops the command with its name and reason, before anything is predicted."
    )
    @OptionGroup var workspace: WorkspaceOptions
    @Argument(help: "Registered model: NAME@ALIAS, NAME/VERSION or NAME.") var model: String
    @Argument(help: "Image files.") var files: [String]
    @Flag(help: "Print the server's JSON answer.") var json = false
    @Flag(help: "Add a Grad-CAM heat map (PNG, base64 in the JSON) per file (classifiers).") var gradcam = false
    @Flag(help: "Predict even what the version's input gate refuses (the verdicts are still shown).") var noGate = false
    @Option(help: ArgumentHelp("Batch inference: predict every image of one FOLDER or DATASET[:VERSION] into this file (.csv or .jsonl); an existing file is resumed (its images skipped).", valueName: "file")) var out: String?
    @Option(help: "With --out and a dataset: only this split.") var split: String?
    @Option(help: "With --out: images per network batch.") var batchSize = 32
    @Option(help: "With --out: threads reading and preprocessing images (default: every core).") var threads: Int?
    @Flag(help: "With --out: do not log the predictions to the store for monitoring.") var noLog = false

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one image file") }
        if out != nil {
            guard files.count == 1 else { throw ValidationError("--out predicts one FOLDER or DATASET[:VERSION]; give exactly one") }
            guard (1...4096).contains(batchSize) else { throw ValidationError("--batch-size must be 1…4096") }
            guard threads.map({ (1...256).contains($0) }) ?? true else { throw ValidationError("--threads must be 1…256") }
            guard !gradcam else { throw ValidationError("--gradcam explains single files, not --out batches") }
        } else {
            guard split == nil else { throw ValidationError("--split chooses a dataset's split for --out batches; give --out too") }
            guard !gradcam || json else { throw ValidationError("--gradcam adds the heat map to the JSON answer: add --json (lumen explain writes Grad-CAM PNGs)") }
        }
    }

    func run() async throws {
        if let out { return try await batch(out) }
        let started = Date()
        let ws = try workspace.open()
        let loaded = try await workspace.withStore { store in try await ModelLoader.load(model, store: store, workspace: ws) }
        if gradcam && loaded.task != .classification { throw CLIError("--gradcam explains classifiers; \(model) is a \(loaded.task.rawValue) model") }
        let images = try files.map { path in
            do { return try load(path) } catch let error where isDirectory(path) {
                throw CLIError("\(error) (a folder is read as one DICOM series; to predict every image in it, add --out FILE.csv)")
            }
        }
        let gradcam = self.gradcam
        // The version's input gate, as the server applies it: the gate classifier first, then the score.
        let gate = try GateCalibration.load(loaded.version, workspace: ws)
        var verdicts = images.map { _ in GateVerdict(accepted: true, reason: "no input gate declared for this version") }
        if let gate, let classifier = gate.classifier {
            let keeper = try await workspace.withStore { store in try await ModelLoader.load(classifier, store: store, workspace: ws) }
            let answers = try await keeper.predictor.perform { try $0.predict(images) }
            verdicts = answers.map { gate.judge(classifierPrediction: $0, classes: keeper.classes, classifier: classifier) }
        }
        let needsEmbeddings = gate?.method == .mahalanobis, needsLogits = gate?.method == .energy
        let results = try await loaded.predictor.perform { p -> [(Prediction, [UInt8]?, [Float]?, [Float]?)] in
            let batch = try p.batch(images.map(p.preprocess))
            let output = try p.predict(batch: batch, embeddings: needsEmbeddings)
            let embeddings = output.embeddings
            var logits: [[Float]]?
            if needsLogits, output.logits.shape.count == 2 {
                let k = output.logits.shape[1], values = try output.logits.floats()
                logits = (0..<images.count).map { Array(values[$0 * k..<($0 + 1) * k]) }
            }
            return try output.predictions.enumerated().map { i, prediction in
                var heatmap: [UInt8]?
                if gradcam {
                    let cam = try p.gradCAM(images[i])
                    heatmap = try cam.heatmap.overlayPNG(on: cam.input)
                }
                return (prediction, heatmap, embeddings?[i], logits?[i])
            }
        }
        if let gate, gate.method != nil {
            for i in verdicts.indices { verdicts[i] = gate.judge(verdicts[i], embedding: results[i].2, logits: results[i].3, hasClassifier: gate.classifier != nil) }
        }
        if !noGate, let refused = verdicts.firstIndex(where: { !$0.accepted }) {
            let message = "the input gate of \(loaded.version.name) version \(loaded.version.version) refused \(verdicts.filter { !$0.accepted }.count) of \(files.count) file(s): \((files[refused] as NSString).lastPathComponent): \(verdicts[refused].reason)"
            if json {
                print(String(decoding: PredictionAnswer.json(["error": message, "gate": ["verdict": "rejected", "images": verdicts.map(\.json)] as [String: Any]]), as: UTF8.self))
                throw ExitCode(2)
            }
            // The same exit status as with --json: 2 means "refused by the gate", 1 an error.
            FileHandle.standardError.write(Data("lumen: \(message) (--no-gate predicts anyway)\n".utf8))
            throw ExitCode(2)
        }
        let entries = try zip(files, results).map { file, result in
            try PredictionAnswer.entry(file: (file as NSString).lastPathComponent, prediction: result.0, spec: loaded.spec, heatmapPNG: result.1)
        }
        let gateAnswer: [String: Any] = gate.map { g in ["verdict": verdicts.allSatisfy(\.accepted) ? "accepted" : "rejected (--no-gate)", "reason": g.summary, "images": verdicts.map(\.json)] } ?? PredictionAnswer.noGate
        let answer = PredictionAnswer.answer(model: loaded.version.name, version: loaded.version.version, reference: model, entries: entries,
                                             latency: Date().timeIntervalSince(started), batchSize: nil, gate: gateAnswer)
        if json {
            print(String(decoding: PredictionAnswer.json(answer), as: UTF8.self))
            return
        }
        print("\(loaded.version.name) version \(loaded.version.version) (\(model)), \(loaded.task.rawValue)")
        let spec = loaded.spec
        var rows: [[String]] = []
        for (file, (prediction, _, _, _)) in zip(files, results) {
            let name = (file as NSString).lastPathComponent
            switch spec.task {
            case .classification:
                let top = prediction.labels.first ?? 0
                rows.append([name, spec.classes[top], String(format: "%.4f", prediction.probabilities[top]),
                             spec.classes.enumerated().map { "\($0.element) \(String(format: "%.3f", prediction.probabilities[$0.offset]))" }.joined(separator: ", ")])
            case .multiLabel:
                rows.append([name, prediction.labels.map { spec.classes[$0] }.joined(separator: ", "), "",
                             spec.classes.enumerated().map { "\($0.element) \(String(format: "%.3f", prediction.probabilities[$0.offset]))" }.joined(separator: ", ")])
            case .segmentation:
                let pixels = prediction.mask?.classes ?? []
                let share = spec.classes.indices.map { c in Double(pixels.filter { $0 == c }.count) / Double(max(pixels.count, 1)) }
                rows.append([name, prediction.labels.map { spec.classes[$0] }.joined(separator: ", "), "",
                             spec.classes.enumerated().map { "\($0.element) \(String(format: "%.1f", 100 * share[$0.offset])) %" }.joined(separator: ", ")])
            }
        }
        print(table(["file", spec.task == .classification ? "label" : (spec.task == .multiLabel ? "findings" : "classes present"),
                     spec.task == .classification ? "probability" : "", spec.task == .segmentation ? "pixels" : "probabilities"], rows))
    }

    /// `--out`: every image of a folder or a dataset version into a CSV or JSON Lines file.
    func batch(_ out: String) async throws {
        let started = Date()
        var url = URL(fileURLWithPath: out)
        let format: BatchInference.Format
        var parquet: URL?
        switch url.pathExtension.lowercased() {
        case "csv": format = .csv
        case "jsonl", "ndjson": format = .jsonl
        case "parquet":
            // Parquet is written by Apache Arrow's own library (pyarrow): the rows go to a CSV beside it (which also
            // makes the run resumable), converted at the end with typed columns.
            try ParquetConversion.check()
            format = .csv
            parquet = url
            url = url.appendingPathExtension("partial.csv")
        default: throw CLIError("\(out): the results file must end in .csv, .jsonl or .parquet")
        }
        let ws = try workspace.open()
        let source = files[0]
        var isDirectory: ObjCBool = false
        let loaded = try await workspace.withStore { store in try await ModelLoader.load(model, store: store, workspace: ws) }
        let inputs: [BatchInference.Input]
        if FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue {
            inputs = try BatchInference.inputs(folder: URL(fileURLWithPath: source))
        } else {
            let repository = DatasetRepository(workspace: ws)
            let version: DatasetVersion
            do { version = try repository.resolve(source) } catch {
                throw CLIError("\(source) is neither a folder nor a dataset: \(error)")
            }
            inputs = BatchInference.inputs(dataset: version, repository: repository, split: split)
        }
        guard !inputs.isEmpty else { throw CLIError("\(source): no image to predict\(split.map { " in split '\($0)'" } ?? "")") }
        var engine = BatchInference(loaded: loaded)
        engine.batchSize = batchSize
        if let threads { engine.threads = threads }
        let bar = ProgressBar("predicting")
        let name = loaded.version.name, versionNumber = loaded.version.version
        let result = try await workspace.withStore { store in
            try await engine.run(inputs, output: url, format: format, log: noLog ? nil : { results in
                try await store.logPredictions(results.map { r in
                    PredictionLog(modelName: name, modelVersion: versionNumber,
                                  features: String(decoding: PredictionAnswer.json(r.features), as: UTF8.self),
                                  outputs: String(decoding: PredictionAnswer.json(["probabilities": r.prediction!.probabilities, "labels": r.prediction!.labels, "route": "batch"] as [String: Any]), as: UTF8.self),
                                  latency: 0, id: r.id)
                })
            }, progress: { bar.update($0, $1) })
        }
        if let parquet {
            try ParquetConversion.convert(csv: url, to: parquet)
            try? FileManager.default.removeItem(at: url)
        }
        let took = Date().timeIntervalSince(started)
        var summary = "\(name) version \(versionNumber): \(result.predicted) images predicted into \(out) in \(String(format: "%.1f", took)) s"
        summary += " (\(String(format: "%.1f", Double(result.predicted) / max(took, 1e-9))) img/s)"
        if result.skipped > 0 { summary += "; \(result.skipped) already there (resumed)" }
        if result.failed > 0 { summary += "; \(result.failed) could not be read (their error column says why)" }
        if !noLog { summary += "; logged for monitoring (route batch)" }
        print(summary)
    }
}

/// CSV → Parquet through pyarrow (Apache Arrow's Python library; `LUMEN_PYTHON` names the interpreter, else `python3`).
enum ParquetConversion {
    static var python: String { ProcessInfo.processInfo.environment["LUMEN_PYTHON"] ?? "python3" }

    static func run(_ script: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, "-c", script] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (127, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Fails early (before predicting anything) when pyarrow is not there.
    static func check() throws {
        let (status, _) = try run("import pyarrow.csv, pyarrow.parquet", [])
        guard status == 0 else {
            throw CLIError("Parquet is written with pyarrow, which \(python) cannot import: pip install pyarrow (or set LUMEN_PYTHON to a Python that has it), or write .csv / .jsonl")
        }
    }

    static func convert(csv: URL, to parquet: URL) throws {
        // path, label and prediction_id, error and the findings/classes columns stay text; probabilities are float64.
        let script = """
        import sys, pyarrow as pa, pyarrow.csv as c, pyarrow.parquet as q
        names = c.read_csv(sys.argv[1], read_options=c.ReadOptions(skip_rows_after_names=10**9)).column_names
        text = {n: pa.string() for n in names if not (n.startswith("p_") or n.startswith("share_") or n == "probability")}
        t = c.read_csv(sys.argv[1], convert_options=c.ConvertOptions(column_types=text, strings_can_be_null=False))
        q.write_table(t, sys.argv[2] + ".tmp")
        import os; os.replace(sys.argv[2] + ".tmp", sys.argv[2])
        """
        let (status, output) = try run(script, [csv.path, parquet.path])
        guard status == 0 else { throw CLIError("\(parquet.path): pyarrow could not write it (the rows are in \(csv.path)): \(output.suffix(400))") }
    }
}
