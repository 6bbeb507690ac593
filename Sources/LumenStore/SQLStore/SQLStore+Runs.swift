import Foundation
import SQLKit

extension SQLStore {
    public func createRun(experimentID: String, name: String?, startTime: Int64?, tags: [String: String], parentRunID: String?) async throws -> Run {
        let experiment = try await experiment(id: experimentID)
        guard experiment.lifecycle == .active else {
            throw StoreError.invalidParameter("The experiment \(experimentID) must be in the 'active' state. Current state is deleted.")
        }
        if let parentRunID { _ = try await run(id: parentRunID) }
        for key in tags.keys { try Validation.key(key, "tag") }
        let runID = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let runName = name ?? tags["mlflow.runName"] ?? RunNames.make()
        let artifactURI = "\(experiment.artifactLocation)/\(runID)/artifacts"
        var allTags = tags
        allTags["mlflow.runName"] = runName
        if let parentRunID { allTags["mlflow.parentRunId"] = parentRunID }
        let expID = Int64(experiment.id)!
        let finalTags = allTags
        try await transaction { db in
            try await db.raw("""
                INSERT INTO runs (run_uuid, experiment_id, name, status, start_time, end_time, lifecycle_stage, artifact_uri, parent_run_id)
                VALUES (\(bind: runID), \(bind: expID), \(bind: runName), 'RUNNING', \(bind: startTime ?? Clock.nowMillis()), NULL, 'active',
                        \(bind: artifactURI), \(bind: parentRunID))
                """).run()
            for (key, value) in finalTags.sorted(by: { $0.key < $1.key }) {
                try await db.raw("INSERT INTO tags (run_uuid, key, value) VALUES (\(bind: runID), \(bind: key), \(bind: value))").run()
            }
        }
        return try await run(id: runID)
    }

    public func run(id: String) async throws -> Run {
        try Validation.runID(id)
        guard let run = try await runs(ids: [id]).first else { throw StoreError.notFound("Run with id=\(id) not found") }
        return run
    }

    public func updateRun(id: String, status: RunStatus?, endTime: Int64?, name: String?) async throws -> RunInfo {
        let current = try await run(id: id)
        try await transaction { db in
            try await db.raw("""
                UPDATE runs SET status = \(bind: (status ?? current.info.status).rawValue), end_time = \(bind: endTime ?? current.info.endTime),
                  name = \(bind: name ?? current.info.name) WHERE run_uuid = \(bind: id)
                """).run()
            if let name {
                try await Self.upsertTag(db, runID: id, key: "mlflow.runName", value: name)
            }
        }
        return try await run(id: id).info
    }

    public func setRunLifecycle(id: String, _ stage: Lifecycle) async throws {
        _ = try await run(id: id)
        try await db.raw("UPDATE runs SET lifecycle_stage = \(bind: stage.rawValue) WHERE run_uuid = \(bind: id)").run()
    }

    public func deleteTag(runID: String, key: String) async throws {
        let run = try await run(id: runID)
        guard run.tags[key] != nil else { throw StoreError.notFound("No tag with name: \(key) in run with id \(runID)") }
        try await db.raw("DELETE FROM tags WHERE run_uuid = \(bind: runID) AND key = \(bind: key)").run()
    }

    public func logBatch(runID: String, metrics: [Metric], params: [Param], tags: [Tag]) async throws {
        try await logBatch(runID: runID, metrics: metrics, params: params, tags: tags, modelMetrics: [])
    }

    public func metricHistory(runID: String, key: String) async throws -> [Metric] {
        _ = try await run(id: runID)
        let rows = try await db.raw("""
            SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = \(bind: runID) AND key = \(bind: key)
            ORDER BY step, timestamp
            """).all()
        return try rows.map(Self.metric)
    }

    // MARK: Helpers

    static func insertParams(_ db: any SQLDatabase, runID: String, params: [Param]) async throws {
        var unique: [String: String] = [:]
        for p in params { unique[p.key] = p.value }
        let existing = try await db.raw("SELECT key, value FROM params WHERE run_uuid = \(bind: runID) AND key IN (\(binds: Array(unique.keys)))").all()
        for row in existing {
            let key = try row.decode(column: "key", as: String.self), old = try row.decode(column: "value", as: String.self)
            if let new = unique[key], new != old {
                throw StoreError.invalidParameter("Changing param values is not allowed. Param with key='\(key)' was already logged with value='\(old)' for run ID='\(runID)'. Attempted logging new value '\(new)'.")
            }
            unique.removeValue(forKey: key)
        }
        guard !unique.isEmpty else { return }
        var insert = db.insert(into: "params").columns("run_uuid", "key", "value")
        for (key, value) in unique.sorted(by: { $0.key < $1.key }) { insert = insert.values(SQLBind(runID), SQLBind(key), SQLBind(value)) }
        try await insert.run()
    }

