import Crypto
import Foundation

/// Where a team's experiments, runs, parameters, metrics and tags live.
///
/// A backend implements a few primitives; the conveniences (`logMetric`, `logParam`, `setTag`)
/// are defined once on top of `logBatch`, as MLflow's `AbstractStore` does. `SQLStore` implements it
/// for SQLite and PostgreSQL; `openStore(uri:)` picks one from the URI.
public protocol Store: Sendable {
    // Experiments
    func createExperiment(name: String, artifactLocation: String?, tags: [String: String]) async throws -> Experiment
    func experiment(id: String) async throws -> Experiment
    func experiment(named name: String) async throws -> Experiment?
    func experiments(includeDeleted: Bool) async throws -> [Experiment]
    func setExperimentLifecycle(id: String, _ stage: Lifecycle) async throws
    func renameExperiment(id: String, to name: String) async throws
    func setExperimentTag(id: String, key: String, value: String) async throws

    // Runs
    func createRun(experimentID: String, name: String?, startTime: Int64?, tags: [String: String], parentRunID: String?) async throws -> Run
    func run(id: String) async throws -> Run
    func updateRun(id: String, status: RunStatus?, endTime: Int64?, name: String?) async throws -> RunInfo
    func setRunLifecycle(id: String, _ stage: Lifecycle) async throws
    func deleteTag(runID: String, key: String) async throws
    /// Appends metrics, writes params once, sets tags, atomically. Limits are MLflow's (1,000 metrics, 100 params, 100 tags).
    func logBatch(runID: String, metrics: [Metric], params: [Param], tags: [Tag]) async throws
    func metricHistory(runID: String, key: String) async throws -> [Metric]
    func searchRuns(_ query: RunQuery) async throws -> RunPage

    // Logged models (MLflow 3's `models:/m-…`)
    /// Creates a PENDING logged model in an active experiment, its artifact folder `<experiment location>/models/<id>/artifacts`.
    func createLoggedModel(experimentID: String, name: String?, sourceRunID: String?, modelType: String?,
                           params: [String: String], tags: [String: String]) async throws -> LoggedModel
    /// A logged model with its tags, params and linked metrics; deleted ones only with `includeDeleted`.
    func loggedModel(id: String, includeDeleted: Bool) async throws -> LoggedModel
    func finalizeLoggedModel(id: String, status: LoggedModelStatus, message: String?) async throws -> LoggedModel
    /// Soft-deletes: the model leaves searches and `loggedModel(id:includeDeleted: false)`.
    func deleteLoggedModel(id: String) async throws
    func setLoggedModelTags(id: String, _ tags: [String: String]) async throws
    func deleteLoggedModelTag(id: String, key: String) async throws
    /// Params are written once, as a run's: the same key with another value is refused.
    func logLoggedModelParams(id: String, _ params: [String: String]) async throws
    func searchLoggedModels(_ query: LoggedModelQuery) async throws -> LoggedModelPage
    /// `logBatch` with metrics linked to logged models too (MLflow's `Metric.model_id`), in one transaction:
    /// each linked value joins the run's history (once: a value the run already has is not repeated) and the model's.
    func logBatch(runID: String, metrics: [Metric], params: [Param], tags: [Tag], modelMetrics: [LoggedModelMetric]) async throws
    /// Records that a run produced (`output`) or used (`input`) logged models.
    func linkModels(runID: String, _ links: [RunModelLink]) async throws
    /// The model links of each run (runs without any are absent).
    func modelLinks(runIDs: [String]) async throws -> [String: [RunModelLink]]

    // Artifact index (the bytes live in an `ArtifactStore`)
    /// Records that `path` now holds the blob `sha256` of `size` bytes (replacing what it held).
    func recordArtifact(path: String, sha256: String, size: Int64) async throws
    func artifact(path: String) async throws -> ArtifactEntry?
    /// Entries directly under `directory` ("" for the root): files, and sub-folders with `isDirectory`.
    func listArtifacts(directory: String) async throws -> [ArtifactEntry]

