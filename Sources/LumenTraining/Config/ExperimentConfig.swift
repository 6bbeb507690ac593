import Foundation
import LumenInference

/// The text and overrides an `ExperimentConfig` was made from.
public struct ConfigRecord: Codable, Sendable, Equatable {
    public var yaml: String
    public var source: String
    public var overrides: [String]
}

/// A training experiment: data, model and trainer settings, read from YAML with dotted overrides.
/// Every key, its type, default and meaning is in `ExperimentConfig.schema` (printed by
/// `lumen train --help` and copied into docs/configuration.md).
public struct ExperimentConfig: Sendable {
    public static let schema: [ConfigKey] = [
        .init(path: "experiment", type: .string, defaultValue: "default", required: false, help: "experiment the run is logged under"),
        .init(path: "task", type: .choice(of: TaskSetting.self), defaultValue: "auto", required: false, help: "what to learn (auto: segmentation for datasets with masks, multi-label when a label lists several findings as a|b, else classification)"),
        .init(path: "run_name", type: .string, defaultValue: nil, required: false, help: "name of the run (default: generated)"),
        .init(path: "data.dataset", type: .string, defaultValue: nil, required: true, help: "dataset version, NAME or NAME:ID (lumen data list)"),
        .init(path: "data.train_split", type: .string, defaultValue: "train", required: false, help: "split trained on"),
        .init(path: "data.val_split", type: .string, defaultValue: "val", required: false, help: "split validated on each epoch (falls back to test when empty)"),
        .init(path: "data.image_size", type: .int, defaultValue: "64", required: false, help: "images are resized to this square size (pixels)"),
        .init(path: "data.channels", type: .int, defaultValue: "1", required: false, help: "input channels (grey images are replicated for 3)"),
        .init(path: "data.window", type: .string, defaultValue: nil, required: false, help: "CT window: a preset (lung, bone, …) or CENTER,WIDTH"),
        .init(path: "data.label_threshold", type: .double, defaultValue: nil, required: false, help: "numeric labels ≥ threshold become class 1, others 0 (ELPV: 0.5)"),
        .init(path: "data.augment", type: .strings, defaultValue: "flip", required: false, help: "training augmentation: flip, vflip, rotate, affine, elastic, brightness, contrast, noise, blur"),
        .init(path: "data.normalize", type: .choice(of: NormalizeKind.self), defaultValue: "minmax", required: false, help: "intensity normalisation per image"),
        .init(path: "data.mask_classes", type: .int, defaultValue: "2", required: false, help: "segmentation: label values 0…N-1 in the masks (2: background and foreground)"),
        .init(path: "data.positive_class", type: .string, defaultValue: nil, required: false, help: "binary tasks: the class that is the finding (sensitivity, specificity, threshold; default: the second class in sorted order)"),
        .init(path: "data.balanced", type: .bool, defaultValue: "false", required: false, help: "class-balanced sampling"),
        .init(path: "data.cache", type: .bool, defaultValue: "true", required: false, help: "keep decoded images in memory across epochs"),
        .init(path: "data.workers", type: .int, defaultValue: "2", required: false, help: "loader threads"),
        .init(path: "model.name", type: .choice(of: ArchitectureName.self), defaultValue: "resnet18", required: false, help: "architecture (unet for segmentation; resnet18 is the default for classification)"),
        .init(path: "model.unet_width", type: .int, defaultValue: "16", required: false, help: "U-Net: channels of the first level (doubled per level)"),
        .init(path: "model.unet_depth", type: .int, defaultValue: "3", required: false, help: "U-Net: down-sampling levels"),
        .init(path: "model.pretrained", type: .string, defaultValue: nil, required: false, help: "safetensors weights with torchvision key names; the head is replaced"),
        .init(path: "model.freeze_backbone_epochs", type: .int, defaultValue: "0", required: false, help: "epochs with the backbone frozen (pretrained weights)"),
        .init(path: "model.backbone_lr_factor", type: .double, defaultValue: "0.1", required: false, help: "fine-tuning (model.pretrained or frozen epochs): the backbone learns at trainer.lr × this, the new head at trainer.lr (1: same rate)"),
        .init(path: "trainer.epochs", type: .int, defaultValue: "10", required: false, help: "training epochs"),
        .init(path: "trainer.batch_size", type: .int, defaultValue: "32", required: false, help: "images per batch"),
        .init(path: "trainer.optimizer", type: .choice(of: OptimizerKind.self), defaultValue: "adamw", required: false, help: "optimizer"),
        .init(path: "trainer.lr", type: .double, defaultValue: "0.001", required: false, help: "learning rate"),
        .init(path: "trainer.weight_decay", type: .double, defaultValue: "0.0001", required: false, help: "weight decay"),
        .init(path: "trainer.momentum", type: .double, defaultValue: "0.9", required: false, help: "momentum (sgd)"),
        .init(path: "trainer.schedule", type: .choice(of: ScheduleKind.self), defaultValue: "cosine", required: false, help: "learning-rate schedule, stepped per batch (step: ×0.1 every third of training)"),
        .init(path: "trainer.loss", type: .choice(of: LossKind.self), defaultValue: "auto", required: false, help: "loss (auto: cross-entropy for classification, bce for multi-label, dice-ce for segmentation; focal: focal loss, γ = 2, for imbalanced classes)"),
        .init(path: "trainer.seed", type: .int, defaultValue: "0", required: false, help: "seed of weights, shuffling and augmentation"),
        .init(path: "trainer.accumulate", type: .int, defaultValue: "1", required: false, help: "batches whose gradients are summed before a step"),
        .init(path: "trainer.class_weights", type: .bool, defaultValue: "false", required: false, help: "weight the loss by inverse class frequency in the training split"),
        .init(path: "trainer.early_stopping.metric", type: .string, defaultValue: "val_loss", required: false, help: "metric watched for the best checkpoint and early stopping"),
        .init(path: "trainer.early_stopping.mode", type: .choice(of: MonitorMode.self), defaultValue: "min", required: false, help: "whether lower or higher is better"),
        .init(path: "trainer.early_stopping.patience", type: .int, defaultValue: "0", required: false, help: "epochs without improvement before stopping (0: never stop early)"),
        .init(path: "trainer.threads", type: .int, defaultValue: "0", required: false, help: "libtorch CPU threads (0: every core)"),
    ]

