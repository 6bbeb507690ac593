import Foundation
import LumenData
import LumenInference
import LumenNN
import LumenStore
import LumenTensor
import LumenWorkspace

/// The epochs of one run: batches, optimizer steps, per-epoch metrics and validation, the best
/// checkpoint (ties on the watched metric broken by validation loss), early stopping, and the saves
/// that let an interrupted run continue exactly.
struct TrainingLoop {
    let trainer: Trainer
    let data: TrainingData
    let model: any Module
    let optimizer: Optimizer
    let scheduler: LRScheduler?
    let loss: any Loss
    let trainLoader: DataLoader
    let valLoader: DataLoader?
    let predictor: Predictor
    let folder: CheckpointFolder
    let runID: String
    let artifactPrefix: String
    let artifacts: ArtifactStore
    var state: TrainingState

    var config: ExperimentConfig { trainer.config }
    var store: any Store { trainer.store }

    /// The metrics each epoch logs, for checking `trainer.early_stopping.metric` before any training.
    static func loggedMetrics(task: ModelTask, validates: Bool, groups: Int) -> [String] {
        var keys = ["train_loss", trainAccuracyKey(task), "lr", "epoch_seconds", "train_images_per_s"]
        if groups > 1 { keys.append("lr_backbone") }
        if validates {
            switch task {
            case .classification: keys += ["val_loss", "val_accuracy", "val_auc"]
            case .multiLabel: keys += ["val_loss", "val_auc", "val_f1_micro", "val_subset_accuracy", "val_label_accuracy"]
            case .segmentation: keys += ["val_loss", "val_dice", "val_iou", "val_pixel_accuracy"]
            }
        }
        return keys
    }

    mutating func run(events: (TrainingEvent) -> Void) async throws {
        if config.freezeBackboneEpochs > 0, state.epoch < config.freezeBackboneEpochs, let classifier = model as? any Classifier { try classifier.freezeBackbone() }
        var stoppedEarly = false
        while state.epoch < config.epochs && !stoppedEarly {
            let epoch = state.epoch
            if epoch == config.freezeBackboneEpochs, config.freezeBackboneEpochs > 0 { try model.unfreeze() }
            let epochStart = Date().addingTimeInterval(-state.epochSeconds)
            try await trainEpoch(epoch, started: epochStart, events: events)
            let seconds = Date().timeIntervalSince(epochStart)
            var metrics: [String: Double] = ["train_loss": state.sum / Double(max(state.seen, 1)), trainAccuracyKey: Double(state.correct) / Double(max(state.counted, 1)),
                                             "lr": optimizer.learningRate(), "epoch_seconds": seconds, "train_images_per_s": Double(state.seen) / max(seconds, 1e-9)]
            if optimizer.groupCount > 1 { metrics["lr_backbone"] = optimizer.learningRate(group: 1) }
            if let valLoader {
                let v = try trainer.validate(predictor, valLoader, loss: loss, data: data, full: false)
                metrics.merge(v.metrics) { _, new in new }
            }
            try await store.logBatch(runID: runID, metrics: metrics.map { Metric(key: $0.key, value: $0.value, timestamp: Clock.nowMillis(), step: Int64(epoch)) }, params: [], tags: [])
            state.lastMetrics = metrics
            state.epochsRun = epoch + 1
            let improved = keepIfBest(metrics, epoch: epoch)
            if improved { try folder.saveBest(model, epoch: epoch, classes: data.classes) }
            events(.epoch(epoch: epoch, metrics: metrics, best: improved))
            if config.patience > 0 && state.sinceBest >= config.patience {
                events(.stoppedEarly(epoch: epoch))
                stoppedEarly = true
            }
            state.epoch = epoch + 1
            state.batch = 0
            state.sum = 0; state.seen = 0; state.correct = 0; state.counted = 0; state.epochSeconds = 0
            state.schedulerSteps = scheduler?.stepCount ?? 0
            try folder.save(model: model, optimizer: optimizer, state: &state, classes: data.classes)
            if !stoppedEarly && state.epoch < config.epochs && trainer.shouldStop() {
                try await publishCheckpoints()
                _ = try await store.updateRun(id: runID, status: .killed, endTime: Clock.nowMillis(), name: nil)
                throw TrainingError.interrupted(runID: runID, epoch: state.epoch, batch: 0)
            }
        }
    }

