import Foundation
import LumenData
import LumenImaging
import LumenInference
import LumenNN
import LumenStore
import LumenTensor
import Testing
@testable import LumenTraining
import LumenWorkspace

/// Runs in a process of its own (`make unit` filters it out of the parallel run): libtorch's random
/// generator and thread count are process-wide, so parallel tests would change the weights it draws.
@Suite("Trainer", .serialized)
struct TrainerTests {
    /// A workspace with a split synthetic CT phantom dataset.
    static func workspace() throws -> Workspace {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let ws = try Workspace.create(at: root)
        try Synthesizer.ctPhantom(out: root.appendingPathComponent("ct"), patients: 12, slicesPerPatient: 4, size: 48, seed: 5)
        let repository = DatasetRepository(workspace: ws)
        var options = ImportOptions()
        options.threads = 2
        let result = DatasetBuilder(repository: repository, options: options, salt: "s").ingest(try FolderImporter.items(root: root.appendingPathComponent("ct")))
        let entries = try Splitter.split(result.entries, ratios: try SplitRatios.parse("0.5,0.5"), seed: 1)
        try repository.save(DatasetVersion(name: "phantom", task: .classification, source: "test", entries: entries))
        return ws
    }

    static let yaml = """
    experiment: phantom
    data: {dataset: phantom, image_size: 24, window: lung, workers: 2}
    model: {name: simple-cnn}
    trainer: {epochs: 4, batch_size: 8, lr: 0.003, seed: 3, threads: 1}
    """

