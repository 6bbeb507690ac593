import LumenStore

/// The JSON shapes of MLflow's REST API (`mlflow/protos/service.proto`).
enum MLflowJSON {
    static func experiment(_ e: Experiment) -> [String: Any] {
        ["experiment_id": e.id, "name": e.name, "artifact_location": e.artifactLocation, "lifecycle_stage": e.lifecycle.rawValue,
         "creation_time": e.creationTime, "last_update_time": e.lastUpdateTime,
         "tags": e.tags.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] }]
    }

    static func runInfo(_ i: RunInfo) -> [String: Any] {
        var out: [String: Any] = ["run_id": i.runID, "run_uuid": i.runID, "run_name": i.name, "experiment_id": i.experimentID,
                                  "user_id": "", "status": i.status.rawValue, "start_time": i.startTime,
                                  "artifact_uri": i.artifactURI, "lifecycle_stage": i.lifecycle.rawValue]
        if let end = i.endTime { out["end_time"] = end }
        return out
    }

    static func metric(_ m: Metric) -> [String: Any] {
        ["key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step]
    }

    static func registeredModel(_ m: RegisteredModel, latest: [ModelVersion] = []) -> [String: Any] {
        ["name": m.name, "description": m.description, "creation_timestamp": m.creationTime, "last_updated_timestamp": m.lastUpdatedTime,
         "tags": m.tags.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] },
         "aliases": m.aliases.sorted { $0.key < $1.key }.map { ["alias": $0.key, "version": String($0.value)] },
         "latest_versions": latest.map(modelVersion)]
    }

    static func modelVersion(_ v: ModelVersion) -> [String: Any] {
        var out: [String: Any] = ["name": v.name, "version": String(v.version), "creation_timestamp": v.creationTime,
                                  "last_updated_timestamp": v.lastUpdatedTime, "description": v.description, "source": v.source,
                                  "status": v.status, "current_stage": v.stage, "aliases": v.aliases,
                                  "tags": v.tags.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] }]
        if let run = v.runID { out["run_id"] = run }
        if let model = loggedModelID(inSource: v.source) { out["model_id"] = model }
        return out
    }

    static func run(_ r: Run) -> [String: Any] {
        ["info": runInfo(r.info),
         "data": ["metrics": r.metrics.values.sorted { $0.key < $1.key }.map(metric),
                  "params": r.params.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] },
                  "tags": r.tags.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] }],
         "inputs": [String: Any]()]
    }
}