    var trainAccuracyKey: String { Self.trainAccuracyKey(data.task) }

    static func trainAccuracyKey(_ task: ModelTask) -> String {
        switch task {
        case .segmentation: "train_pixel_accuracy"
        case .multiLabel: "train_label_accuracy"
        case .classification: "train_accuracy"
        }
    }

    /// One epoch of optimizer steps (a resumed epoch skips the batches it already trained).
    mutating func trainEpoch(_ epoch: Int, started: Date, events: (TrainingEvent) -> Void) async throws {
        model.train()
        let batches = trainLoader.epoch(epoch)
        var b = 0
        // Same order on resume: seed, epoch and position decide it.
        while b < state.batch, try batches.nextBatch() != nil { b += 1 }
        try optimizer.zeroGrad()
        while let batch = try batches.nextBatch() {
            guard let targets = data.task == .segmentation ? batch.masks : batch.targets else {
                throw TrainingError.data(data.task == .segmentation ? "a training batch has images without masks" : "a training batch has unlabelled images")
            }
            let logits = try model(batch.images)
            let value = try loss(logits, targets)
            try (value / Double(config.accumulate)).backward()
            b += 1
            let stepped = b % config.accumulate == 0 || b == trainLoader.count
            if stepped {
                try optimizer.step()
                try optimizer.zeroGrad()
                if let scheduler { _ = try scheduler.step() }
                state.globalStep += 1
            }
            let l = try value.item()
            let n = batch.images.shape[0]
            state.sum += l * Double(n)
            state.seen += n
            switch data.task {
            case .multiLabel:
                let truth = try targets.floats()
                state.correct += zip(try logits.floats(), truth).filter { ($0 >= 0) == ($1 >= 0.5) }.count
                state.counted += truth.count
            case .classification, .segmentation:
                let truth = try targets.int64s()
                state.correct += zip(try logits.argmax(dim: 1).int64s(), truth).filter { $0 == $1 }.count
                state.counted += truth.count
            }
            if b % 10 == 0 || b == trainLoader.count {
                try await store.logMetric(runID: runID, key: "train_loss_step", value: l, step: state.globalStep)
            }
            events(.batch(epoch: epoch, batch: b, batches: trainLoader.count, loss: l))
            if stepped && b < trainLoader.count && trainer.shouldStop() {
                state.batch = b
                state.schedulerSteps = scheduler?.stepCount ?? 0
                state.epochSeconds = Date().timeIntervalSince(started)
                try folder.save(model: model, optimizer: optimizer, state: &state, classes: data.classes)
                try await publishCheckpoints()
                _ = try await store.updateRun(id: runID, status: .killed, endTime: Clock.nowMillis(), name: nil)
                throw TrainingError.interrupted(runID: runID, epoch: epoch, batch: b)
            }
        }
    }

    /// Whether this epoch is the best so far by the watched metric (`train_loss` when it is not logged),
    /// a tie going to the lower validation loss; records it as the best.
    mutating func keepIfBest(_ metrics: [String: Double], epoch: Int) -> Bool {
        let watched = metrics[config.monitor] ?? metrics["train_loss"]!
        let valLoss = metrics["val_loss"]
        let improved: Bool
        if watched.isNaN {
            improved = false
        } else if let best = state.bestValue {
            let better = config.monitorMode == .min ? watched < best : watched > best
            let tieWonOnLoss = watched == best && (valLoss.map { v in state.bestLoss.map { v < $0 } ?? false } ?? false)
            improved = better || tieWonOnLoss
        } else {
            improved = true
        }
        if improved {
            state.bestValue = watched
            state.bestLoss = valLoss
            state.bestEpoch = epoch
            state.bestMetrics = metrics
            state.sinceBest = 0
        } else {
            state.sinceBest += 1
        }
        return improved
    }

    /// Copies the last and best checkpoints into the run's artifacts.
    func publishCheckpoints() async throws {
        if FileManager.default.fileExists(atPath: folder.currentModel.path) { try await trainer.record(folder.currentModel, as: "\(artifactPrefix)/checkpoints/last.safetensors", artifacts) }
        if FileManager.default.fileExists(atPath: folder.best.path) { try await trainer.record(folder.best, as: "\(artifactPrefix)/checkpoints/best.safetensors", artifacts) }
    }
}
