import Foundation
import LumenStore

/// MLflow 3's logged-model shapes (`LoggedModel`, `LoggedModelInfo`, `LoggedModelData` in `service.proto`).
extension MLflowJSON {
    static func loggedModel(_ m: LoggedModel) -> [String: Any] {
        var info: [String: Any] = [
            "model_id": m.id, "experiment_id": m.experimentID, "name": m.name, "artifact_uri": m.artifactLocation,
            "creation_timestamp_ms": m.creationTime, "last_updated_timestamp_ms": m.lastUpdatedTime, "status": m.status.rawValue,
            "tags": m.tags.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] },
            "registrations": registrations(m.tags["mlflow.modelVersions"]),
        ]
        if let type = m.modelType { info["model_type"] = type }
        if let run = m.sourceRunID { info["source_run_id"] = run }
        if let message = m.statusMessage { info["status_message"] = message }
        return ["info": info,
                "data": ["params": m.params.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] },
                         "metrics": m.metrics.map(loggedModelMetric)]]
    }

    static func loggedModelMetric(_ m: LoggedModelMetric) -> [String: Any] {
        var out = metric(m.metric)
        out["model_id"] = m.modelID
        if let run = m.runID { out["run_id"] = run }
        if let name = m.datasetName { out["dataset_name"] = name }
        if let digest = m.datasetDigest { out["dataset_digest"] = digest }
        return out
    }

    /// The registry versions made from a model, read from its `mlflow.modelVersions` tag (`[{"name":…,"version":…}]`).
    static func registrations(_ tag: String?) -> [[String: Any]] {
        guard let tag, let list = try? JSONSerialization.jsonObject(with: Data(tag.utf8)) as? [[String: Any]] else { return [] }
        return list.compactMap { entry in
            guard let name = entry["name"] as? String else { return nil }
            let version = (entry["version"] as? String) ?? (entry["version"] as? NSNumber).map { $0.stringValue } ?? ""
            return ["name": name, "version": version]
        }
    }

    /// The logged model a registry source names: `models:/m-<hex>` (optionally with a path after it).
    static func loggedModelID(inSource source: String) -> String? {
        guard source.hasPrefix("models:/m-") else { return nil }
        let id = source.dropFirst("models:/".count).prefix { $0 != "/" }
        return id.count > 2 && id.dropFirst(2).allSatisfy(\.isHexDigit) ? String(id) : nil
    }

    /// The `mlflow.modelVersions` tag with each (name, version) once, versions as strings. The server records a
    /// registration and the mlflow client then appends the same one again; without this the list doubles.
    static func normalizedModelVersions(_ tag: String) -> String {
        guard (try? JSONSerialization.jsonObject(with: Data(tag.utf8))) is [Any] else { return tag }
        var seen: Set<String> = []
        var out: [[String: String]] = []
        for entry in registrations(tag) {
            let name = entry["name"] as? String ?? "", version = entry["version"] as? String ?? ""
            if seen.insert(name + "\u{0}" + version).inserted { out.append(["name": name, "version": version]) }
        }
        guard let data = try? JSONSerialization.data(withJSONObject: out, options: [.sortedKeys]) else { return tag }
        return String(decoding: data, as: UTF8.self)
    }

    /// A run with its model inputs and outputs (`RunInputs.model_inputs`, `RunOutputs.model_outputs`).
    static func run(_ r: Run, links: [RunModelLink]) -> [String: Any] {
        var out = run(r)
        let inputs = links.filter { $0.direction == .input }.map { ["model_id": $0.modelID] }
        let outputs = links.filter { $0.direction == .output }.map { ["model_id": $0.modelID, "step": $0.step] as [String: Any] }
        if !inputs.isEmpty { out["inputs"] = ["model_inputs": inputs] }
        if !outputs.isEmpty { out["outputs"] = ["model_outputs": outputs] }
        return out
    }
}
