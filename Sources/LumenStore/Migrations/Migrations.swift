import SQLKit

/// The two SQL flavours Lumen speaks; the only places they differ are here.
enum SQLFlavor: Sendable {
    case sqlite, postgres

    /// An auto-numbered 64-bit primary key column.
    var autoIncrementKey: String {
        self == .sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY"
    }
}

/// Versioned schema changes, applied in order, each once, recorded in `lumen_schema`.
/// Never edit a shipped migration: add a new one.
enum Migrations {
    static func all(_ f: SQLFlavor) -> [(version: Int, statements: [String])] {
        [
            (1, [
                """
                CREATE TABLE experiments (experiment_id \(f.autoIncrementKey), name TEXT NOT NULL UNIQUE,
                  artifact_location TEXT NOT NULL, lifecycle_stage TEXT NOT NULL DEFAULT 'active',
                  creation_time BIGINT NOT NULL, last_update_time BIGINT NOT NULL)
                """,
                "CREATE TABLE experiment_tags (experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id), key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (experiment_id, key))",
                """
                CREATE TABLE runs (run_uuid TEXT PRIMARY KEY, experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),
                  name TEXT NOT NULL, status TEXT NOT NULL, start_time BIGINT NOT NULL, end_time BIGINT,
                  lifecycle_stage TEXT NOT NULL DEFAULT 'active', artifact_uri TEXT NOT NULL, parent_run_id TEXT)
                """,
                "CREATE INDEX runs_experiment ON runs (experiment_id, start_time)",
                "CREATE TABLE params (run_uuid TEXT NOT NULL REFERENCES runs(run_uuid), key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_uuid, key))",
                "CREATE TABLE tags (run_uuid TEXT NOT NULL REFERENCES runs(run_uuid), key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_uuid, key))",
                """
                CREATE TABLE metrics (run_uuid TEXT NOT NULL REFERENCES runs(run_uuid), key TEXT NOT NULL, value DOUBLE PRECISION,
                  timestamp BIGINT NOT NULL, step BIGINT NOT NULL, is_nan SMALLINT NOT NULL DEFAULT 0)
                """,
                "CREATE INDEX metrics_history ON metrics (run_uuid, key, step)",
                """
                CREATE TABLE latest_metrics (run_uuid TEXT NOT NULL REFERENCES runs(run_uuid), key TEXT NOT NULL, value DOUBLE PRECISION,
                  timestamp BIGINT NOT NULL, step BIGINT NOT NULL, is_nan SMALLINT NOT NULL DEFAULT 0, PRIMARY KEY (run_uuid, key))
                """,
                "CREATE INDEX latest_metrics_key ON latest_metrics (key, value)",
            ]),
            (2, [
                // Logical artifact paths (`1/<run>/artifacts/model/weights.safetensors`) → content address.
                "CREATE TABLE artifact_files (path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size BIGINT NOT NULL, created BIGINT NOT NULL)",
            ]),
            (3, [
                "CREATE TABLE registered_models (name TEXT PRIMARY KEY, description TEXT NOT NULL DEFAULT '', creation_time BIGINT NOT NULL, last_updated_time BIGINT NOT NULL)",
                "CREATE TABLE registered_model_tags (name TEXT NOT NULL REFERENCES registered_models(name) ON UPDATE CASCADE ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (name, key))",
                """
                CREATE TABLE model_versions (name TEXT NOT NULL REFERENCES registered_models(name) ON UPDATE CASCADE ON DELETE CASCADE, version BIGINT NOT NULL,
                  creation_time BIGINT NOT NULL, last_updated_time BIGINT NOT NULL, description TEXT NOT NULL DEFAULT '', source TEXT NOT NULL,
                  run_id TEXT, status TEXT NOT NULL, stage TEXT NOT NULL DEFAULT 'None', signature TEXT, preprocessing TEXT, PRIMARY KEY (name, version))
                """,
                "CREATE INDEX model_versions_run ON model_versions (run_id)",
                "CREATE TABLE model_version_tags (name TEXT NOT NULL, version BIGINT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (name, version, key), FOREIGN KEY (name, version) REFERENCES model_versions(name, version) ON UPDATE CASCADE ON DELETE CASCADE)",
                "CREATE TABLE model_aliases (name TEXT NOT NULL REFERENCES registered_models(name) ON UPDATE CASCADE ON DELETE CASCADE, alias TEXT NOT NULL, version BIGINT NOT NULL, PRIMARY KEY (name, alias))",
                // Lineage: which dataset versions a run used.
                "CREATE TABLE run_datasets (run_uuid TEXT NOT NULL REFERENCES runs(run_uuid), dataset TEXT NOT NULL, version TEXT NOT NULL, context TEXT NOT NULL DEFAULT 'training', PRIMARY KEY (run_uuid, dataset, version, context))",
                "CREATE INDEX run_datasets_dataset ON run_datasets (dataset, version)",
            ]),
            (4, [
                // API tokens: only a SHA-256 of each token is kept.
                "CREATE TABLE api_tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created BIGINT NOT NULL, revoked SMALLINT NOT NULL DEFAULT 0)",
                """
                CREATE TABLE prediction_logs (id \(f.autoIncrementKey), model_name TEXT NOT NULL, model_version BIGINT NOT NULL, time BIGINT NOT NULL,
                  features TEXT NOT NULL, outputs TEXT NOT NULL, latency DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX prediction_logs_model ON prediction_logs (model_name, model_version, time)",
            ]),
            (5, [
                // Search filters are driven from these: `params.model = 'x'` reads only the matching rows.
                "CREATE INDEX params_key_value ON params (key, value)",
                "CREATE INDEX tags_key_value ON tags (key, value)",
            ]),
            (6, [
                // The typed ModelSpec (JSON) that turns a version back into a network: task, architecture,
                // input, classes as a list, preprocessing, checkpoint digest, versions.
                "ALTER TABLE model_versions ADD COLUMN spec TEXT",
            ]),
            // MLflow 3 logged models.
            (7, [
                """
                CREATE TABLE logged_models (model_id TEXT PRIMARY KEY, experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),
                  name TEXT NOT NULL, artifact_location TEXT NOT NULL, creation_time BIGINT NOT NULL, last_updated_time BIGINT NOT NULL,
                  status TEXT NOT NULL, status_message TEXT, lifecycle_stage TEXT NOT NULL DEFAULT 'active', model_type TEXT, source_run_id TEXT)
                """,
                "CREATE INDEX logged_models_experiment ON logged_models (experiment_id, creation_time)",
                "CREATE INDEX logged_models_run ON logged_models (source_run_id)",
                "CREATE TABLE logged_model_params (model_id TEXT NOT NULL REFERENCES logged_models(model_id), key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (model_id, key))",
                "CREATE TABLE logged_model_tags (model_id TEXT NOT NULL REFERENCES logged_models(model_id), key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (model_id, key))",
                """
                CREATE TABLE logged_model_metrics (model_id TEXT NOT NULL REFERENCES logged_models(model_id), key TEXT NOT NULL, value DOUBLE PRECISION,
                  is_nan SMALLINT NOT NULL DEFAULT 0, timestamp BIGINT NOT NULL, step BIGINT NOT NULL, run_uuid TEXT NOT NULL,
                  dataset_name TEXT, dataset_digest TEXT)
                """,
                "CREATE INDEX logged_model_metrics_model ON logged_model_metrics (model_id, key, step)",
                // Runs' model inputs and outputs (MLflow's LogInputs models / LogOutputs).
                """
                CREATE TABLE run_model_links (run_uuid TEXT NOT NULL REFERENCES runs(run_uuid), model_id TEXT NOT NULL REFERENCES logged_models(model_id),
                  direction TEXT NOT NULL, step BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (run_uuid, model_id, direction))
                """,
            ]),
            (8, [
                // Secrets shared by every replica of the workspace (the de-identification key), hex-encoded.
                "CREATE TABLE lumen_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL, created BIGINT NOT NULL)",
            ]),
            (9, [
                // The index of dataset versions: each row references its manifest in the artifact store
                // (path under the artifact root and SHA-256), so servers and the UI find datasets through SQL.
                """
                CREATE TABLE dataset_versions (name TEXT NOT NULL, version_id TEXT NOT NULL, created BIGINT NOT NULL, task TEXT NOT NULL,
                  files BIGINT NOT NULL, classes TEXT NOT NULL, parent TEXT, manifest_path TEXT NOT NULL, manifest_sha256 TEXT NOT NULL,
                  PRIMARY KEY (name, version_id))
                """,
            ]),
            (10, [
                // Predictions get the id their answer gave; ground truth arrives later, by that id.
                "ALTER TABLE prediction_logs ADD COLUMN prediction_id TEXT",
                "CREATE INDEX prediction_logs_id ON prediction_logs (prediction_id)",
                "CREATE TABLE prediction_feedback (prediction_id TEXT PRIMARY KEY, label TEXT NOT NULL, time BIGINT NOT NULL)",
            ]),
            (11, [
                // Monitoring alerts. `open_key` (rule|model) is set while an alert is pending or firing and
                // cleared when it resolves: its uniqueness is the de-duplication between replicas.
                """
                CREATE TABLE alerts (id TEXT PRIMARY KEY, rule TEXT NOT NULL, model TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL,
                  metric TEXT NOT NULL, comparison TEXT NOT NULL, threshold DOUBLE PRECISION NOT NULL, value DOUBLE PRECISION,
                  started BIGINT NOT NULL, fired BIGINT, resolved BIGINT, updated BIGINT NOT NULL, evidence TEXT NOT NULL,
                  deliveries TEXT NOT NULL DEFAULT '', open_key TEXT UNIQUE)
                """,
                "CREATE INDEX alerts_started ON alerts (started)",
            ]),
            (12, [
                // Pipeline runs and their steps: the pipeline file's text is in the artifact store (by SHA-256),
                // so that a run can be resumed and shown as it ran.
                """
                CREATE TABLE pipeline_runs (id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, path TEXT NOT NULL, source_sha256 TEXT NOT NULL,
                  params TEXT NOT NULL, status TEXT NOT NULL, started BIGINT NOT NULL, finished BIGINT, message TEXT NOT NULL DEFAULT '')
                """,
                "CREATE INDEX pipeline_runs_started ON pipeline_runs (started)",
                """
                CREATE TABLE pipeline_steps (run_id TEXT NOT NULL REFERENCES pipeline_runs(id), step TEXT NOT NULL, status TEXT NOT NULL,
                  attempts BIGINT NOT NULL, started BIGINT, finished BIGINT, cache_key TEXT NOT NULL, cached_from TEXT,
                  exit_code BIGINT, log_sha256 TEXT, outputs TEXT NOT NULL DEFAULT '{}', message TEXT NOT NULL DEFAULT '',
                  PRIMARY KEY (run_id, step))
                """,
                "CREATE INDEX pipeline_steps_cache ON pipeline_steps (cache_key, status)",
            ]),
            (13, [
                // Leases (one active scheduler per store) and what each pipeline trigger last saw.
                "CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires BIGINT NOT NULL)",
                """
                CREATE TABLE trigger_state (pipeline TEXT NOT NULL, trigger_key TEXT NOT NULL, value TEXT NOT NULL, updated BIGINT NOT NULL,
                  PRIMARY KEY (pipeline, trigger_key))
                """,
            ]),
            (14, [
                // The highest version number a model ever had: a deleted version's number is never given again (as in
                // MLflow), so prediction logs and feedback keyed by (model, version) keep meaning one model.
                "ALTER TABLE registered_models ADD COLUMN last_version BIGINT NOT NULL DEFAULT 0",
            ]),
        ]
    }

    /// Key of the PostgreSQL advisory lock that serialises migrators (several servers starting at once).
    static let advisoryLock: Int64 = 0x4C55_4D45_4E  // "LUMEN"

    /// Brings the schema up to date; safe to call on every start, from several processes at once.
    static func run(on db: any SQLDatabase, flavor: SQLFlavor) async throws {
        try await db.withSession { session in
            if flavor == .postgres { _ = try await session.raw("SELECT pg_advisory_lock(\(bind: advisoryLock))").all() }
            do {
                try await migrate(session, flavor: flavor)
                if flavor == .postgres { _ = try await session.raw("SELECT pg_advisory_unlock(\(bind: advisoryLock))").all() }
            } catch {
                if flavor == .postgres { _ = try? await session.raw("SELECT pg_advisory_unlock(\(bind: advisoryLock))").all() }
                throw error
            }
        }
    }

    /// Creates a PostgreSQL schema (under the same lock, so concurrent creators do not collide).
    static func createSchema(_ name: String, on db: any SQLDatabase) async throws {
        try await db.withSession { session in
            _ = try await session.raw("SELECT pg_advisory_lock(\(bind: advisoryLock))").all()
            var failure: (any Error)?
            do { try await session.raw("CREATE SCHEMA IF NOT EXISTS \(ident: name)").run() } catch { failure = error }
            _ = try await session.raw("SELECT pg_advisory_unlock(\(bind: advisoryLock))").all()
            if let failure { throw failure }
        }
    }

    private static func migrate(_ session: any SQLDatabase, flavor: SQLFlavor) async throws {
        try await session.raw("CREATE TABLE IF NOT EXISTS lumen_schema (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)").run()
        for migration in all(flavor) {
            try await session.raw(SQLQueryString(flavor == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN")).run()
            do {
                let applied = try await session.raw("SELECT version FROM lumen_schema WHERE version = \(bind: migration.version)").first()
                if applied == nil {
                    for statement in migration.statements { try await session.raw(SQLQueryString(statement)).run() }
                    if migration.version == 1 {
                        let now = Clock.nowMillis()
                        try await session.raw("""
                            INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
                            VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', \(bind: now), \(bind: now))
                            """).run()
                    }
                    try await session.raw("INSERT INTO lumen_schema (version, applied_at) VALUES (\(bind: migration.version), \(bind: Clock.nowMillis()))").run()
                }
                try await session.raw("COMMIT").run()
            } catch {
                try? await session.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    /// Latest schema version this build knows.
    static var latestVersion: Int { all(.sqlite).map(\.version).max() ?? 0 }
}