    /// Equal up to float32 rounding (1e-6 relative): oneDNN's kernels may round the last bit differently with
    /// buffer alignment, while any real divergence (a lost optimizer moment, another batch order) shows at 1e-3.
    static func same(_ a: Double?, _ b: Double?) -> Bool {
        guard let a, let b else { return false }
        return abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1e-12)
    }

    @Test func trainsTracksAndIsDeterministic() async throws {
        let ws = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: ws.root) }
        let store = try await ws.openStore()
        let config = try ExperimentConfig(yaml: Self.yaml)
        var epochsSeen = 0
        let first = try await Trainer(config: config, workspace: ws, store: store).run { event in
            if case .epoch = event { epochsSeen += 1 }
        }
        #expect(epochsSeen == 4 && first.epochs == 4)
        #expect(first.classes == ["lesion", "normal"])
        #expect((first.best["val_auc"] ?? 0) > 0.8, "lesions are visible in the lung window: \(first.best)")
        let run = try await store.run(id: first.runID)
        #expect(run.info.status == .finished)
        #expect(run.params["trainer.epochs"] == "4" && run.params["model.name"] == "simple-cnn")
        #expect(run.tags["lumen.dataset"]?.hasPrefix("phantom:") == true && run.tags["lumen.libtorch"] != nil)
        #expect(try await store.metricHistory(runID: first.runID, key: "val_loss").count == 4)
        #expect(!(try await store.metricHistory(runID: first.runID, key: "train_loss_step")).isEmpty)
        #expect(try await store.artifact(path: first.bestCheckpoint) != nil)
        let second = try await Trainer(config: config, workspace: ws, store: store).run()
        #expect(Self.same(second.last["val_loss"], first.last["val_loss"]), "same config, seed and data give the same metrics")
        #expect(Self.same(second.last["train_loss"], first.last["train_loss"]), "\(second.last) vs \(first.last)")
        try await store.close()
    }

    @Test func earlyStoppingAndClearDataErrors() async throws {
        let ws = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: ws.root) }
        let store = try await ws.openStore()
        // A metric that cannot improve after the first epoch with patience 1 stops at epoch 2.
        // A watched metric that is never logged is refused before any training.
        let unlogged = try ExperimentConfig(yaml: Self.yaml, overrides: ["trainer.early_stopping.metric=val_aucc"])
        await #expect { try await Trainer(config: unlogged, workspace: ws, store: store).run() } throws: { "\($0)".contains("'val_aucc' is not logged") && "\($0)".contains("val_auc") }
        let config = try ExperimentConfig(yaml: Self.yaml, overrides: ["trainer.early_stopping.metric=lr", "trainer.early_stopping.mode=max", "trainer.early_stopping.patience=1", "trainer.epochs=6"])
        var stopped = false
        let result = try await Trainer(config: config, workspace: ws, store: store).run { if case .stoppedEarly = $0 { stopped = true } }
        #expect(stopped && result.epochs == 2)
        let noSplit = try ExperimentConfig(yaml: Self.yaml, overrides: ["data.train_split=holdout"])
        await #expect { try await Trainer(config: noSplit, workspace: ws, store: store).run() } throws: { "\($0)".contains("no 'holdout' split") }
        let numeric = try ExperimentConfig(yaml: Self.yaml, overrides: ["data.label_threshold=0.5"])
        await #expect { try await Trainer(config: numeric, workspace: ws, store: store).run() } throws: { "\($0)".contains("is not a number") }
        try await store.close()
    }

    /// Stops a run at its `after`-th chance.
    final class StopAfter: @unchecked Sendable {
        // @unchecked: `calls` is only touched under `lock`.
        let lock = NSLock()
        var calls = 0
        let after: Int
        init(_ after: Int) { self.after = after }
        func ask() -> Bool { lock.withLock { calls += 1; return calls >= after } }
    }

    @Test func interruptedRunResumesExactlyAndRegisters() async throws {
        let ws = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: ws.root) }
        let store = try await ws.openStore()
        // AdamW with a cosine schedule: the optimizer moments and the schedule position must both survive.
        let config = try ExperimentConfig(yaml: Self.yaml, overrides: ["trainer.epochs=3", "trainer.optimizer=adamw"])
        let straight = try await Trainer(config: config, workspace: ws, store: store).run()

        // Stopped in the middle of the second epoch (3 batches per epoch: 24 images of 8; asked after
        // batches 1 and 2, at the end of epoch 1, then after batch 1 of epoch 2)…
        var trainer = Trainer(config: config, workspace: ws, store: store)
        let stop = StopAfter(4)
        trainer.shouldStop = { stop.ask() }
        var interruptedRun = ""
        do {
            _ = try await trainer.run()
            Issue.record("the run should have been interrupted")
        } catch TrainingError.interrupted(let runID, let epoch, let batch) {
            interruptedRun = runID
            #expect(epoch == 1 && batch == 1, "stopped at epoch \(epoch) batch \(batch)")
        }
        #expect(try await store.run(id: interruptedRun).info.status == .killed)
        let prefix = "\(try await store.run(id: interruptedRun).info.experimentID)/\(interruptedRun)/artifacts/"
        #expect(try await store.artifact(path: prefix + "checkpoints/last.safetensors") != nil, "a killed run keeps its checkpoints")
        #expect(try await ModelRegistration.trainingRecord(runID: interruptedRun, store: store, workspace: ws) == nil, "nothing to register before it finishes")

        // …continues to exactly the same weights and metrics as the run that was never stopped.
        var events: [TrainingEvent] = []
        let resumed = try await Trainer(config: config, workspace: ws, store: store, resume: interruptedRun).run { events.append($0) }
        #expect(resumed.runID == interruptedRun && resumed.epochs == 3)
        #expect(events.contains { if case .resumed(1, 1) = $0 { return true } else { return false } })
        #expect(Self.same(resumed.last["train_loss"], straight.last["train_loss"]), "\(resumed.last) vs \(straight.last)")
        #expect(Self.same(resumed.last["val_loss"], straight.last["val_loss"]))
        #expect(resumed.last["lr"] == straight.last["lr"])
        #expect(try await store.run(id: interruptedRun).info.status == .finished)
        #expect(try await store.metricHistory(runID: interruptedRun, key: "val_loss").count == 3, "one validation per epoch, none repeated")
        #expect(!FileManager.default.fileExists(atPath: Trainer.checkpointFolder(ws, runID: interruptedRun).path), "resume state is removed when the run finishes")
        await #expect { try await Trainer(config: config, workspace: ws, store: store, resume: interruptedRun).run() } throws: { "\($0)".contains("FINISHED") }

        // A finished run registers later from its artifacts, with its model card.
        let record = try #require(try await ModelRegistration.trainingRecord(runID: interruptedRun, store: store, workspace: ws))
        #expect(record.config.record == config.record && record.result.classes == ["lesion", "normal"])
        let registered = try await ModelRegistration.register(name: "phantom", result: record.result, config: record.config, store: store,
                                                              workspace: ws, alias: "champion", libtorch: "test")
        #expect(registered.version.version == 1 && registered.version.signature == resumed.signature)
        #expect(try await store.modelVersion(name: "phantom", alias: "champion").version == 1)
        #expect(try await ModelRegistration.modelCard(registered.version, store: store, workspace: ws)?.contains("Model card: phantom version 1") == true)
        #expect(!FileManager.default.fileExists(atPath: ws.folder.appendingPathComponent("model-cards").path), "cards live in the artifact store, not in one machine's folder")
        // …and as an MLflow 3 logged model of the run, linked to the version.
        let logged = try await store.searchLoggedModels(LoggedModelQuery(experimentIDs: [try await store.run(id: interruptedRun).info.experimentID])).models
        #expect(logged.contains { $0.sourceRunID == interruptedRun && $0.status == .ready }, "\(logged)")

        // The version carries its typed spec: classes as a list, the checkpoint's digest, the eval pipeline.
        let spec = try ModelSpec.decode(try #require(registered.version.spec), model: "phantom")
        #expect(spec.task == .classification && spec.architecture == .simpleCNN && spec.classes == ["lesion", "normal"])
        let evalPipeline = try Trainer(config: config, workspace: ws, store: store).makePipelines().eval
        #expect(spec.inputChannels == 1 && spec.inputHeight == 24 && spec.preprocessing == evalPipeline)
        #expect(try await store.artifact(path: spec.checkpoint.path)?.sha256 == spec.checkpoint.sha256)

        // Evaluation goes through the Predictor and gives, bit for bit, what the network itself gives on the
        // same batches (the loop `lumen evaluate` ran before the Predictor existed).
        let loaded = try await ModelLoader.load("phantom@champion", store: store, workspace: ws)
        let report = try Evaluator.evaluate(loaded, dataset: "phantom", split: "test", workspace: ws, bootstrap: 10)
        let network = try SimpleCNN(inChannels: 1, numClasses: 2)
        _ = try network.load(from: ArtifactStore(root: ws.artifactRoot).url(for: spec.checkpoint.sha256), strict: true)
        network.eval()
        try network.packForInference()  // as every loaded model: oneDNN-packed convolutions, batch norms folded
        var options = LoaderOptions()
        options.shuffle = false
        options.batchSize = 32
        let repository = DatasetRepository(workspace: ws)
        let loader = try DataLoader(version: try repository.resolve("phantom"), split: "test", repository: repository, pipeline: spec.preprocessing, options: options, classes: spec.classes)
        var direct: [[Double]] = []
        let batches = loader.epoch(0)
        while let batch = try batches.nextBatch() {
            let p = try withNoGrad { () throws(LumenError) -> [Double] in try network(batch.images.mkldnn()).dense().softmax(dim: 1).doubles() }
            for i in 0..<batch.images.shape[0] { direct.append(Array(p[i * 2..<(i + 1) * 2])) }
        }
        #expect(!direct.isEmpty && report.predictions.map(\.probabilities) == direct, "bit-identical to a direct (packed) forward pass")

        // A version registered before specs (no spec column) is migrated from its run on first load.
        let legacy = try await store.createModelVersion(name: "phantom", source: "runs:/\(interruptedRun)/checkpoints/best.safetensors", runID: interruptedRun,
                                                        description: "", tags: [:], signature: nil, preprocessing: nil)
        #expect(legacy.spec == nil)
        let migrated = try await ModelLoader.load("phantom/\(legacy.version)", store: store, workspace: ws)
        #expect(migrated.spec.classes == spec.classes && migrated.spec.checkpoint == spec.checkpoint && migrated.spec.architecture == spec.architecture)
        #expect(try await store.modelVersion(name: "phantom", version: legacy.version).spec != nil, "the migrated spec is stored")
        try await store.close()
    }

    /// Fine-tuning weights shaped like torchvision's ImageNet ResNet-18 (3-channel stem, 1000-class head) on grey
    /// images: the stem is summed over RGB, the head replaced, the backbone frozen for the first epoch and then
    /// trained at lr × model.backbone_lr_factor.
    @Test func fineTunesPretrainedWeights() async throws {
        let ws = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: ws.root) }
        let store = try await ws.openStore()
        let file = ws.root.appendingPathComponent("resnet18-imagenet.safetensors")
        try ResNet(.resnet18, inChannels: 3, numClasses: 1000).save(to: file)
        let pretrained = try Safetensors.load(file)
        let overrides = ["model.name=resnet18", "model.pretrained=\(file.path)", "model.freeze_backbone_epochs=1", "model.backbone_lr_factor=0.1",
                         "trainer.optimizer=sgd", "trainer.schedule=none"]
        func train(epochs: Int) async throws -> (result: TrainingResult, weights: [String: Tensor]) {
            let config = try ExperimentConfig(yaml: Self.yaml, overrides: overrides + ["trainer.epochs=\(epochs)"])
            let result = try await Trainer(config: config, workspace: ws, store: store).run()
            let last = result.bestCheckpoint.replacingOccurrences(of: "best.safetensors", with: "last.safetensors")
            let sha = try #require(try await store.artifact(path: last)?.sha256)
            return (result, try Safetensors.load(ArtifactStore(root: ws.artifactRoot).url(for: sha)))
        }

        // Two parameter groups: the new head at lr, the backbone at lr × 0.1.
        let trainer = Trainer(config: try ExperimentConfig(yaml: Self.yaml, overrides: overrides), workspace: ws, store: store)
        let model = try trainer.makeModel(classes: 2)
        let optimizer = try trainer.makeOptimizer(model)
        #expect(optimizer.groupCount == 2)
        #expect(abs(optimizer.learningRate(group: 0) - 0.003) < 1e-12 && abs(optimizer.learningRate(group: 1) - 0.0003) < 1e-12)

        let stem = try pretrained["conv1.weight"]!.sum(dims: [1], keepDim: true).floats()
        let deep = try pretrained["layer4.1.conv2.weight"]!.floats()
        // One frozen epoch: only the new two-class head (and batch-norm statistics) moved.
        let frozen = try await train(epochs: 1)
        #expect(frozen.weights["fc.weight"]?.shape == [2, 512])
        #expect(try frozen.weights["conv1.weight"]?.floats() == stem, "the RGB stem is summed for grey input")
        #expect(try frozen.weights["layer4.1.conv2.weight"]?.floats() == deep, "the backbone is frozen in epoch 1")
        #expect(frozen.result.last["lr_backbone"].map { abs($0 - 0.0003) < 1e-12 } == true)
        // A second epoch trains the backbone too.
        let unfrozen = try await train(epochs: 2)
        #expect(try #require(unfrozen.weights["layer4.1.conv2.weight"]).floats() != deep, "the backbone trains after the frozen epochs")
        #expect(try #require(unfrozen.weights["conv1.weight"]).floats() != stem)

        #expect(throws: TrainingError.self) { try ExperimentConfig(yaml: Self.yaml, overrides: ["model.backbone_lr_factor=0"]) }
        try await store.close()
    }

    @Test func gridSweepTrainsChildRunsAndReportsTheBest() async throws {
        let ws = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: ws.root) }
        let store = try await ws.openStore()
        let sweepYAML = "base: exp.yaml\nmethod: grid\nmetric: val_auc\nmode: max\nparameters:\n  trainer.lr: [0.001, 0.01]\n  trainer.optimizer: [adamw, sgd]\n"
        let sweep = try SweepConfig(yaml: sweepYAML, overrides: ["trainer.epochs=1"]) { _ in Self.yaml }
        var started: [[String]] = []
        let outcome = try await SweepRunner(sweep: sweep, workspace: ws, store: store).run(trialStarted: { _, _, o in started.append(o) })
        #expect(started.count == 4 && Set(started.map { $0.joined() }).count == 4)
        #expect(outcome.trials.allSatisfy { $0.error == nil && $0.value != nil })
        let best = try #require(outcome.best)
        #expect(outcome.trials.allSatisfy { ($0.value ?? 0) <= (best.value ?? 0) }, "the best trial has the highest val_auc")
        for trial in outcome.trials {
            let run = try await store.run(id: try #require(trial.runID))
            #expect(run.tags["mlflow.parentRunId"] == outcome.parentRunID && run.params["trainer.epochs"] == "1")
            #expect(run.params["trainer.lr"] == (trial.overrides[0].hasSuffix("0.01") ? "0.01" : "0.001"))
        }
        let parent = try await store.run(id: outcome.parentRunID)
        #expect(parent.info.status == .finished && parent.tags["lumen.sweep.best_run"] == best.runID)
        #expect(try await store.metricHistory(runID: outcome.parentRunID, key: "trial_val_auc").count == 4)
        try await store.close()
    }

    @Test func segmentationTrainsAUNetAndReportsDice() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-seg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let ws = try Workspace.create(at: root)
        _ = try Synthesizer.cells(out: root.appendingPathComponent("cells"), count: 12, size: 32, seed: 2)
        let repository = DatasetRepository(workspace: ws)
        let pairs = try ArrayImporters.segmentationFolders(images: root.appendingPathComponent("cells/images"), masks: root.appendingPathComponent("cells/masks"))
        var options = ImportOptions()
        options.threads = 1
        let result = DatasetBuilder(repository: repository, options: options, salt: "s").ingest(pairs.items)
        let entries = try Splitter.split(result.entries, ratios: try SplitRatios.parse("0.5,0.5"), seed: 1)
        try repository.save(DatasetVersion(name: "cells", task: .segmentation, source: "test", entries: entries))
        let store = try await ws.openStore()
        let yaml = "data: {dataset: cells, image_size: 32, augment: [flip]}\nmodel: {name: unet, unet_width: 8, unet_depth: 2}\ntrainer: {epochs: 3, batch_size: 4, lr: 0.01, threads: 1, early_stopping: {metric: val_dice, mode: max}}\n"
        let trained = try await Trainer(config: try ExperimentConfig(yaml: yaml), workspace: ws, store: store).run()
        #expect(trained.task == "segmentation" && trained.classes == ["background", "foreground"])
        #expect(trained.signature.contains("[-1,2,32,32]"))
        let report = try #require(trained.segmentationValidation)
        #expect(report.images.count == 6 && report.classes.count == 2)
        #expect(report.meanForegroundDice > 0.3, "cells are bright blobs; three epochs find them: \(report.meanForegroundDice)")
        #expect(try await store.metricHistory(runID: trained.runID, key: "val_dice").count == 3)
        // A classifier on a segmentation dataset is a config error naming the key.
        let wrong = try ExperimentConfig(yaml: "data: {dataset: cells}\nmodel: {name: resnet18}\n")
        await #expect { try await Trainer(config: wrong, workspace: ws, store: store).run() } throws: { "\($0)".contains("model.name") && "\($0)".contains("unet") }
        let card = try await ModelRegistration.register(name: "cells", result: trained, config: try ExperimentConfig(yaml: yaml), store: store, workspace: ws, libtorch: "test")
        #expect(try await ModelRegistration.modelCard(card.version, store: store, workspace: ws)?.contains("Mean foreground Dice") == true)
        try await store.close()
    }

    @Test func multiLabelTrainsOneSigmoidPerFinding() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-ml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let ws = try Workspace.create(at: root)
        // Two independent findings: a bright top half and a bright left half; "top|left" lists both.
        var rng = SeededGenerator(seed: 7)
        var items: [ImportItem] = []
        for i in 0..<48 {
            let top = i % 2 == 0, left = (i / 2) % 2 == 0
            var pixels = (0..<(16 * 16)).map { _ in UInt8(rng.next() % 50) }
            for y in 0..<16 { for x in 0..<16 where (top && y < 8) || (left && x < 8) { pixels[y * 16 + x] &+= 100 } }
            let png = try ImageWriter.encode(".png", data: pixels, width: 16, height: 16, channels: 1, type: .uint8)
            let labels = [top ? "top" : nil, left ? "left" : nil].compactMap { $0 }
            items.append(ImportItem(path: "\(i).png", bytes: png, label: labels.isEmpty ? "none" : labels.joined(separator: "|"), split: i < 32 ? "train" : "val"))
        }
        var options = ImportOptions()
        options.threads = 1
        let result = DatasetBuilder(repository: DatasetRepository(workspace: ws), options: options, salt: "s").ingest(items)
        try DatasetRepository(workspace: ws).save(DatasetVersion(name: "findings", task: .classification, source: "test", entries: result.entries))
        let store = try await ws.openStore()
        let yaml = "data: {dataset: findings, image_size: 16}\nmodel: {name: simple-cnn}\ntrainer: {epochs: 6, batch_size: 8, lr: 0.01, threads: 1}\n"
        let trained = try await Trainer(config: try ExperimentConfig(yaml: yaml), workspace: ws, store: store).run()
        #expect(trained.task == "multi-label" && trained.classes == ["left", "none", "top"])
        let report = try #require(trained.multiLabelValidation)
        #expect(report.samples == 16 && report.perLabel.count == 3)
        #expect(report.predictions.allSatisfy { $0.labels.count == 3 && $0.probabilities.allSatisfy { $0 >= 0 && $0 <= 1 } })
        #expect(report.predictions.contains { $0.labels == [1, 0, 1] }, "an image with both findings has two positive labels")
        #expect(report.macroAUC > 0.7, "the findings are plain to see: \(report.macroAUC)")
        #expect(try await store.run(id: trained.runID).tags["lumen.task"] == "multi-label")
        #expect(try await store.metricHistory(runID: trained.runID, key: "val_f1_micro").count == 6)
        try await store.close()
    }
}
