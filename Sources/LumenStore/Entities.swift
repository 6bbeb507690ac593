import Foundation
/// Whether an entity is live or soft-deleted (restorable), MLflow's `lifecycle_stage`.
public enum Lifecycle: String, Sendable, Codable, CaseIterable {
    case active, deleted
}

/// A run's state, MLflow's `RunStatus`.
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    case running = "RUNNING", scheduled = "SCHEDULED", finished = "FINISHED", failed = "FAILED", killed = "KILLED"
}

/// A named group of runs (one per model family or study).
public struct Experiment: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var artifactLocation: String
    public var lifecycle: Lifecycle
    public var creationTime: Int64
    public var lastUpdateTime: Int64
    public var tags: [String: String]
}

/// One numeric measurement; `timestamp` in ms, `step` the training step or epoch.
public struct Metric: Sendable, Equatable, Codable {
    public var key: String
    public var value: Double
    public var timestamp: Int64
    public var step: Int64

    public init(key: String, value: Double, timestamp: Int64 = Clock.nowMillis(), step: Int64 = 0) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.step = step
    }

    /// Equality that treats NaN as equal to NaN (a logged NaN reads back as NaN).
    public static func == (a: Metric, b: Metric) -> Bool {
        a.key == b.key && a.timestamp == b.timestamp && a.step == b.step && (a.value == b.value || (a.value.isNaN && b.value.isNaN))
    }
}

/// A hyper-parameter: written once per run, never changed.
public struct Param: Sendable, Equatable, Codable {
    public var key: String
    public var value: String
    public init(key: String, value: String) { self.key = key; self.value = value }
}

/// A free-form label on a run.
public struct Tag: Sendable, Equatable, Codable {
    public var key: String
    public var value: String
    public init(key: String, value: String) { self.key = key; self.value = value }
}

/// A run's attributes (MLflow's `RunInfo`).
public struct RunInfo: Sendable, Equatable, Codable {
    public var runID: String
    public var experimentID: String
    public var name: String
    public var status: RunStatus
    public var startTime: Int64
    public var endTime: Int64?
    public var lifecycle: Lifecycle
    public var artifactURI: String
    public var parentRunID: String?
}

/// A run with its data: params, tags and the latest value of each metric.
public struct Run: Sendable, Equatable, Codable {
    public var info: RunInfo
    public var params: [String: String]
    public var tags: [String: String]
    /// Latest value of each metric (by step, then timestamp).
    public var metrics: [String: Metric]
}

/// A search over runs: experiments, a filter in MLflow's language, ordering and paging.
public struct RunQuery: Sendable, Equatable {
    public var experimentIDs: [String]
    /// e.g. `metrics.val_auc > 0.9 and params.model = 'resnet18'`; empty for all runs.
    public var filter: String
    /// e.g. `["metrics.val_auc DESC", "attributes.start_time"]`.
    public var orderBy: [String]
    public var lifecycle: LifecycleFilter
    public var maxResults: Int
    public var pageToken: String?

    public enum LifecycleFilter: String, Sendable { case activeOnly = "ACTIVE_ONLY", deletedOnly = "DELETED_ONLY", all = "ALL" }

    public init(experimentIDs: [String], filter: String = "", orderBy: [String] = [], lifecycle: LifecycleFilter = .activeOnly,
                maxResults: Int = 1000, pageToken: String? = nil) {
        self.experimentIDs = experimentIDs
        self.filter = filter
        self.orderBy = orderBy
        self.lifecycle = lifecycle
        self.maxResults = maxResults
        self.pageToken = pageToken
    }
}

/// One page of search results; `nextPageToken` is nil on the last page.
public struct RunPage: Sendable, Equatable {
    public var runs: [Run]
    public var nextPageToken: String?
}

/// A file or folder in the artifact tree.
public struct ArtifactEntry: Sendable, Equatable, Codable {
    public var path: String
    public var isDirectory: Bool
    public var size: Int64?
    public var sha256: String?
}

