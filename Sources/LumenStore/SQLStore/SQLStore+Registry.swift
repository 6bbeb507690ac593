import SQLKit

extension SQLStore {
    // MARK: Registered models

    public func createRegisteredModel(name: String, description: String, tags: [String: String]) async throws -> RegisteredModel {
        try Validation.modelName(name)
        for key in tags.keys { try Validation.key(key, "tag") }
        try await transaction { db in
            if try await db.raw("SELECT name FROM registered_models WHERE name = \(bind: name)").first() != nil {
                throw StoreError.alreadyExists("Registered Model (name=\(name)) already exists.")
            }
            let now = Clock.nowMillis()
            try await db.raw("INSERT INTO registered_models (name, description, creation_time, last_updated_time) VALUES (\(bind: name), \(bind: description), \(bind: now), \(bind: now))").run()
            for (k, v) in tags.sorted(by: { $0.key < $1.key }) {
                try await db.raw("INSERT INTO registered_model_tags (name, key, value) VALUES (\(bind: name), \(bind: k), \(bind: v))").run()
            }
        }
        return try await registeredModel(name: name)
    }

    public func registeredModel(name: String) async throws -> RegisteredModel {
        guard let model = try await registeredModels(where: "name = \(bind: name)").first else {
            throw StoreError.notFound("Registered Model with name=\(name) not found")
        }
        return model
    }

    public func registeredModels(nameLike: String?) async throws -> [RegisteredModel] {
        if let nameLike { return try await registeredModels(where: "name LIKE \(bind: nameLike)") }
        return try await registeredModels(where: "1 = 1")
    }

    public func updateRegisteredModel(name: String, description: String?, newName: String?) async throws -> RegisteredModel {
        _ = try await registeredModel(name: name)
        if let newName {
            try Validation.modelName(newName)
            if newName != name, (try? await registeredModel(name: newName)) != nil {
                throw StoreError.alreadyExists("Registered Model (name=\(newName)) already exists.")
            }
        }
        try await transaction { db in
            let now = Clock.nowMillis()
            if let description {
                try await db.raw("UPDATE registered_models SET description = \(bind: description), last_updated_time = \(bind: now) WHERE name = \(bind: name)").run()
            }
            if let newName, newName != name {
                try await db.raw("UPDATE registered_models SET name = \(bind: newName), last_updated_time = \(bind: now) WHERE name = \(bind: name)").run()
            }
        }
        return try await registeredModel(name: newName ?? name)
    }

    public func deleteRegisteredModel(name: String) async throws {
        _ = try await registeredModel(name: name)
        try await transaction { db in
            try await db.raw("DELETE FROM model_aliases WHERE name = \(bind: name)").run()
            try await db.raw("DELETE FROM model_version_tags WHERE name = \(bind: name)").run()
            try await db.raw("DELETE FROM model_versions WHERE name = \(bind: name)").run()
            try await db.raw("DELETE FROM registered_model_tags WHERE name = \(bind: name)").run()
            try await db.raw("DELETE FROM registered_models WHERE name = \(bind: name)").run()
        }
    }

    public func setRegisteredModelTag(name: String, key: String, value: String?) async throws {
        try Validation.key(key, "tag")
        _ = try await registeredModel(name: name)
        if let value {
            try await db.raw("""
                INSERT INTO registered_model_tags (name, key, value) VALUES (\(bind: name), \(bind: key), \(bind: value))
                ON CONFLICT (name, key) DO UPDATE SET value = excluded.value
                """).run()
        } else {
            try await db.raw("DELETE FROM registered_model_tags WHERE name = \(bind: name) AND key = \(bind: key)").run()
        }
    }

    // MARK: Versions

    public func createModelVersion(name: String, source: String, runID: String?, description: String, tags: [String: String],
                                   signature: String?, preprocessing: String?, spec: String?) async throws -> ModelVersion {
        _ = try await registeredModel(name: name)
        if let runID { _ = try await run(id: runID) }
        for key in tags.keys { try Validation.key(key, "tag") }
        guard !source.isEmpty, source.count <= 2000 else { throw StoreError.invalidParameter("model version source must be 1…2000 characters") }
        let version: Int64 = try await transaction { db in
            if self.flavor == .postgres {
                // Serialise numbering per model across connections and servers.
                _ = try await db.raw("SELECT name FROM registered_models WHERE name = \(bind: name) FOR UPDATE").all()
            }
            let row = try await db.raw("SELECT COALESCE(MAX(version), 0) AS v FROM model_versions WHERE name = \(bind: name)").first()
            let given = try await db.raw("SELECT last_version FROM registered_models WHERE name = \(bind: name)").first()
            // After the highest number this model ever had, not after its highest remaining version (deleted ones stay used).
            let next = max(try row?.decode(column: "v", as: Int64.self) ?? 0, try given?.decode(column: "last_version", as: Int64.self) ?? 0) + 1
            try await db.raw("UPDATE registered_models SET last_version = \(bind: next) WHERE name = \(bind: name)").run()
            let now = Clock.nowMillis()
            try await db.raw("""
                INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, source, run_id, status, stage, signature, preprocessing, spec)
                VALUES (\(bind: name), \(bind: next), \(bind: now), \(bind: now), \(bind: description), \(bind: source), \(bind: runID), 'READY', 'None',
                        \(bind: signature), \(bind: preprocessing), \(bind: spec))
                """).run()
            for (k, v) in tags.sorted(by: { $0.key < $1.key }) {
                try await db.raw("INSERT INTO model_version_tags (name, version, key, value) VALUES (\(bind: name), \(bind: next), \(bind: k), \(bind: v))").run()
            }
            try await db.raw("UPDATE registered_models SET last_updated_time = \(bind: now) WHERE name = \(bind: name)").run()
            return next
        }
        return try await modelVersion(name: name, version: version)
    }

