/// Where a logged model is in its life: created PENDING, then READY once its artifacts are uploaded
/// (or UPLOAD_FAILED), as MLflow 3's `LoggedModelStatus`.
public enum LoggedModelStatus: String, Sendable, Codable, CaseIterable {
    case pending = "LOGGED_MODEL_PENDING", ready = "LOGGED_MODEL_READY", uploadFailed = "LOGGED_MODEL_UPLOAD_FAILED"

    /// Reads MLflow's enum name (`LOGGED_MODEL_READY`), its short form (`READY`, as filters write it) or its number.
    public init?(mlflow text: String) {
        switch text.uppercased() {
        case "LOGGED_MODEL_PENDING", "PENDING", "1": self = .pending
        case "LOGGED_MODEL_READY", "READY", "2": self = .ready
        case "LOGGED_MODEL_UPLOAD_FAILED", "UPLOAD_FAILED", "FAILED", "3": self = .uploadFailed
        default: return nil
        }
    }

    /// The short name MLflow's search filters compare with (`status = 'READY'`).
    public var shortName: String { String(rawValue.dropFirst("LOGGED_MODEL_".count)) }
}

/// A metric value linked to a logged model (MLflow 3's `Metric.model_id`), optionally measured on a dataset.
/// The same value is part of the logging run's history too.
public struct LoggedModelMetric: Sendable, Equatable, Codable {
    public var modelID: String
    public var metric: Metric
    /// The run that logged it (filled in when read back; ignored when logging, where the batch's run counts).
    public var runID: String?
    public var datasetName: String?
    public var datasetDigest: String?

    public init(modelID: String, metric: Metric, runID: String? = nil, datasetName: String? = nil, datasetDigest: String? = nil) {
        self.modelID = modelID
        self.metric = metric
        self.runID = runID
        self.datasetName = datasetName
        self.datasetDigest = datasetDigest
    }
}

/// A model logged by a run (MLflow 3's `LoggedModel`, `models:/m-…`): its own artifact folder, params,
/// tags and metrics, independent of the registry, which may register it as a version.
public struct LoggedModel: Sendable, Equatable, Codable {
    /// `m-` and 32 hex digits.
    public var id: String
    public var experimentID: String
    public var name: String
    /// `<experiment artifact location>/models/<id>/artifacts`, e.g. `mlflow-artifacts:/1/models/m-…/artifacts`.
    public var artifactLocation: String
    public var creationTime: Int64
    public var lastUpdatedTime: Int64
    public var status: LoggedModelStatus
    public var statusMessage: String?
    public var lifecycle: Lifecycle
    public var modelType: String?
    public var sourceRunID: String?
    public var tags: [String: String]
    public var params: [String: String]
    /// Every linked metric value, oldest step first.
    public var metrics: [LoggedModelMetric]
}

/// How a run and a logged model are linked: the run produced it (`output`, MLflow's `LogOutputs`) or used it (`input`).
public struct RunModelLink: Sendable, Equatable, Codable {
    public enum Direction: String, Sendable, Codable { case input, output }
    public var modelID: String
    public var direction: Direction
    /// The training step at which an output was logged (0 for inputs).
    public var step: Int64

    public init(modelID: String, direction: Direction, step: Int64 = 0) {
        self.modelID = modelID
        self.direction = direction
        self.step = step
    }
}

/// A search over logged models, as MLflow's `search_logged_models`.
public struct LoggedModelQuery: Sendable, Equatable {
    /// One ordering term: an attribute (`creation_timestamp`, `name`, …) or `metrics.KEY`, optionally on one dataset.
    public struct Order: Sendable, Equatable {
        public var field: String
        public var ascending: Bool
        public var datasetName: String?
        public var datasetDigest: String?
        public init(field: String, ascending: Bool = true, datasetName: String? = nil, datasetDigest: String? = nil) {
            self.field = field
            self.ascending = ascending
            self.datasetName = datasetName
            self.datasetDigest = datasetDigest
        }
    }

    /// Restricts metric filters and orderings to values measured on these datasets (a digest narrows a name).
    public struct Dataset: Sendable, Equatable {
        public var name: String
        public var digest: String?
        public init(name: String, digest: String? = nil) { self.name = name; self.digest = digest }
    }

    public var experimentIDs: [String]
    /// e.g. `metrics.val_auc > 0.9 AND params.arch = 'resnet18' AND status = 'READY'`; empty for all.
    public var filter: String
    public var orderBy: [Order]
    public var datasets: [Dataset]
    public var maxResults: Int
    public var pageToken: String?

    public init(experimentIDs: [String], filter: String = "", orderBy: [Order] = [], datasets: [Dataset] = [],
                maxResults: Int = 100, pageToken: String? = nil) {
        self.experimentIDs = experimentIDs
        self.filter = filter
        self.orderBy = orderBy
        self.datasets = datasets
        self.maxResults = maxResults
        self.pageToken = pageToken
    }
}

/// One page of logged models; `nextPageToken` is nil on the last page.
public struct LoggedModelPage: Sendable, Equatable {
    public var models: [LoggedModel]
    public var nextPageToken: String?
}
