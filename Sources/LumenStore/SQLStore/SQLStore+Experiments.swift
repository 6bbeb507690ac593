import SQLKit

extension SQLStore {
    public func createExperiment(name: String, artifactLocation: String?, tags: [String: String]) async throws -> Experiment {
        try Validation.experimentName(name)
        for key in tags.keys { try Validation.key(key, "tag") }
        let id: Int64 = try await transaction { db in
            if try await db.raw("SELECT experiment_id FROM experiments WHERE name = \(bind: name)").first() != nil {
                throw StoreError.alreadyExists("Experiment '\(name)' already exists.")
            }
            let now = Clock.nowMillis()
            guard let row = try await db.raw("""
                INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)
                VALUES (\(bind: name), \(bind: artifactLocation ?? ""), 'active', \(bind: now), \(bind: now)) RETURNING experiment_id
                """).first() else { throw StoreError.database("experiment insert returned no id") }
            let id = try row.decode(column: "experiment_id", as: Int64.self)
            if artifactLocation == nil {
                try await db.raw("UPDATE experiments SET artifact_location = \(bind: "mlflow-artifacts:/\(id)") WHERE experiment_id = \(bind: id)").run()
            }
            for (key, value) in tags {
                try await db.raw("INSERT INTO experiment_tags (experiment_id, key, value) VALUES (\(bind: id), \(bind: key), \(bind: value))").run()
            }
            return id
        }
        return try await experiment(id: String(id))
    }

    public func experiment(id: String) async throws -> Experiment {
        let n = try Validation.experimentID(id)
        guard let found = try await experiments(where: "experiment_id = \(bind: n)").first else {
            throw StoreError.notFound("No Experiment with id=\(id) exists")
        }
        return found
    }

    public func experiment(named name: String) async throws -> Experiment? {
        try await experiments(where: "name = \(bind: name)").first
    }

    public func experiments(includeDeleted: Bool) async throws -> [Experiment] {
        try await experiments(where: includeDeleted ? "1 = 1" : "lifecycle_stage = 'active'")
    }

    public func setExperimentLifecycle(id: String, _ stage: Lifecycle) async throws {
        let experiment = try await experiment(id: id)
        if stage == .deleted && experiment.id == "0" {
            throw StoreError.invalidParameter("Cannot delete the default experiment '0'. This is an internally reserved experiment.")
        }
        try await touchExperiment(id: experiment.id, set: "lifecycle_stage = \(bind: stage.rawValue)")
        // Deleting an experiment deletes its runs (restorable), as MLflow does.
        try await db.raw("UPDATE runs SET lifecycle_stage = \(bind: stage.rawValue) WHERE experiment_id = \(bind: Int64(experiment.id)!)").run()
    }

    public func renameExperiment(id: String, to name: String) async throws {
        try Validation.experimentName(name)
        let experiment = try await experiment(id: id)
        if let other = try await self.experiment(named: name), other.id != experiment.id {
            throw StoreError.alreadyExists("Experiment '\(name)' already exists.")
        }
        try await touchExperiment(id: experiment.id, set: "name = \(bind: name)")
    }

    public func setExperimentTag(id: String, key: String, value: String) async throws {
        try Validation.key(key, "tag")
        let experiment = try await experiment(id: id)
        try await db.raw("""
            INSERT INTO experiment_tags (experiment_id, key, value) VALUES (\(bind: Int64(experiment.id)!), \(bind: key), \(bind: value))
            ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value
            """).run()
    }

    private func touchExperiment(id: String, set assignment: SQLQueryString) async throws {
        let q: SQLQueryString = "UPDATE experiments SET " + assignment + ", last_update_time = \(bind: Clock.nowMillis()) WHERE experiment_id = \(bind: Int64(id)!)"
        try await db.raw(q).run()
    }

    /// The `key, value` rows of a query as a dictionary (tags of experiments, models and versions).
    func keyValues(_ query: SQLQueryString) async throws -> [String: String] {
        var out: [String: String] = [:]
        for row in try await db.raw(query).all() {
            out[try row.decode(column: "key", as: String.self)] = try row.decode(column: "value", as: String.self)
        }
        return out
    }

    private func experiments(where condition: SQLQueryString) async throws -> [Experiment] {
        let rows = try await db.raw("SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time FROM experiments WHERE " + condition + " ORDER BY experiment_id").all()
        var out: [Experiment] = []
        for row in rows {
            let id = try row.decode(column: "experiment_id", as: Int64.self)
            let tags = try await keyValues("SELECT key, value FROM experiment_tags WHERE experiment_id = \(bind: id)")
            out.append(Experiment(
                id: String(id), name: try row.decode(column: "name", as: String.self),
                artifactLocation: try row.decode(column: "artifact_location", as: String.self),
                lifecycle: Lifecycle(rawValue: try row.decode(column: "lifecycle_stage", as: String.self)) ?? .active,
                creationTime: try row.decode(column: "creation_time", as: Int64.self),
                lastUpdateTime: try row.decode(column: "last_update_time", as: Int64.self), tags: tags))
        }
        return out
    }
}