    public func setModelVersionSpec(name: String, version: Int64, spec: String) async throws {
        _ = try await modelVersion(name: name, version: version)
        try await db.raw("UPDATE model_versions SET spec = \(bind: spec), last_updated_time = \(bind: Clock.nowMillis()) WHERE name = \(bind: name) AND version = \(bind: version)").run()
    }

    public func modelVersion(name: String, version: Int64) async throws -> ModelVersion {
        guard let v = try await modelVersions(where: "mv.name = \(bind: name) AND mv.version = \(bind: version)").first else {
            throw StoreError.notFound("Model Version (name=\(name), version=\(version)) not found")
        }
        return v
    }

    public func modelVersions(name: String?, runID: String?) async throws -> [ModelVersion] {
        var conditions: [SQLQueryString] = ["1 = 1"]
        if let name { conditions.append("mv.name = \(bind: name)") }
        if let runID { conditions.append("mv.run_id = \(bind: runID)") }
        return try await modelVersions(where: conditions.joined(separator: " AND "))
    }

    public func updateModelVersion(name: String, version: Int64, description: String?, stage: String?) async throws -> ModelVersion {
        _ = try await modelVersion(name: name, version: version)
        if let stage, !["None", "Staging", "Production", "Archived"].contains(stage) {
            throw StoreError.invalidParameter("Invalid Model Version stage: \(stage). Value must be one of None, Staging, Production, Archived.")
        }
        let now = Clock.nowMillis()
        if let description {
            try await db.raw("UPDATE model_versions SET description = \(bind: description), last_updated_time = \(bind: now) WHERE name = \(bind: name) AND version = \(bind: version)").run()
        }
        if let stage {
            try await db.raw("UPDATE model_versions SET stage = \(bind: stage), last_updated_time = \(bind: now) WHERE name = \(bind: name) AND version = \(bind: version)").run()
        }
        return try await modelVersion(name: name, version: version)
    }

    public func deleteModelVersion(name: String, version: Int64) async throws {
        _ = try await modelVersion(name: name, version: version)
        try await transaction { db in
            try await db.raw("DELETE FROM model_aliases WHERE name = \(bind: name) AND version = \(bind: version)").run()
            try await db.raw("DELETE FROM model_version_tags WHERE name = \(bind: name) AND version = \(bind: version)").run()
            try await db.raw("DELETE FROM model_versions WHERE name = \(bind: name) AND version = \(bind: version)").run()
        }
    }

    public func setModelVersionTag(name: String, version: Int64, key: String, value: String?) async throws {
        try Validation.key(key, "tag")
        _ = try await modelVersion(name: name, version: version)
        if let value {
            try await db.raw("""
                INSERT INTO model_version_tags (name, version, key, value) VALUES (\(bind: name), \(bind: version), \(bind: key), \(bind: value))
                ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value
                """).run()
        } else {
            try await db.raw("DELETE FROM model_version_tags WHERE name = \(bind: name) AND version = \(bind: version) AND key = \(bind: key)").run()
        }
    }

    // MARK: Aliases

    public func setAlias(name: String, alias: String, version: Int64) async throws {
        try Validation.alias(alias)
        _ = try await modelVersion(name: name, version: version)
        try await db.raw("""
            INSERT INTO model_aliases (name, alias, version) VALUES (\(bind: name), \(bind: alias), \(bind: version))
            ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version
            """).run()
    }

    public func deleteAlias(name: String, alias: String) async throws {
        _ = try await registeredModel(name: name)
        try await db.raw("DELETE FROM model_aliases WHERE name = \(bind: name) AND alias = \(bind: alias)").run()
    }

    public func modelVersion(name: String, alias: String) async throws -> ModelVersion {
        guard let row = try await db.raw("SELECT version FROM model_aliases WHERE name = \(bind: name) AND alias = \(bind: alias)").first() else {
            throw StoreError.notFound("Registered model alias \(alias) not found.")
        }
        return try await modelVersion(name: name, version: try row.decode(column: "version", as: Int64.self))
    }