    public let tree: ConfigTree
    /// Where the config came from, kept with the run so that `--resume` and `lumen models register` rebuild it.
    public let record: ConfigRecord

    public var experiment: String
    public var task: TaskSetting
    public var maskClasses: Int
    public var unetWidth: Int
    public var unetDepth: Int
    public var runName: String?
    public var dataset: String
    public var trainSplit: String
    public var valSplit: String
    public var imageSize: Int
    public var channels: Int
    public var window: String?
    public var labelThreshold: Double?
    public var augment: [Augmentation]
    public var normalize: NormalizeKind
    public var balanced: Bool
    public var positiveClass: String?
    public var cache: Bool
    public var workers: Int
    public var model: ArchitectureName
    public var pretrained: String?
    public var freezeBackboneEpochs: Int
    public var backboneLRFactor: Double
    public var epochs: Int
    public var batchSize: Int
    public var optimizer: OptimizerKind
    public var lr: Double
    public var weightDecay: Double
    public var momentum: Double
    public var schedule: ScheduleKind
    public var loss: LossKind
    public var seed: UInt64
    public var accumulate: Int
    public var classWeights: Bool
    public var monitor: String
    public var monitorMode: MonitorMode
    public var patience: Int
    public var threads: Int

    public static let augmentations = Augmentation.allCases.map(\.rawValue)

