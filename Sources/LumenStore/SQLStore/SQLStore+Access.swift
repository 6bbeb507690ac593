import Crypto
import Foundation
import SQLKit

extension SQLStore {
    public func createToken(name: String, role: TokenRole) async throws -> (secret: String, token: APIToken) {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 200 else {
            throw StoreError.invalidParameter("token name must be 1…200 characters")
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        let secret = "lm_" + bytes.map { String(format: "%02x", $0) }.joined()
        let id = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12))
        let now = Clock.nowMillis()
        try await db.raw("""
            INSERT INTO api_tokens (id, name, role, token_hash, created, revoked)
            VALUES (\(bind: id), \(bind: name), \(bind: role.rawValue), \(bind: Self.hash(secret)), \(bind: now), 0)
            """).run()
        return (secret, APIToken(id: id, name: name, role: role, created: now, revoked: false))
    }

    public func token(forSecret secret: String) async throws -> APIToken? {
        guard secret.hasPrefix("lm_"), secret.count == 67 else { return nil }
        guard let row = try await db.raw("SELECT id, name, role, created, revoked FROM api_tokens WHERE token_hash = \(bind: Self.hash(secret))").first() else {
            return nil
        }
        let token = try Self.token(row)
        return token.revoked ? nil : token
    }

    public func tokens() async throws -> [APIToken] {
        try await db.raw("SELECT id, name, role, created, revoked FROM api_tokens ORDER BY created").all().map(Self.token)
    }

    public func revokeToken(id: String) async throws {
        guard let row = try await db.raw("SELECT revoked FROM api_tokens WHERE id = \(bind: id)").first() else {
            throw StoreError.notFound("No token with id \(id)")
        }
        guard try row.decode(column: "revoked", as: Int.self) == 0 else {
            throw StoreError.invalidParameter("token \(id) was already revoked")
        }
        try await db.raw("UPDATE api_tokens SET revoked = 1 WHERE id = \(bind: id)").run()
    }

    public func logPredictions(_ logs: [PredictionLog]) async throws {
        guard !logs.isEmpty else { return }
        try await transaction { db in
            for chunk in stride(from: 0, to: logs.count, by: 500).map({ logs[$0..<min($0 + 500, logs.count)] }) {
                var insert = db.insert(into: "prediction_logs").columns("model_name", "model_version", "time", "features", "outputs", "latency", "prediction_id")
                for l in chunk {
                    insert = insert.values(SQLBind(l.modelName), SQLBind(l.modelVersion), SQLBind(l.time), SQLBind(l.features), SQLBind(l.outputs), SQLBind(l.latency), SQLBind(l.id))
                }
                try await insert.run()
            }
        }
    }

    public func predictions(modelName: String, version: Int64?, since: Int64, limit: Int) async throws -> [PredictionLog] {
        guard (1...1_000_000).contains(limit) else { throw StoreError.invalidParameter("limit must be 1…1000000") }
        var condition: SQLQueryString = "model_name = \(bind: modelName) AND time >= \(bind: since)"
        if let version { condition = condition + " AND model_version = \(bind: version)" }
        let rows = try await db.raw("SELECT model_name, model_version, time, features, outputs, latency, prediction_id FROM prediction_logs WHERE " + condition
                                    + " ORDER BY time DESC, id DESC LIMIT \(bind: limit)").all()
        // The newest `limit` entries, returned oldest first.
        return try rows.reversed().map {
            PredictionLog(modelName: try $0.decode(column: "model_name", as: String.self), modelVersion: try $0.decode(column: "model_version", as: Int64.self),
                          time: try $0.decode(column: "time", as: Int64.self), features: try $0.decode(column: "features", as: String.self),
                          outputs: try $0.decode(column: "outputs", as: String.self), latency: try $0.decode(column: "latency", as: Double.self),
                          id: try $0.decode(column: "prediction_id", as: String?.self))
        }
    }

    public func recordFeedback(_ feedback: [Feedback]) async throws -> FeedbackOutcome {
        for item in feedback {
            guard !item.predictionID.isEmpty, item.predictionID.count <= 200, !item.label.isEmpty, item.label.count <= 500 else {
                throw StoreError.invalidParameter("feedback needs a prediction_id (at most 200 characters) and a label (at most 500)")
            }
        }
        return try await transaction { db in
            var outcome = FeedbackOutcome(recorded: 0, updated: 0, unknown: [])
            for item in feedback {
                let known = try await db.raw("SELECT 1 AS one FROM prediction_logs WHERE prediction_id = \(bind: item.predictionID) LIMIT 1").first()
                guard known != nil else { outcome.unknown.append(item.predictionID); continue }
                let existing = try await db.raw("SELECT label FROM prediction_feedback WHERE prediction_id = \(bind: item.predictionID)").first()
                if existing == nil {
                    try await db.raw("INSERT INTO prediction_feedback (prediction_id, label, time) VALUES (\(bind: item.predictionID), \(bind: item.label), \(bind: item.time))").run()
                    outcome.recorded += 1
                } else {
                    try await db.raw("UPDATE prediction_feedback SET label = \(bind: item.label), time = \(bind: item.time) WHERE prediction_id = \(bind: item.predictionID)").run()
                    outcome.updated += 1
                }
            }
            return outcome
        }
    }

    public func feedback(for predictionIDs: [String]) async throws -> [String: Feedback] {
        var out: [String: Feedback] = [:]
        for chunk in stride(from: 0, to: predictionIDs.count, by: 500).map({ Array(predictionIDs[$0..<min($0 + 500, predictionIDs.count)]) }) {
            let rows = try await db.select().columns("prediction_id", "label", "time").from("prediction_feedback")
                .where("prediction_id", .in, chunk).all()
            for row in rows {
                let f = Feedback(predictionID: try row.decode(column: "prediction_id", as: String.self), label: try row.decode(column: "label", as: String.self),
                                 time: try row.decode(column: "time", as: Int64.self))
                out[f.predictionID] = f
            }
        }
        return out
    }

    public func recordDatasetVersion(_ r: DatasetRecord) async throws {
        let classes = String(decoding: try JSONEncoder().encode(r.classes), as: UTF8.self)
        try await db.raw("""
            INSERT INTO dataset_versions (name, version_id, created, task, files, classes, parent, manifest_path, manifest_sha256)
            VALUES (\(bind: r.name), \(bind: r.versionID), \(bind: r.created), \(bind: r.task), \(bind: r.files), \(bind: classes), \(bind: r.parent),
                    \(bind: r.manifestPath), \(bind: r.manifestSHA256))
            ON CONFLICT (name, version_id) DO NOTHING
            """).run()
    }

    public func datasetVersions(name: String?) async throws -> [DatasetRecord] {
        let condition: SQLQueryString = name.map { "WHERE name = \(bind: $0)" } ?? ""
        let rows = try await db.raw("SELECT name, version_id, created, task, files, classes, parent, manifest_path, manifest_sha256 FROM dataset_versions "
                                    + condition + " ORDER BY created, name, version_id").all()
        return try rows.map { row in
            let classes = try JSONDecoder().decode([String].self, from: Data(try row.decode(column: "classes", as: String.self).utf8))
            return DatasetRecord(name: try row.decode(column: "name", as: String.self), versionID: try row.decode(column: "version_id", as: String.self),
                                 created: try row.decode(column: "created", as: Int64.self), task: try row.decode(column: "task", as: String.self),
                                 files: try row.decode(column: "files", as: Int64.self), classes: classes,
                                 parent: try row.decode(column: "parent", as: String?.self), manifestPath: try row.decode(column: "manifest_path", as: String.self),
                                 manifestSHA256: try row.decode(column: "manifest_sha256", as: String.self))
        }
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func token(_ row: any SQLRow) throws -> APIToken {
        APIToken(id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
                 role: TokenRole(rawValue: try row.decode(column: "role", as: String.self)) ?? .reader,
                 created: try row.decode(column: "created", as: Int64.self), revoked: try row.decode(column: "revoked", as: Int.self) != 0)
    }
}