    // Model registry
    func createRegisteredModel(name: String, description: String, tags: [String: String]) async throws -> RegisteredModel
    func registeredModel(name: String) async throws -> RegisteredModel
    func registeredModels(nameLike: String?) async throws -> [RegisteredModel]
    func updateRegisteredModel(name: String, description: String?, newName: String?) async throws -> RegisteredModel
    func deleteRegisteredModel(name: String) async throws
    func setRegisteredModelTag(name: String, key: String, value: String?) async throws
    /// Adds the next version of `name` (1, 2, …), atomically even with concurrent registrations.
    func createModelVersion(name: String, source: String, runID: String?, description: String, tags: [String: String],
                            signature: String?, preprocessing: String?, spec: String?) async throws -> ModelVersion
    /// Stores the `ModelSpec` (JSON) of a version registered before specs existed.
    func setModelVersionSpec(name: String, version: Int64, spec: String) async throws
    func modelVersion(name: String, version: Int64) async throws -> ModelVersion
    func modelVersions(name: String?, runID: String?) async throws -> [ModelVersion]
    func updateModelVersion(name: String, version: Int64, description: String?, stage: String?) async throws -> ModelVersion
    func deleteModelVersion(name: String, version: Int64) async throws
    func setModelVersionTag(name: String, version: Int64, key: String, value: String?) async throws
    /// Points `alias` of `name` at `version` (moving it if it pointed elsewhere).
    func setAlias(name: String, alias: String, version: Int64) async throws
    func deleteAlias(name: String, alias: String) async throws
    func modelVersion(name: String, alias: String) async throws -> ModelVersion

    // Lineage
    func linkDatasets(runID: String, _ uses: [DatasetUse]) async throws
    func lineage(name: String, version: Int64) async throws -> Lineage
    /// Model versions whose source runs used this dataset version.
    func modelVersions(usingDataset dataset: String, version: String) async throws -> [ModelVersion]

    // Access
    /// Creates a token; the returned secret is shown once and stored only as a hash.
    func createToken(name: String, role: TokenRole) async throws -> (secret: String, token: APIToken)
    /// The token a secret belongs to, if it exists and is not revoked.
    func token(forSecret secret: String) async throws -> APIToken?
    func tokens() async throws -> [APIToken]
    func revokeToken(id: String) async throws

    // Prediction logs
    func logPredictions(_ logs: [PredictionLog]) async throws
    /// Predictions of a model (optionally one version) since a time (ms): the newest `limit` of them, oldest first.
    func predictions(modelName: String, version: Int64?, since: Int64, limit: Int) async throws -> [PredictionLog]

    /// Attaches ground truth to logged predictions by id: a repeated id replaces its label (the latest
    /// read wins), an id no logged prediction has is reported, not stored.
    func recordFeedback(_ feedback: [Feedback]) async throws -> FeedbackOutcome
    /// Feedback for these prediction ids, by id.
    func feedback(for predictionIDs: [String]) async throws -> [String: Feedback]

    // Alerts
    /// The pending or firing alert of a rule on a model, if any.
    func openAlert(rule: String, model: String) async throws -> AlertRecord?
    /// Records a new pending or firing alert; false when one is open already for its rule and model
    /// (another replica got there first), which is then left as it is.
    func insertAlert(_ alert: AlertRecord) async throws -> Bool
    /// Moves an open alert from `from` to `alert.state` with its new value, evidence and times; false when
    /// it is no longer in `from` (another replica moved it), so that only one replica notifies.
    func transitionAlert(_ alert: AlertRecord, from: AlertRecord.State) async throws -> Bool
    /// Forgets a pending alert whose condition cleared before it fired.
    func dropPendingAlert(id: String) async throws
    /// Records what the notification channels answered.
    func setAlertDeliveries(id: String, _ deliveries: String) async throws
    /// Alerts, newest first: the open ones only, or all since a time (ms).
    func alerts(openOnly: Bool, since: Int64, limit: Int) async throws -> [AlertRecord]