    /// Reads `yaml` (may be empty) and applies `overrides`; every problem names its key.
    public init(yaml: String, source: String = "config", overrides: [String] = []) throws(TrainingError) {
        var tree = ConfigTree(schema: Self.schema)
        try tree.load(yaml: yaml, source: source)
        try tree.override(overrides)
        self.tree = tree
        record = ConfigRecord(yaml: yaml, source: source, overrides: overrides)
        experiment = try tree.string("experiment") ?? "default"
        task = try tree.choice("task", as: TaskSetting.self)
        maskClasses = try tree.int("data.mask_classes")
        unetWidth = try tree.int("model.unet_width")
        unetDepth = try tree.int("model.unet_depth")
        runName = try tree.string("run_name")
        dataset = try tree.string("data.dataset")!
        trainSplit = try tree.string("data.train_split") ?? "train"
        valSplit = try tree.string("data.val_split") ?? "val"
        imageSize = try tree.int("data.image_size")
        channels = try tree.int("data.channels")
        window = try tree.string("data.window")
        labelThreshold = try tree.optionalDouble("data.label_threshold")
        augment = try tree.choices("data.augment", as: Augmentation.self)
        normalize = try tree.choice("data.normalize", as: NormalizeKind.self)
        balanced = try tree.bool("data.balanced")
        positiveClass = try tree.string("data.positive_class")
        cache = try tree.bool("data.cache")
        workers = try tree.int("data.workers")
        model = try tree.choice("model.name", as: ArchitectureName.self)
        pretrained = try tree.string("model.pretrained")
        freezeBackboneEpochs = try tree.int("model.freeze_backbone_epochs")
        backboneLRFactor = try tree.double("model.backbone_lr_factor")
        epochs = try tree.int("trainer.epochs")
        batchSize = try tree.int("trainer.batch_size")
        optimizer = try tree.choice("trainer.optimizer", as: OptimizerKind.self)
        lr = try tree.double("trainer.lr")
        weightDecay = try tree.double("trainer.weight_decay")
        momentum = try tree.double("trainer.momentum")
        schedule = try tree.choice("trainer.schedule", as: ScheduleKind.self)
        loss = try tree.choice("trainer.loss", as: LossKind.self)
        seed = UInt64(max(0, try tree.int("trainer.seed")))
        accumulate = try tree.int("trainer.accumulate")
        classWeights = try tree.bool("trainer.class_weights")
        monitor = try tree.string("trainer.early_stopping.metric") ?? "val_loss"
        monitorMode = try tree.choice("trainer.early_stopping.mode", as: MonitorMode.self)
        patience = try tree.int("trainer.early_stopping.patience")
        threads = try tree.int("trainer.threads")
        try validate()
    }

    /// Rebuilds a config from its record (the `lumen/config.json` artifact of a run).
    public init(record: ConfigRecord) throws(TrainingError) {
        try self.init(yaml: record.yaml, source: record.source, overrides: record.overrides)
    }

