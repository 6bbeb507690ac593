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