    // Pipelines
    func createPipelineRun(_ run: PipelineRunRecord) async throws
    func finishPipelineRun(id: String, status: PipelineRunRecord.Status, message: String) async throws
    /// Marks a run running again (resume).
    func reopenPipelineRun(id: String) async throws
    func pipelineRun(id: String) async throws -> PipelineRunRecord
    /// Runs, newest first (of one pipeline, or all).
    func pipelineRuns(pipeline: String?, limit: Int) async throws -> [PipelineRunRecord]
    /// Creates or replaces a step's record.
    func recordPipelineStep(_ step: PipelineStepRecord) async throws
    func pipelineSteps(runID: String) async throws -> [PipelineStepRecord]
    /// The newest succeeded (or cached) step with this cache key, in any run.
    func cachedPipelineStep(cacheKey: String) async throws -> PipelineStepRecord?

    // Leases and trigger state (the scheduler)
    /// Takes or renews the lease `name` for `holder` until now + `ttl` seconds; false while another holder's lease runs.
    func acquireLease(name: String, holder: String, ttl: Double) async throws -> Bool
    /// Gives the lease up (when `holder` holds it).
    func releaseLease(name: String, holder: String) async throws
    /// Who holds a lease now, if anyone.
    func leaseHolder(name: String) async throws -> String?
    func triggerState(pipeline: String, trigger: String) async throws -> String?
    func setTriggerState(pipeline: String, trigger: String, value: String) async throws

    // Dataset index
    /// Records a dataset version (idempotent: versions are immutable; the same id again is a no-op).
    func recordDatasetVersion(_ record: DatasetRecord) async throws
    /// Indexed dataset versions, of one name or all, oldest first.
    func datasetVersions(name: String?) async throws -> [DatasetRecord]

    // Secrets
    /// The workspace's 256-bit de-identification secret, created at random on first use (concurrent
    /// first uses agree on one). Every replica and every import on this store derives the same
    /// pseudonyms, UIDs and date shifts from it. Never exposed over HTTP.
    func deidentificationSecret() async throws -> SymmetricKey

    /// Closes connections.
    func close() async throws
}

extension Store {
    /// A version without a `ModelSpec` (what the mlflow client registers).
    public func createModelVersion(name: String, source: String, runID: String?, description: String, tags: [String: String],
                                   signature: String?, preprocessing: String?) async throws -> ModelVersion {
        try await createModelVersion(name: name, source: source, runID: runID, description: description, tags: tags,
                                     signature: signature, preprocessing: preprocessing, spec: nil)
    }

    public func logMetric(runID: String, key: String, value: Double, step: Int64 = 0, timestamp: Int64 = Clock.nowMillis()) async throws {
        try await logBatch(runID: runID, metrics: [Metric(key: key, value: value, timestamp: timestamp, step: step)], params: [], tags: [])
    }

    public func logParam(runID: String, key: String, value: String) async throws {
        try await logBatch(runID: runID, metrics: [], params: [Param(key: key, value: value)], tags: [])
    }

    public func setTag(runID: String, key: String, value: String) async throws {
        try await logBatch(runID: runID, metrics: [], params: [], tags: [Tag(key: key, value: value)])
    }

    /// The experiment with this name, created when missing (`mlflow.set_experiment`).
    public func experimentCreatingIfNeeded(named name: String) async throws -> Experiment {
        if let existing = try await experiment(named: name) { return existing }
        return try await createExperiment(name: name, artifactLocation: nil, tags: [:])
    }

    /// Marks a run finished now.
    public func finishRun(id: String, status: RunStatus = .finished) async throws {
        _ = try await updateRun(id: id, status: status, endTime: Clock.nowMillis(), name: nil)
    }
}

/// Milliseconds since 1970, the unit of every timestamp in the store (as in MLflow).
public enum Clock {
    public static func nowMillis() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