    func validate() throws(TrainingError) {
        func positive(_ v: Int, _ path: String) throws(TrainingError) { if v < 1 { throw .config(path: path, reason: "must be ≥ 1, got \(v)") } }
        try positive(imageSize, "data.image_size")
        try positive(epochs, "trainer.epochs")
        try positive(batchSize, "trainer.batch_size")
        try positive(accumulate, "trainer.accumulate")
        try positive(workers, "data.workers")
        guard maskClasses >= 2 else { throw .config(path: "data.mask_classes", reason: "must be ≥ 2 (background and at least one class), got \(maskClasses)") }
        try positive(unetWidth, "model.unet_width")
        guard (1...5).contains(unetDepth) else { throw .config(path: "model.unet_depth", reason: "must be 1–5, got \(unetDepth)") }
        if model == .unet && imageSize % (1 << unetDepth) != 0 {
            throw .config(path: "data.image_size", reason: "U-Net with model.unet_depth \(unetDepth) needs a multiple of \(1 << unetDepth), got \(imageSize)")
        }
        if let fixed = task.task, loss.resolved(for: fixed) == nil {
            throw .config(path: "trainer.loss", reason: "\(loss.rawValue) does not fit \(fixed.rawValue) (use auto)")
        }
        if task == .classification && model == .unet { throw .config(path: "model.name", reason: "unet segments; classification needs simple-cnn, resnet18/34/50 or vgg16(-bn)") }
        guard [1, 3].contains(channels) else { throw .config(path: "data.channels", reason: "must be 1 or 3, got \(channels)") }
        guard lr > 0 else { throw .config(path: "trainer.lr", reason: "must be > 0, got \(lr)") }
        guard backboneLRFactor > 0 && backboneLRFactor <= 1 else { throw .config(path: "model.backbone_lr_factor", reason: "must be in (0, 1], got \(backboneLRFactor)") }
        guard freezeBackboneEpochs >= 0 else { throw .config(path: "model.freeze_backbone_epochs", reason: "must be ≥ 0, got \(freezeBackboneEpochs)") }
        guard patience >= 0 else { throw .config(path: "trainer.early_stopping.patience", reason: "must be ≥ 0") }
        // Upper bounds: a typo such as image_size: 51200 is refused here, not by the allocator an hour later.
        func atMost(_ v: Int, _ limit: Int, _ path: String) throws(TrainingError) { if v > limit { throw .config(path: path, reason: "must be ≤ \(limit), got \(v)") } }
        try atMost(imageSize, 4096, "data.image_size")
        try atMost(batchSize, 65_536, "trainer.batch_size")
        try atMost(accumulate, 65_536, "trainer.accumulate")
        try atMost(epochs, 1_000_000, "trainer.epochs")
        try atMost(workers, 256, "data.workers")
        try atMost(unetWidth, 1024, "model.unet_width")
        try atMost(maskClasses, 65_536, "data.mask_classes")
        guard (0...4096).contains(threads) else { throw .config(path: "trainer.threads", reason: "must be 0 (every core) to 4096, got \(threads)") }
        guard lr.isFinite else { throw .config(path: "trainer.lr", reason: "must be finite, got \(lr)") }
        guard weightDecay.isFinite && weightDecay >= 0 else { throw .config(path: "trainer.weight_decay", reason: "must be ≥ 0 and finite, got \(weightDecay)") }
        guard momentum.isFinite && momentum >= 0 && momentum < 1 else { throw .config(path: "trainer.momentum", reason: "must be in [0, 1), got \(momentum)") }
        if let t = labelThreshold, !t.isFinite { throw .config(path: "data.label_threshold", reason: "must be finite, got \(t)") }
    }

    /// A commented example configuration (what `lumen train --example` prints).
    public static var example: String {
        """
        # Lumen experiment config. Every key, its type, default and meaning: `lumen train --help`
        # (or docs/configuration.md). Override any key on the command line:
        #   lumen train experiment.yaml trainer.epochs=20 model.name=resnet34
        experiment: chest-xray      # runs are grouped under this experiment
        # task: auto                # auto | classification | multi-label | segmentation
        data:
          dataset: cxr              # NAME or NAME:ID from `lumen data list`
          image_size: 64            # images are resized to this square size
          channels: 1               # 1 (grey) or 3
          # window: lung            # CT window preset or CENTER,WIDTH
          augment: [flip, rotate]   # flip vflip rotate affine elastic brightness contrast noise blur
          normalize: minmax         # minmax | zscore | none
          balanced: false           # class-balanced sampling
          # positive_class: pneumonia  # binary: the finding (default: the second class in sorted order)
        model:
          name: resnet18            # simple-cnn resnet18 resnet34 resnet50 vgg16 vgg16-bn unet
          # pretrained: resnet18.safetensors   # torchvision key names; the head is replaced
          # freeze_backbone_epochs: 2       # then the whole network trains,
          # backbone_lr_factor: 0.1         # the backbone at lr × 0.1
        trainer:
          epochs: 10
          batch_size: 32
          optimizer: adamw          # sgd | adam | adamw
          lr: 0.001
          schedule: cosine          # none | cosine | step | onecycle (stepped per batch)
          seed: 0                   # same seed, config and data: same metrics
          early_stopping:
            metric: val_auc         # the best checkpoint is chosen by it
            mode: max
            patience: 5             # 0: never stop early
        """
    }
}
