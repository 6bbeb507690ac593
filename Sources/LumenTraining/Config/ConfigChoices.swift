import LumenInference

/// The closed sets of values an experiment config takes. Configs decode into these; the schema's choice
/// lists are made from them, so an unknown value is refused with its key and the allowed values, and every
/// `switch` over them is exhaustive (a new case is a compile error wherever it is not handled).

/// `task`: what to learn, or `auto` (decided from the dataset).
public enum TaskSetting: String, CaseIterable, Sendable {
    case auto, classification
    case multiLabel = "multi-label"
    case segmentation

    /// The task when it is not left to the dataset.
    public var task: ModelTask? {
        switch self {
        case .auto: nil
        case .classification: .classification
        case .multiLabel: .multiLabel
        case .segmentation: .segmentation
        }
    }
}

/// `trainer.optimizer`.
public enum OptimizerKind: String, CaseIterable, Sendable {
    case sgd, adam, adamw
}

/// `trainer.schedule`: the learning-rate schedule, stepped per batch.
public enum ScheduleKind: String, CaseIterable, Sendable {
    case none, cosine, step, onecycle
}

/// `trainer.loss`: `auto` picks the task's usual loss.
public enum LossKind: String, CaseIterable, Sendable {
    case auto
    case crossEntropy = "cross-entropy"
    case focal
    case bce
    case diceCE = "dice-ce"

    /// The loss a task trains with; `nil` when this kind does not fit the task (the reason is the caller's).
    public func resolved(for task: ModelTask) -> LossKind? {
        switch (self, task) {
        case (.auto, .classification): .crossEntropy
        case (.auto, .multiLabel): .bce
        case (.auto, .segmentation): .diceCE
        case (.crossEntropy, .classification), (.focal, .classification), (.bce, .multiLabel), (.diceCE, .segmentation): self
        case (.crossEntropy, _), (.focal, _), (.bce, _), (.diceCE, _): nil
        }
    }
}

/// `data.augment`: the random training augmentations.
public enum Augmentation: String, CaseIterable, Sendable {
    case flip, vflip, rotate, affine, elastic, brightness, contrast, noise, blur
}

/// `data.normalize`: intensity normalisation per image.
public enum NormalizeKind: String, CaseIterable, Sendable {
    case minmax, zscore, none
}

/// `trainer.early_stopping.mode`: whether lower or higher values of the watched metric are better.
public enum MonitorMode: String, CaseIterable, Sendable {
    case min, max
}

extension ConfigType {
    /// A choice among the raw values of `T`.
    static func choice<T: RawRepresentable & CaseIterable>(of _: T.Type) -> ConfigType where T.RawValue == String {
        .choice(T.allCases.map(\.rawValue))
    }
}

extension ConfigTree {
    /// The value of a choice key as its enum; a value outside it is an error naming the key (never a default).
    func choice<T: RawRepresentable & CaseIterable>(_ path: String, as _: T.Type) throws(TrainingError) -> T where T.RawValue == String {
        let text = try string(path) ?? ""
        guard let value = T(rawValue: text) else {
            throw .config(path: path, reason: "'\(text)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    /// A list of choices (e.g. `data.augment`) as enums; an unknown one is an error naming the key.
    func choices<T: RawRepresentable & CaseIterable>(_ path: String, as _: T.Type) throws(TrainingError) -> [T] where T.RawValue == String {
        var out: [T] = []
        for text in try strings(path) {
            guard let value = T(rawValue: text) else {
                throw .config(path: path, reason: "unknown value '\(text)'; use \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            out.append(value)
        }
        return out
    }
}