/// A named model in the registry (`chest-xray-classifier`), holding numbered versions and aliases.
public struct RegisteredModel: Sendable, Equatable, Codable {
    public var name: String
    public var description: String
    public var creationTime: Int64
    public var lastUpdatedTime: Int64
    public var tags: [String: String]
    /// Alias → version (`champion` → 3).
    public var aliases: [String: Int64]
    /// Newest version number, if any.
    public var latestVersion: Int64?
}

/// One registered version of a model: where its weights came from, its signature and preprocessing.
public struct ModelVersion: Sendable, Equatable, Codable {
    public var name: String
    public var version: Int64
    public var creationTime: Int64
    public var lastUpdatedTime: Int64
    public var description: String
    /// Artifact URI of the weights (`runs:/<run>/model`, `mlflow-artifacts:/…`).
    public var source: String
    public var runID: String?
    public var status: String
    /// Legacy MLflow stage (None, Staging, Production, Archived).
    public var stage: String
    /// Input/output signature (JSON text) and preprocessing spec (JSON text), carried with the weights.
    public var signature: String?
    public var preprocessing: String?
    /// The typed `ModelSpec` as JSON (nil for versions registered by other clients, or before specs).
    public var spec: String?
    public var tags: [String: String]
    public var aliases: [String]
}

/// A dataset version a run used (lineage).
public struct DatasetUse: Sendable, Equatable, Codable {
    public var dataset: String
    public var version: String
    public var context: String
    public init(dataset: String, version: String, context: String = "training") {
        self.dataset = dataset
        self.version = version
        self.context = context
    }
}

/// Where a model version came from: its run and the data that run used.
public struct Lineage: Sendable, Equatable {
    public var modelVersion: ModelVersion
    public var run: Run?
    public var datasets: [DatasetUse]
}

/// What an API token may do: read, write (log, register), or administer.
public enum TokenRole: String, Sendable, Codable, CaseIterable, Comparable {
    case reader, writer, admin
    public static func < (a: TokenRole, b: TokenRole) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A stored API token (its secret is never stored, only a SHA-256 of it).
public struct APIToken: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var role: TokenRole
    public var created: Int64
    public var revoked: Bool
}

/// One served prediction: which model version, when, the input's features, the outputs and the latency (seconds).
public struct PredictionLog: Sendable, Equatable, Codable {
    public var modelName: String
    public var modelVersion: Int64
    public var time: Int64
    /// JSON object of input features (image statistics, metadata) used by drift monitoring.
    public var features: String
    /// JSON of the outputs (probabilities, label).
    public var outputs: String
    public var latency: Double
    /// The id the answer gave for this prediction, which ground-truth feedback refers to.
    public var id: String?

    public init(modelName: String, modelVersion: Int64, time: Int64 = Clock.nowMillis(), features: String, outputs: String, latency: Double, id: String? = nil) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.time = time
        self.features = features
        self.outputs = outputs
        self.latency = latency
        self.id = id
    }
}

/// Ground truth for a logged prediction, sent after the fact (a radiologist's read, a biopsy result).
public struct Feedback: Sendable, Equatable, Codable {
    public var predictionID: String
    public var label: String
    public var time: Int64

    public init(predictionID: String, label: String, time: Int64 = Clock.nowMillis()) {
        self.predictionID = predictionID
        self.label = label
        self.time = time
    }
}

/// What recording feedback did: new ids, ids whose label was replaced, ids no prediction has.
public struct FeedbackOutcome: Sendable, Equatable, Codable {
    public var recorded: Int
    public var updated: Int
    public var unknown: [String]
}

/// A dataset version as the store indexes it: the manifest itself lives in the artifact store.
public struct DatasetRecord: Sendable, Equatable, Codable {
    public var name: String
    public var versionID: String
    public var created: Int64
    public var task: String
    public var files: Int64
    public var classes: [String]
    public var parent: String?
    /// The manifest's path under the artifact root (`datasets/NAME/ID.json`) and its SHA-256.
    public var manifestPath: String
    public var manifestSHA256: String

