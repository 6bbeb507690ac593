import Foundation
import LumenImaging

/// Everything needed to turn a registered model version back into a working network and to feed it
/// the images it was trained on: task, architecture, input shape, classes (a list), the preprocessing
/// pipeline, how outputs become answers, and the checkpoint (artifact path and SHA-256). Written at
/// registration and stored with the version, read by evaluation, serving, monitoring and batch inference,
/// so that all of them build the same `Predictor` and apply the same transform by construction.
public struct ModelSpec: Codable, Sendable, Equatable {
    /// The format this build writes; a spec of a later format is refused with a clear message.
    public static let currentFormat = 1

    public var format: Int
    public var task: ModelTask
    public var architecture: Architecture
    /// Input channels (1 grey, 3 colour) and size in pixels after preprocessing.
    public var inputChannels: Int
    public var inputHeight: Int
    public var inputWidth: Int
    /// Class names in output order (multi-label: the findings; segmentation: the mask values' names).
    public var classes: [String]
    /// Binary classification: the class that is the finding (sensitivity, thresholds refer to it).
    public var positiveClass: String?
    /// Numeric dataset labels at or above this value are class 1, others 0 (nil: labels are class names).
    public var labelThreshold: Double?
    /// What is applied to an image before the network sees it (the training pipeline without its random steps).
    public var preprocessing: Pipeline
    public var output: OutputKind
    /// The weights: the artifact path they were registered from and the SHA-256 of their bytes.
    public var checkpoint: Checkpoint
    public var libtorchVersion: String
    public var lumenVersion: String

    /// A checkpoint file in the content-addressed artifact store.
    public struct Checkpoint: Codable, Sendable, Equatable {
        /// Logical artifact path, e.g. `1/RUN/artifacts/checkpoints/best.safetensors`.
        public var path: String
        public var sha256: String
        public init(path: String, sha256: String) {
            self.path = path
            self.sha256 = sha256
        }
    }

    public init(task: ModelTask, architecture: Architecture, inputChannels: Int, inputHeight: Int, inputWidth: Int, classes: [String],
                positiveClass: String? = nil, labelThreshold: Double? = nil, preprocessing: Pipeline, checkpoint: Checkpoint,
                libtorchVersion: String, lumenVersion: String) {
        format = Self.currentFormat
        self.task = task
        self.architecture = architecture
        self.inputChannels = inputChannels
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.classes = classes
        self.positiveClass = positiveClass
        self.labelThreshold = labelThreshold
        self.preprocessing = preprocessing
        output = task.output
        self.checkpoint = checkpoint
        self.libtorchVersion = libtorchVersion
        self.lumenVersion = lumenVersion
    }

    /// The index of the positive class of a binary task (the second class when none is named).
    public var positiveIndex: Int {
        positiveClass.flatMap { classes.firstIndex(of: $0) } ?? 1
    }

    /// Checks what decoding cannot: a known format, classes that fit the task, the architecture that fits
    /// the task, an input the zoo can build, a well-formed checkpoint digest.
    public func validate(model: String) throws(InferenceError) {
        func refuse(_ reason: String) -> InferenceError { .invalidSpec(model: model, reason: reason) }
        guard format <= Self.currentFormat else {
            throw refuse("format \(format) is newer than this Lumen reads (\(Self.currentFormat)); upgrade Lumen")
        }
        guard output == task.output else { throw refuse("output '\(output.rawValue)' does not fit task '\(task.rawValue)'") }
        guard architecture.name.segments == (task == .segmentation) else {
            throw refuse("architecture \(architecture.name.rawValue) does not fit task '\(task.rawValue)'")
        }
        guard [1, 3].contains(inputChannels) else { throw refuse("input channels must be 1 or 3, got \(inputChannels)") }
        guard (1...4096).contains(inputHeight), (1...4096).contains(inputWidth) else { throw refuse("input size \(inputWidth) x \(inputHeight) is outside 1…4096") }
        guard Set(classes).count == classes.count else { throw refuse("class names repeat: \(classes)") }
        guard classes.count >= (task == .multiLabel ? 1 : 2) else { throw refuse("\(classes.count) class(es) for \(task.rawValue)") }
        if let positiveClass {
            guard task == .classification, classes.count == 2, classes.contains(positiveClass) else {
                throw refuse("positive class '\(positiveClass)' needs a binary classifier with that class (classes: \(classes))")
            }
        }
        guard checkpoint.sha256.count == 64, checkpoint.sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw refuse("checkpoint digest '\(checkpoint.sha256.prefix(70))' is not a SHA-256")
        }
    }

    /// The spec as stored in the registry: JSON with sorted keys.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Reads a stored spec; every problem names the model and the field.
    public static func decode(_ text: String, model: String) throws(InferenceError) -> ModelSpec {
        let spec: ModelSpec
        do { spec = try JSONDecoder().decode(ModelSpec.self, from: Data(text.utf8)) } catch let error as DecodingError {
            throw .invalidSpec(model: model, reason: Self.explain(error))
        } catch {
            throw .invalidSpec(model: model, reason: "\(error)")
        }
        try spec.validate(model: model)
        return spec
    }

    static func explain(_ error: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let .keyNotFound(key, c): return "missing field '\((c.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
        case let .typeMismatch(_, c), let .valueNotFound(_, c), let .dataCorrupted(c):
            return "field '\(path(c))': \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
