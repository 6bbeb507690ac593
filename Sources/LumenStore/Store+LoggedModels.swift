import Foundation

extension Store {
    /// Records a model that Lumen trained as a READY MLflow 3 logged model of its run, so that it shows in
    /// `mlflow.search_logged_models` and the MLflow UI next to models logged with `mlflow.*.log_model`.
    ///
    /// The listed run artifacts (files or folders, relative to the run's artifact root, e.g.
    /// `checkpoints/best.safetensors`) are indexed again under the model's own artifact folder
    /// (`<experiment>/models/<id>/artifacts/<same path>`): the bytes are content-addressed, so nothing is
    /// copied. The run's params become the model's params and the run's latest metrics are linked to the
    /// model (as `mlflow.*.log_model` does); the run records the model as its output. With `registeredVersion`
    /// the model carries MLflow's `mlflow.modelVersions` tag, which lists the registry versions made from it.
    /// Characters MLflow refuses in logged-model names (`/ : . % " '`) become `-` in `name`.
    /// Both the run's and the experiment's artifact locations must be `mlflow-artifacts:/` URIs (Lumen's default).
    public func recordTrainedModel(runID: String, name: String, artifactPaths: [String], modelType: String = "lumen",
                                   tags: [String: String] = [:], registeredVersion: (name: String, version: Int64)? = nil) async throws -> LoggedModel {
        let run = try await run(id: runID)
        let scheme = "mlflow-artifacts:/"
        guard run.info.artifactURI.hasPrefix(scheme) else {
            throw StoreError.invalidParameter("run \(runID) keeps its artifacts at \(run.info.artifactURI), not under \(scheme)")
        }
        let runRoot = String(run.info.artifactURI.dropFirst(scheme.count))
        // Every listed path must exist before anything is created: files under the run's root, folders walked.
        var files: [ArtifactEntry] = []
        for path in artifactPaths {
            let relative = try ArtifactPath.validate(path)
            guard !relative.isEmpty else { throw StoreError.invalidParameter("artifact path is empty") }
            var found: [ArtifactEntry] = []
            if let file = try await artifact(path: "\(runRoot)/\(relative)") {
                found = [file]
            } else {
                var folders = ["\(runRoot)/\(relative)"]
                while let folder = folders.popLast() {
                    for entry in try await listArtifacts(directory: folder) {
                        if entry.isDirectory { folders.append(entry.path) } else { found.append(entry) }
                    }
                }
            }
            guard !found.isEmpty else { throw StoreError.notFound("run \(runID) has no artifact '\(relative)'") }
            files += found
        }
        let safeName = String(name.map { "/:.%\"'".contains($0) ? "-" : $0 })
        var allTags = tags
        if let registeredVersion {
            let entry = ["name": registeredVersion.name, "version": String(registeredVersion.version)]
            let data = try JSONSerialization.data(withJSONObject: [entry], options: [.sortedKeys])
            allTags["mlflow.modelVersions"] = String(decoding: data, as: UTF8.self)
        }
        let model = try await createLoggedModel(experimentID: run.info.experimentID, name: safeName, sourceRunID: runID, modelType: modelType,
                                                params: [:], tags: allTags)
        guard model.artifactLocation.hasPrefix(scheme) else {
            throw StoreError.invalidParameter("experiment \(run.info.experimentID) keeps its artifacts at \(model.artifactLocation), not under \(scheme)")
        }
        let modelRoot = String(model.artifactLocation.dropFirst(scheme.count))
        for file in files {
            guard let sha = file.sha256, let size = file.size else { continue }
            try await recordArtifact(path: modelRoot + "/" + file.path.dropFirst(runRoot.count + 1), sha256: sha, size: size)
        }
        let params = run.params.sorted { $0.key < $1.key }
        for start in stride(from: 0, to: params.count, by: 100) {
            try await logLoggedModelParams(id: model.id, Dictionary(uniqueKeysWithValues: params[start..<min(start + 100, params.count)].map { ($0.key, $0.value) }))
        }
        let metrics = run.metrics.values.sorted { $0.key < $1.key }.map { LoggedModelMetric(modelID: model.id, metric: $0) }
        for start in stride(from: 0, to: metrics.count, by: 1000) {
            try await logBatch(runID: runID, metrics: [], params: [], tags: [], modelMetrics: Array(metrics[start..<min(start + 1000, metrics.count)]))
        }
        try await linkModels(runID: runID, [RunModelLink(modelID: model.id, direction: .output)])
        return try await finalizeLoggedModel(id: model.id, status: .ready, message: nil)
    }
}