    public init(name: String, versionID: String, created: Int64, task: String, files: Int64, classes: [String], parent: String?,
                manifestPath: String, manifestSHA256: String) {
        self.name = name
        self.versionID = versionID
        self.created = created
        self.task = task
        self.files = files
        self.classes = classes
        self.parent = parent
        self.manifestPath = manifestPath
        self.manifestSHA256 = manifestSHA256
    }
}

/// A monitoring alert: one episode of a rule's condition on one model, from pending to firing to resolved.
public struct AlertRecord: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case pending, firing, resolved }
    public var id: String
    public var rule: String
    public var model: String
    public var severity: String
    public var state: State
    public var metric: String
    /// `above` or `below`.
    public var comparison: String
    public var threshold: Double
    /// The metric's latest value.
    public var value: Double?
    /// When the condition was first seen (ms), when the alert fired and when it resolved.
    public var started: Int64
    public var fired: Int64?
    public var resolved: Int64?
    public var updated: Int64
    /// JSON: what the value was computed from (window, samples, details).
    public var evidence: String
    /// What each notification channel answered, one line each.
    public var deliveries: String

    public init(id: String = UUID().uuidString.lowercased(), rule: String, model: String, severity: String, state: State, metric: String,
                comparison: String, threshold: Double, value: Double?, started: Int64, fired: Int64? = nil, resolved: Int64? = nil,
                updated: Int64, evidence: String, deliveries: String = "") {
        self.id = id
        self.rule = rule
        self.model = model
        self.severity = severity
        self.state = state
        self.metric = metric
        self.comparison = comparison
        self.threshold = threshold
        self.value = value
        self.started = started
        self.fired = fired
        self.resolved = resolved
        self.updated = updated
        self.evidence = evidence
        self.deliveries = deliveries
    }
}

/// One run of a pipeline file.
public struct PipelineRunRecord: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable { case running, succeeded, failed }
    public var id: String
    public var pipeline: String
    /// The pipeline file's path when it ran, and the SHA-256 of its text in the artifact store.
    public var path: String
    public var sourceSHA256: String
    /// The parameters it ran with (JSON object).
    public var params: String
    public var status: Status
    public var started: Int64
    public var finished: Int64?
    public var message: String

    public init(id: String = UUID().uuidString.lowercased(), pipeline: String, path: String, sourceSHA256: String, params: String,
                status: Status = .running, started: Int64 = Clock.nowMillis(), finished: Int64? = nil, message: String = "") {
        self.id = id
        self.pipeline = pipeline
        self.path = path
        self.sourceSHA256 = sourceSHA256
        self.params = params
        self.status = status
        self.started = started
        self.finished = finished
        self.message = message
    }
}

/// One step of a pipeline run.
public struct PipelineStepRecord: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable { case running, succeeded, failed, cached, skipped }
    public var runID: String
    public var step: String
    public var status: Status
    public var attempts: Int
    public var started: Int64?
    public var finished: Int64?
    /// SHA-256 of the step's definition and its inputs' contents: equal keys mean the same work.
    public var cacheKey: String
    /// The run whose result a cached step reused.
    public var cachedFrom: String?
    public var exitCode: Int?
    /// The step's output (stdout and stderr) in the artifact store.
    public var logSHA256: String?
    /// JSON: each output reference → what it was (file SHA-256, dataset version, model version).
    public var outputs: String
    public var message: String

    public init(runID: String, step: String, status: Status, attempts: Int = 0, started: Int64? = nil, finished: Int64? = nil, cacheKey: String,
                cachedFrom: String? = nil, exitCode: Int? = nil, logSHA256: String? = nil, outputs: String = "{}", message: String = "") {
        self.runID = runID
        self.step = step
        self.status = status
        self.attempts = attempts
        self.started = started
        self.finished = finished
        self.cacheKey = cacheKey
        self.cachedFrom = cachedFrom
        self.exitCode = exitCode
        self.logSHA256 = logSHA256
        self.outputs = outputs
        self.message = message
    }
}