    static func upsertTag(_ db: any SQLDatabase, runID: String, key: String, value: String) async throws {
        try await db.raw("""
            INSERT INTO tags (run_uuid, key, value) VALUES (\(bind: runID), \(bind: key), \(bind: value))
            ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value
            """).run()
    }

    static func insertMetrics(_ db: any SQLDatabase, runID: String, metrics: [Metric]) async throws {
        for chunk in stride(from: 0, to: metrics.count, by: 500).map({ metrics[$0..<min($0 + 500, metrics.count)] }) {
            var insert = db.insert(into: "metrics").columns("run_uuid", "key", "value", "timestamp", "step", "is_nan")
            for m in chunk {
                insert = insert.values(SQLBind(runID), SQLBind(m.key), SQLBind(m.value.isNaN ? nil : m.value as Double?),
                                       SQLBind(m.timestamp), SQLBind(m.step), SQLBind(m.value.isNaN ? 1 : 0))
            }
            try await insert.run()
        }
        // Latest value per key: the highest (step, timestamp) wins, in the batch and against what is stored.
        var latest: [String: Metric] = [:]
        for m in metrics {
            if let l = latest[m.key], (l.step, l.timestamp) > (m.step, m.timestamp) { continue }
            latest[m.key] = m
        }
        for m in latest.values.sorted(by: { $0.key < $1.key }) {
            try await db.raw("""
                INSERT INTO latest_metrics (run_uuid, key, value, timestamp, step, is_nan)
                VALUES (\(bind: runID), \(bind: m.key), \(bind: m.value.isNaN ? nil : m.value as Double?), \(bind: m.timestamp), \(bind: m.step), \(bind: m.value.isNaN ? 1 : 0))
                ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan
                WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step AND excluded.timestamp >= latest_metrics.timestamp)
                """).run()
        }
    }

    static func metric(_ row: any SQLRow) throws -> Metric {
        let isNaN = try row.decode(column: "is_nan", as: Int.self) != 0
        let value = try row.decode(column: "value", as: Double?.self)
        return Metric(key: try row.decode(column: "key", as: String.self), value: isNaN ? .nan : value ?? .nan,
                      timestamp: try row.decode(column: "timestamp", as: Int64.self), step: try row.decode(column: "step", as: Int64.self))
    }

    /// Runs with their params, tags and latest metrics, in the order of `ids`.
    func runs(ids: [String]) async throws -> [Run] {
        guard !ids.isEmpty else { return [] }
        let infoRows = try await db.raw("""
            SELECT run_uuid, experiment_id, name, status, start_time, end_time, lifecycle_stage, artifact_uri, parent_run_id
            FROM runs WHERE run_uuid IN (\(binds: ids))
            """).all()
        var runs: [String: Run] = [:]
        for row in infoRows {
            let info = RunInfo(
                runID: try row.decode(column: "run_uuid", as: String.self),
                experimentID: String(try row.decode(column: "experiment_id", as: Int64.self)),
                name: try row.decode(column: "name", as: String.self),
                status: RunStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .running,
                startTime: try row.decode(column: "start_time", as: Int64.self),
                endTime: try row.decode(column: "end_time", as: Int64?.self),
                lifecycle: Lifecycle(rawValue: try row.decode(column: "lifecycle_stage", as: String.self)) ?? .active,
                artifactURI: try row.decode(column: "artifact_uri", as: String.self),
                parentRunID: try row.decode(column: "parent_run_id", as: String?.self))
            runs[info.runID] = Run(info: info, params: [:], tags: [:], metrics: [:])
        }
        for row in try await db.raw("SELECT run_uuid, key, value FROM params WHERE run_uuid IN (\(binds: ids))").all() {
            runs[try row.decode(column: "run_uuid", as: String.self)]?.params[try row.decode(column: "key", as: String.self)] = try row.decode(column: "value", as: String.self)
        }
        for row in try await db.raw("SELECT run_uuid, key, value FROM tags WHERE run_uuid IN (\(binds: ids))").all() {
            runs[try row.decode(column: "run_uuid", as: String.self)]?.tags[try row.decode(column: "key", as: String.self)] = try row.decode(column: "value", as: String.self)
        }
        for row in try await db.raw("SELECT run_uuid, key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid IN (\(binds: ids))").all() {
            let m = try Self.metric(row)
            runs[try row.decode(column: "run_uuid", as: String.self)]?.metrics[m.key] = m
        }
        return ids.compactMap { runs[$0] }
    }
}

/// Friendly generated run names (`brave-lynx-042`), as MLflow gives runs without one.
enum RunNames {
    static let adjectives = ["brave", "calm", "clever", "gentle", "bright", "swift", "quiet", "bold", "keen", "lucid", "steady", "vivid"]
    static let nouns = ["lynx", "heron", "otter", "falcon", "badger", "ibis", "marten", "osprey", "wren", "stoat", "crane", "finch"]
    static func make() -> String {
        "\(adjectives.randomElement()!)-\(nouns.randomElement()!)-\(String(format: "%03d", Int.random(in: 0..<1000)))"
    }
}
