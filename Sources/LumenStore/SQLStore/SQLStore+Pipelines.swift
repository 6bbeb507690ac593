import Foundation
import SQLKit

extension SQLStore {
    static let pipelineRunColumns = "id, pipeline, path, source_sha256, params, status, started, finished, message"
    static let pipelineStepColumns = "run_id, step, status, attempts, started, finished, cache_key, cached_from, exit_code, log_sha256, outputs, message"

    func pipelineRun(_ row: any SQLRow) throws -> PipelineRunRecord {
        PipelineRunRecord(id: try row.decode(column: "id", as: String.self), pipeline: try row.decode(column: "pipeline", as: String.self),
                          path: try row.decode(column: "path", as: String.self), sourceSHA256: try row.decode(column: "source_sha256", as: String.self),
                          params: try row.decode(column: "params", as: String.self),
                          status: PipelineRunRecord.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
                          started: try row.decode(column: "started", as: Int64.self), finished: try row.decode(column: "finished", as: Int64?.self),
                          message: try row.decode(column: "message", as: String.self))
    }

    func pipelineStep(_ row: any SQLRow) throws -> PipelineStepRecord {
        PipelineStepRecord(runID: try row.decode(column: "run_id", as: String.self), step: try row.decode(column: "step", as: String.self),
                           status: PipelineStepRecord.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
                           attempts: Int(try row.decode(column: "attempts", as: Int64.self)), started: try row.decode(column: "started", as: Int64?.self),
                           finished: try row.decode(column: "finished", as: Int64?.self), cacheKey: try row.decode(column: "cache_key", as: String.self),
                           cachedFrom: try row.decode(column: "cached_from", as: String?.self), exitCode: try row.decode(column: "exit_code", as: Int64?.self).map(Int.init),
                           logSHA256: try row.decode(column: "log_sha256", as: String?.self), outputs: try row.decode(column: "outputs", as: String.self),
                           message: try row.decode(column: "message", as: String.self))
    }

    public func createPipelineRun(_ r: PipelineRunRecord) async throws {
        try await db.raw("""
            INSERT INTO pipeline_runs (\(unsafeRaw: Self.pipelineRunColumns)) VALUES (\(bind: r.id), \(bind: r.pipeline), \(bind: r.path), \(bind: r.sourceSHA256),
              \(bind: r.params), \(bind: r.status.rawValue), \(bind: r.started), \(bind: r.finished), \(bind: r.message))
            """).run()
    }

    public func finishPipelineRun(id: String, status: PipelineRunRecord.Status, message: String) async throws {
        try await db.raw("UPDATE pipeline_runs SET status = \(bind: status.rawValue), finished = \(bind: Clock.nowMillis()), message = \(bind: message) WHERE id = \(bind: id)").run()
    }

    public func reopenPipelineRun(id: String) async throws {
        try await db.raw("UPDATE pipeline_runs SET status = 'running', finished = NULL, message = '' WHERE id = \(bind: id)").run()
    }

    public func pipelineRun(id: String) async throws -> PipelineRunRecord {
        // A unique prefix of the id is enough (as git's short hashes).
        let rows = try await db.raw("SELECT \(unsafeRaw: Self.pipelineRunColumns) FROM pipeline_runs WHERE id LIKE \(bind: id.replacingOccurrences(of: "%", with: "") + "%") LIMIT 2").all()
        guard rows.count == 1, !id.isEmpty else {
            throw rows.isEmpty ? StoreError.notFound("no pipeline run '\(id)'") : StoreError.invalidParameter("'\(id)' names more than one pipeline run; give more of its id")
        }
        return try pipelineRun(rows[0])
    }