    // MARK: Lineage

    public func linkDatasets(runID: String, _ uses: [DatasetUse]) async throws {
        _ = try await run(id: runID)
        for use in uses {
            guard !use.dataset.isEmpty, !use.version.isEmpty else { throw StoreError.invalidParameter("a dataset use needs a dataset name and a version") }
            try await db.raw("""
                INSERT INTO run_datasets (run_uuid, dataset, version, context) VALUES (\(bind: runID), \(bind: use.dataset), \(bind: use.version), \(bind: use.context))
                ON CONFLICT (run_uuid, dataset, version, context) DO NOTHING
                """).run()
        }
    }

    public func lineage(name: String, version: Int64) async throws -> Lineage {
        let mv = try await modelVersion(name: name, version: version)
        guard let runID = mv.runID else { return Lineage(modelVersion: mv, run: nil, datasets: []) }
        let run = try? await self.run(id: runID)
        let rows = try await db.raw("SELECT dataset, version, context FROM run_datasets WHERE run_uuid = \(bind: runID) ORDER BY dataset, version").all()
        let uses = try rows.map { DatasetUse(dataset: try $0.decode(column: "dataset", as: String.self), version: try $0.decode(column: "version", as: String.self),
                                             context: try $0.decode(column: "context", as: String.self)) }
        return Lineage(modelVersion: mv, run: run, datasets: uses)
    }

    public func modelVersions(usingDataset dataset: String, version: String) async throws -> [ModelVersion] {
        try await modelVersions(where: "mv.run_id IN (SELECT run_uuid FROM run_datasets WHERE dataset = \(bind: dataset) AND version = \(bind: version))")
    }

    // MARK: Reading

    private func registeredModels(where condition: SQLQueryString) async throws -> [RegisteredModel] {
        let rows = try await db.raw("SELECT name, description, creation_time, last_updated_time FROM registered_models WHERE " + condition + " ORDER BY name").all()
        var out: [RegisteredModel] = []
        for row in rows {
            let name = try row.decode(column: "name", as: String.self)
            let tags = try await keyValues("SELECT key, value FROM registered_model_tags WHERE name = \(bind: name)")
            var aliases: [String: Int64] = [:]
            for a in try await db.raw("SELECT alias, version FROM model_aliases WHERE name = \(bind: name)").all() {
                aliases[try a.decode(column: "alias", as: String.self)] = try a.decode(column: "version", as: Int64.self)
            }
            let latest = try await db.raw("SELECT MAX(version) AS v FROM model_versions WHERE name = \(bind: name)").first()?.decode(column: "v", as: Int64?.self)
            out.append(RegisteredModel(name: name, description: try row.decode(column: "description", as: String.self),
                                       creationTime: try row.decode(column: "creation_time", as: Int64.self),
                                       lastUpdatedTime: try row.decode(column: "last_updated_time", as: Int64.self),
                                       tags: tags, aliases: aliases, latestVersion: latest ?? nil))
        }
        return out
    }

    private func modelVersions(where condition: SQLQueryString) async throws -> [ModelVersion] {
        let rows = try await db.raw("""
            SELECT mv.name, mv.version, mv.creation_time, mv.last_updated_time, mv.description, mv.source, mv.run_id, mv.status, mv.stage,
                   mv.signature, mv.preprocessing, mv.spec FROM model_versions mv
            """ + " WHERE " + condition + " ORDER BY mv.name, mv.version DESC").all()
        var out: [ModelVersion] = []
        for row in rows {
            let name = try row.decode(column: "name", as: String.self), version = try row.decode(column: "version", as: Int64.self)
            let tags = try await keyValues("SELECT key, value FROM model_version_tags WHERE name = \(bind: name) AND version = \(bind: version)")
            let aliases = try await db.raw("SELECT alias FROM model_aliases WHERE name = \(bind: name) AND version = \(bind: version) ORDER BY alias").all()
                .map { try $0.decode(column: "alias", as: String.self) }
            out.append(ModelVersion(
                name: name, version: version, creationTime: try row.decode(column: "creation_time", as: Int64.self),
                lastUpdatedTime: try row.decode(column: "last_updated_time", as: Int64.self),
                description: try row.decode(column: "description", as: String.self), source: try row.decode(column: "source", as: String.self),
                runID: try row.decode(column: "run_id", as: String?.self), status: try row.decode(column: "status", as: String.self),
                stage: try row.decode(column: "stage", as: String.self), signature: try row.decode(column: "signature", as: String?.self),
                preprocessing: try row.decode(column: "preprocessing", as: String?.self), spec: try row.decode(column: "spec", as: String?.self),
                tags: tags, aliases: aliases))
        }
        return out
    }
}
