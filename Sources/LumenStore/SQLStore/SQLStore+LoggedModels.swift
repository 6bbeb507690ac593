import Foundation
import SQLKit

/// MLflow 3 logged models on SQL: `logged_models` with their params, tags and linked metrics, and the
/// runs that produced or used them (`run_model_links`). Schema: migration 7.
extension SQLStore {
    public func createLoggedModel(experimentID: String, name: String?, sourceRunID: String?, modelType: String?,
                                  params: [String: String], tags: [String: String]) async throws -> LoggedModel {
        let experiment = try await experiment(id: experimentID)
        guard experiment.lifecycle == .active else {
            throw StoreError.invalidParameter("The experiment \(experimentID) must be in the 'active' state. Current state is deleted.")
        }
        if let name { try Validation.loggedModelName(name) }
        if let sourceRunID { _ = try await run(id: sourceRunID) }
        try Validation.batch(metrics: [], params: params.map { Param(key: $0.key, value: $0.value) }, tags: tags.map { Tag(key: $0.key, value: $0.value) })
        if let modelType, modelType.count > 500 { throw StoreError.invalidParameter("model_type exceeds 500 characters") }
        let id = "m-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let location = "\(experiment.artifactLocation)/models/\(id)/artifacts"
        let modelName = name ?? RunNames.make()
        let now = Clock.nowMillis()
        try await transaction { db in
            try await db.raw("""
                INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_time, last_updated_time, status,
                                           status_message, lifecycle_stage, model_type, source_run_id)
                VALUES (\(bind: id), \(bind: Int64(experiment.id)!), \(bind: modelName), \(bind: location), \(bind: now), \(bind: now),
                        \(bind: LoggedModelStatus.pending.rawValue), NULL, 'active', \(bind: modelType), \(bind: sourceRunID))
                """).run()
            for (key, value) in params.sorted(by: { $0.key < $1.key }) {
                try await db.raw("INSERT INTO logged_model_params (model_id, key, value) VALUES (\(bind: id), \(bind: key), \(bind: value))").run()
            }
            for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
                try await db.raw("INSERT INTO logged_model_tags (model_id, key, value) VALUES (\(bind: id), \(bind: key), \(bind: value))").run()
            }
        }
        return try await loggedModel(id: id, includeDeleted: false)
    }

    public func loggedModel(id: String, includeDeleted: Bool) async throws -> LoggedModel {
        try Validation.loggedModelID(id)
        guard let model = try await loggedModels(ids: [id]).first, includeDeleted || model.lifecycle == .active else {
            throw StoreError.notFound("Logged model with ID '\(id)' not found.")
        }
        return model
    }

    public func finalizeLoggedModel(id: String, status: LoggedModelStatus, message: String?) async throws -> LoggedModel {
        _ = try await loggedModel(id: id, includeDeleted: false)
        try await db.raw("""
            UPDATE logged_models SET status = \(bind: status.rawValue), status_message = \(bind: message), last_updated_time = \(bind: Clock.nowMillis())
            WHERE model_id = \(bind: id)
            """).run()
        return try await loggedModel(id: id, includeDeleted: false)
    }

    public func deleteLoggedModel(id: String) async throws {
        _ = try await loggedModel(id: id, includeDeleted: false)
        try await db.raw("UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_time = \(bind: Clock.nowMillis()) WHERE model_id = \(bind: id)").run()
    }

    public func setLoggedModelTags(id: String, _ tags: [String: String]) async throws {
        try Validation.batch(metrics: [], params: [], tags: tags.map { Tag(key: $0.key, value: $0.value) })
        _ = try await loggedModel(id: id, includeDeleted: false)
        try await transaction { db in
            for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
                try await db.raw("""
                    INSERT INTO logged_model_tags (model_id, key, value) VALUES (\(bind: id), \(bind: key), \(bind: value))
                    ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value
                    """).run()
            }
            try await db.raw("UPDATE logged_models SET last_updated_time = \(bind: Clock.nowMillis()) WHERE model_id = \(bind: id)").run()
        }
    }

    public func deleteLoggedModelTag(id: String, key: String) async throws {
        let model = try await loggedModel(id: id, includeDeleted: false)
        guard model.tags[key] != nil else { throw StoreError.notFound("No tag with key '\(key)' found for model with ID '\(id)'.") }
        try await db.raw("DELETE FROM logged_model_tags WHERE model_id = \(bind: id) AND key = \(bind: key)").run()
    }

    public func logLoggedModelParams(id: String, _ params: [String: String]) async throws {
        try Validation.batch(metrics: [], params: params.map { Param(key: $0.key, value: $0.value) }, tags: [])
        let model = try await loggedModel(id: id, includeDeleted: false)
        for (key, value) in params {
            if let old = model.params[key], old != value {
                throw StoreError.invalidParameter("Changing param values is not allowed. Param with key='\(key)' was already logged with value='\(old)' for model ID='\(id)'. Attempted logging new value '\(value)'.")
            }
        }
        let new = params.filter { model.params[$0.key] == nil }
        guard !new.isEmpty else { return }
        try await transaction { db in
            for (key, value) in new.sorted(by: { $0.key < $1.key }) {
                try await db.raw("INSERT INTO logged_model_params (model_id, key, value) VALUES (\(bind: id), \(bind: key), \(bind: value))").run()
            }
        }
    }

    public func logBatch(runID: String, metrics: [Metric], params: [Param], tags: [Tag], modelMetrics: [LoggedModelMetric]) async throws {
        try Validation.runID(runID)
        try Validation.batch(metrics: metrics + modelMetrics.map(\.metric), params: params, tags: tags)
        let modelIDs = Set(modelMetrics.map(\.modelID))
        for id in modelIDs { try Validation.loggedModelID(id) }
        for m in modelMetrics {
            guard (m.datasetName?.count ?? 0) <= 500, (m.datasetDigest?.count ?? 0) <= 500 else {
                throw StoreError.invalidParameter("dataset_name and dataset_digest are at most 500 characters")
            }
        }
        if metrics.isEmpty && params.isEmpty && tags.isEmpty && modelMetrics.isEmpty { _ = try await run(id: runID); return }
        try await transaction { db in
            guard let row = try await db.raw("SELECT lifecycle_stage FROM runs WHERE run_uuid = \(bind: runID)").first() else {
                throw StoreError.notFound("Run with id=\(runID) not found")
            }
            guard try row.decode(column: "lifecycle_stage", as: String.self) == "active" else {
                throw StoreError.invalidParameter("The run \(runID) must be in the 'active' state. Current state is deleted.")
            }
            if !modelIDs.isEmpty {
                let found = try await db.raw("SELECT model_id FROM logged_models WHERE model_id IN (\(binds: Array(modelIDs))) AND lifecycle_stage = 'active'")
                    .all().map { try $0.decode(column: "model_id", as: String.self) }
                if let missing = modelIDs.subtracting(found).sorted().first { throw StoreError.notFound("Logged model with ID '\(missing)' not found.") }
            }
            if !params.isEmpty { try await Self.insertParams(db, runID: runID, params: params) }
            for tag in tags { try await Self.upsertTag(db, runID: runID, key: tag.key, value: tag.value) }
            // A linked value joins the run's history unless the run already holds that very value (mlflow's
            // `log_model` re-logs the run's metrics with the new model's id).
            var history = metrics
            for m in modelMetrics where !history.contains(m.metric) {
                let v = m.metric
                let value: SQLQueryString = v.value.isNaN ? "is_nan = 1" : "is_nan = 0 AND value = \(bind: v.value)"
                let same = try await db.raw("""
                    SELECT 1 AS hit FROM metrics WHERE run_uuid = \(bind: runID) AND key = \(bind: v.key) AND step = \(bind: v.step)
                      AND timestamp = \(bind: v.timestamp)
                    """ + " AND " + value).first()
                if same == nil { history.append(v) }
            }
            if !history.isEmpty { try await Self.insertMetrics(db, runID: runID, metrics: history) }
            for m in modelMetrics {
                try await db.raw("""
                    INSERT INTO logged_model_metrics (model_id, key, value, is_nan, timestamp, step, run_uuid, dataset_name, dataset_digest)
                    VALUES (\(bind: m.modelID), \(bind: m.metric.key), \(bind: m.metric.value.isNaN ? nil : m.metric.value as Double?),
                            \(bind: m.metric.value.isNaN ? 1 : 0), \(bind: m.metric.timestamp), \(bind: m.metric.step), \(bind: runID),
                            \(bind: m.datasetName), \(bind: m.datasetDigest))
                    """).run()
            }
        }
    }

    public func linkModels(runID: String, _ links: [RunModelLink]) async throws {
        let run = try await run(id: runID)
        guard run.info.lifecycle == .active else { throw StoreError.invalidParameter("The run \(runID) must be in the 'active' state. Current state is deleted.") }
        guard links.count <= 1000 else { throw StoreError.invalidParameter("at most 1000 models can be linked at once") }
        for link in links { _ = try await loggedModel(id: link.modelID, includeDeleted: false) }
        try await transaction { db in
            for link in links {
                try await db.raw("""
                    INSERT INTO run_model_links (run_uuid, model_id, direction, step) VALUES (\(bind: runID), \(bind: link.modelID), \(bind: link.direction.rawValue), \(bind: link.step))
                    ON CONFLICT (run_uuid, model_id, direction) DO UPDATE SET step = excluded.step
                    """).run()
            }
        }
    }

    public func modelLinks(runIDs: [String]) async throws -> [String: [RunModelLink]] {
        guard !runIDs.isEmpty else { return [:] }
        var out: [String: [RunModelLink]] = [:]
        for row in try await db.raw("SELECT run_uuid, model_id, direction, step FROM run_model_links WHERE run_uuid IN (\(binds: runIDs)) ORDER BY step, model_id").all() {
            let direction = RunModelLink.Direction(rawValue: try row.decode(column: "direction", as: String.self)) ?? .output
            out[try row.decode(column: "run_uuid", as: String.self), default: []].append(
                RunModelLink(modelID: try row.decode(column: "model_id", as: String.self), direction: direction, step: try row.decode(column: "step", as: Int64.self)))
        }
        return out
    }

    /// Logged models with their tags, params and metrics, in the order of `ids` (unknown ids are skipped).
    func loggedModels(ids: [String]) async throws -> [LoggedModel] {
        guard !ids.isEmpty else { return [] }
        var models: [String: LoggedModel] = [:]
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            let rows = try await db.raw("""
                SELECT model_id, experiment_id, name, artifact_location, creation_time, last_updated_time, status, status_message,
                       lifecycle_stage, model_type, source_run_id FROM logged_models WHERE model_id IN (\(binds: chunk))
                """).all()
            for row in rows {
                let id = try row.decode(column: "model_id", as: String.self)
                models[id] = LoggedModel(
                    id: id, experimentID: String(try row.decode(column: "experiment_id", as: Int64.self)),
                    name: try row.decode(column: "name", as: String.self),
                    artifactLocation: try row.decode(column: "artifact_location", as: String.self),
                    creationTime: try row.decode(column: "creation_time", as: Int64.self),
                    lastUpdatedTime: try row.decode(column: "last_updated_time", as: Int64.self),
                    status: LoggedModelStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .pending,
                    statusMessage: try row.decode(column: "status_message", as: String?.self),
                    lifecycle: Lifecycle(rawValue: try row.decode(column: "lifecycle_stage", as: String.self)) ?? .active,
                    modelType: try row.decode(column: "model_type", as: String?.self),
                    sourceRunID: try row.decode(column: "source_run_id", as: String?.self), tags: [:], params: [:], metrics: [])
            }
            for row in try await db.raw("SELECT model_id, key, value FROM logged_model_params WHERE model_id IN (\(binds: chunk))").all() {
                models[try row.decode(column: "model_id", as: String.self)]?.params[try row.decode(column: "key", as: String.self)] = try row.decode(column: "value", as: String.self)
            }
            for row in try await db.raw("SELECT model_id, key, value FROM logged_model_tags WHERE model_id IN (\(binds: chunk))").all() {
                models[try row.decode(column: "model_id", as: String.self)]?.tags[try row.decode(column: "key", as: String.self)] = try row.decode(column: "value", as: String.self)
            }
            let metricRows = try await db.raw("""
                SELECT model_id, key, value, is_nan, timestamp, step, run_uuid, dataset_name, dataset_digest FROM logged_model_metrics
                WHERE model_id IN (\(binds: chunk)) ORDER BY step, timestamp, key
                """).all()
            for row in metricRows {
                let id = try row.decode(column: "model_id", as: String.self)
                models[id]?.metrics.append(LoggedModelMetric(
                    modelID: id, metric: try Self.metric(row), runID: try row.decode(column: "run_uuid", as: String.self),
                    datasetName: try row.decode(column: "dataset_name", as: String?.self), datasetDigest: try row.decode(column: "dataset_digest", as: String?.self)))
            }
        }
        return ids.compactMap { models[$0] }
    }
}