    public func pipelineRuns(pipeline: String?, limit: Int) async throws -> [PipelineRunRecord] {
        guard (1...100_000).contains(limit) else { throw StoreError.invalidParameter("limit must be 1…100000") }
        let condition: SQLQueryString = pipeline.map { "pipeline = \(bind: $0)" } ?? "1 = 1"
        return try await db.raw("SELECT \(unsafeRaw: Self.pipelineRunColumns) FROM pipeline_runs WHERE " + condition + " ORDER BY started DESC, id LIMIT \(bind: limit)").all().map(pipelineRun)
    }

    public func recordPipelineStep(_ s: PipelineStepRecord) async throws {
        try await transaction { db in
            try await db.raw("DELETE FROM pipeline_steps WHERE run_id = \(bind: s.runID) AND step = \(bind: s.step)").run()
            try await db.raw("""
                INSERT INTO pipeline_steps (\(unsafeRaw: Self.pipelineStepColumns)) VALUES (\(bind: s.runID), \(bind: s.step), \(bind: s.status.rawValue),
                  \(bind: Int64(s.attempts)), \(bind: s.started), \(bind: s.finished), \(bind: s.cacheKey), \(bind: s.cachedFrom), \(bind: s.exitCode.map(Int64.init)),
                  \(bind: s.logSHA256), \(bind: s.outputs), \(bind: s.message))
                """).run()
        }
    }

    public func pipelineSteps(runID: String) async throws -> [PipelineStepRecord] {
        try await db.raw("SELECT \(unsafeRaw: Self.pipelineStepColumns) FROM pipeline_steps WHERE run_id = \(bind: runID) ORDER BY started, step").all().map(pipelineStep)
    }

    public func cachedPipelineStep(cacheKey: String) async throws -> PipelineStepRecord? {
        try await db.raw("""
            SELECT \(unsafeRaw: Self.pipelineStepColumns) FROM pipeline_steps WHERE cache_key = \(bind: cacheKey) AND status IN ('succeeded', 'cached')
            ORDER BY finished DESC LIMIT 1
            """).first().map(pipelineStep)
    }
}

extension SQLStore {
    public func acquireLease(name: String, holder: String, ttl: Double) async throws -> Bool {
        let now = Clock.nowMillis(), expires = now + Int64(ttl * 1000)
        // Each statement is atomic: the first holder inserts; afterwards the holder renews, or anyone takes an expired lease.
        if try await !db.raw("INSERT INTO leases (name, holder, expires) VALUES (\(bind: name), \(bind: holder), \(bind: expires)) ON CONFLICT DO NOTHING RETURNING name").all().isEmpty {
            return true
        }
        return try await !db.raw("""
            UPDATE leases SET holder = \(bind: holder), expires = \(bind: expires)
            WHERE name = \(bind: name) AND (holder = \(bind: holder) OR expires < \(bind: now)) RETURNING name
            """).all().isEmpty
    }

    public func releaseLease(name: String, holder: String) async throws {
        try await db.raw("DELETE FROM leases WHERE name = \(bind: name) AND holder = \(bind: holder)").run()
    }

    public func leaseHolder(name: String) async throws -> String? {
        try await db.raw("SELECT holder FROM leases WHERE name = \(bind: name) AND expires >= \(bind: Clock.nowMillis())").first()?.decode(column: "holder", as: String.self)
    }

    public func triggerState(pipeline: String, trigger: String) async throws -> String? {
        try await db.raw("SELECT value FROM trigger_state WHERE pipeline = \(bind: pipeline) AND trigger_key = \(bind: trigger)").first()?.decode(column: "value", as: String.self)
    }

    public func setTriggerState(pipeline: String, trigger: String, value: String) async throws {
        try await transaction { db in
            try await db.raw("DELETE FROM trigger_state WHERE pipeline = \(bind: pipeline) AND trigger_key = \(bind: trigger)").run()
            try await db.raw("INSERT INTO trigger_state (pipeline, trigger_key, value, updated) VALUES (\(bind: pipeline), \(bind: trigger), \(bind: value), \(bind: Clock.nowMillis()))").run()
        }
    }
}
