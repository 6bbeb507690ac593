import Foundation
import Hummingbird
import LumenStore

/// `/api/2.0/mlflow/registered-models/…` and `model-versions/…`: MLflow's model registry API.
struct MLflowRegistryRoutes {
    let tracking: MLflowTrackingRoutes

    func register(on router: Router<BasicRequestContext>) {
        let store = tracking.store
        let api = "/api/2.0/mlflow"
        func route(_ method: HTTPRequest.Method, _ path: String, _ body: @escaping @Sendable (JSONBody) async throws -> [String: Any]) {
            tracking.route(router, method, "\(api)/\(path)", body)
        }
        @Sendable func version(_ b: JSONBody) throws -> Int64 {
            guard let v = Int64(try b.string("version")), v > 0 else { throw StoreError.invalidParameter("Parameter 'version' must be a positive integer") }
            return v
        }
        @Sendable func latest(_ m: RegisteredModel) async throws -> [ModelVersion] {
            guard let v = m.latestVersion else { return [] }
            return [try await store.modelVersion(name: m.name, version: v)]
        }

        route(.post, "registered-models/create") { b in
            let m = try await store.createRegisteredModel(name: try b.string("name"), description: b.optionalString("description") ?? "",
                                                          tags: Dictionary(try b.keyValues("tags"), uniquingKeysWith: { $1 }))
            return ["registered_model": MLflowJSON.registeredModel(m)]
        }
        route(.get, "registered-models/get") { b in
            let m = try await store.registeredModel(name: try b.string("name"))
            return ["registered_model": MLflowJSON.registeredModel(m, latest: try await latest(m))]
        }
        route(.post, "registered-models/rename") { b in
            let m = try await store.updateRegisteredModel(name: try b.string("name"), description: nil, newName: try b.string("new_name"))
            return ["registered_model": MLflowJSON.registeredModel(m)]
        }
        route(.patch, "registered-models/update") { b in
            let m = try await store.updateRegisteredModel(name: try b.string("name"), description: b.optionalString("description") ?? "", newName: nil)
            return ["registered_model": MLflowJSON.registeredModel(m)]
        }
        route(.delete, "registered-models/delete") { b in try await store.deleteRegisteredModel(name: try b.string("name")); return [:] }
        route(.get, "registered-models/search") { b in
            let filter = try ExperimentFilter(b.optionalString("filter") ?? "")
            var out: [[String: Any]] = []
            for m in try await store.registeredModels(nameLike: nil) where filter.matches(name: m.name, tags: m.tags) {
                out.append(MLflowJSON.registeredModel(m, latest: try await latest(m)))
            }
            let max = try maxResults(b, default: 100)
            let offset = try pageOffset(b.optionalString("page_token"))
            var answer: [String: Any] = ["registered_models": Array(out.dropFirst(offset).prefix(max))]
            if offset + max < out.count { answer["next_page_token"] = String(offset + max) }
            return answer
        }
        route(.post, "registered-models/set-tag") { b in
            try await store.setRegisteredModelTag(name: try b.string("name"), key: try b.string("key"), value: b.optionalString("value") ?? ""); return [:]
        }
        route(.delete, "registered-models/delete-tag") { b in
            try await store.setRegisteredModelTag(name: try b.string("name"), key: try b.string("key"), value: nil); return [:]
        }
        route(.post, "registered-models/get-latest-versions") { b in
            let m = try await store.registeredModel(name: try b.string("name"))
            return ["model_versions": try await latest(m).map(MLflowJSON.modelVersion)]
        }
        route(.post, "registered-models/alias") { b in
            try await store.setAlias(name: try b.string("name"), alias: try b.string("alias"), version: try version(b)); return [:]
        }
        route(.delete, "registered-models/alias") { b in
            try await store.deleteAlias(name: try b.string("name"), alias: try b.string("alias")); return [:]
        }
        route(.get, "registered-models/alias") { b in
            ["model_version": MLflowJSON.modelVersion(try await store.modelVersion(name: try b.string("name"), alias: try b.string("alias")))]
        }

        route(.post, "model-versions/create") { b in
            var runID = b.optionalString("run_id").flatMap { $0.isEmpty ? nil : $0 }
            let source = try b.string("source")
            // MLflow 3: a version of a logged model (`models:/m-…`, or `model_id`) takes the model's run, and the
            // model lists the version in its `mlflow.modelVersions` tag.
            var model: LoggedModel?
            if let id = b.optionalString("model_id").flatMap({ $0.isEmpty ? nil : $0 }) ?? MLflowJSON.loggedModelID(inSource: source) {
                model = try await store.loggedModel(id: id, includeDeleted: false)
                runID = runID ?? model?.sourceRunID
            }
            let v = try await store.createModelVersion(name: try b.string("name"), source: source, runID: runID,
                                                       description: b.optionalString("description") ?? "",
                                                       tags: Dictionary(try b.keyValues("tags"), uniquingKeysWith: { $1 }), signature: nil, preprocessing: nil)
            if let model {
                var list = MLflowJSON.registrations(model.tags["mlflow.modelVersions"])
                list.append(["name": v.name, "version": String(v.version)])
                let data = try JSONSerialization.data(withJSONObject: list, options: [.sortedKeys])
                try await store.setLoggedModelTags(id: model.id, ["mlflow.modelVersions": MLflowJSON.normalizedModelVersions(String(decoding: data, as: UTF8.self))])
            }
            var out = MLflowJSON.modelVersion(v)
            if let model { out["model_id"] = model.id }
            return ["model_version": out]
        }
        route(.get, "model-versions/get") { b in
            ["model_version": MLflowJSON.modelVersion(try await store.modelVersion(name: try b.string("name"), version: try version(b)))]
        }
        route(.patch, "model-versions/update") { b in
            ["model_version": MLflowJSON.modelVersion(try await store.updateModelVersion(name: try b.string("name"), version: try version(b),
                                                                                        description: b.optionalString("description") ?? "", stage: nil))]
        }
        route(.post, "model-versions/transition-stage") { b in
            ["model_version": MLflowJSON.modelVersion(try await store.updateModelVersion(name: try b.string("name"), version: try version(b),
                                                                                        description: nil, stage: try b.string("stage")))]
        }
        route(.delete, "model-versions/delete") { b in try await store.deleteModelVersion(name: try b.string("name"), version: try version(b)); return [:] }
        route(.post, "model-versions/set-tag") { b in
            try await store.setModelVersionTag(name: try b.string("name"), version: try version(b), key: try b.string("key"), value: b.optionalString("value") ?? "")
            return [:]
        }
        route(.delete, "model-versions/delete-tag") { b in
            try await store.setModelVersionTag(name: try b.string("name"), version: try version(b), key: try b.string("key"), value: nil); return [:]
        }
        route(.get, "model-versions/search") { b in
            // name/run_id equalities narrow the query; every clause (LIKE, !=, tags.K) is then checked per version.
            var name: String?, runID: String?
            let filter = try ExperimentFilter(b.optionalString("filter") ?? "")
            for (key, op, value) in filter.clauses where !key.hasPrefix("tags.") {
                guard ["name", "run_id", "source", "version_number"].contains(key) else {
                    throw StoreError.invalidParameter("Unsupported model version filter key '\(key)': use name, run_id, source, version_number or tags.KEY")
                }
                if op == "=" && key == "name" { name = value }
                if op == "=" && key == "run_id" { runID = value }
            }
            let versions = try await store.modelVersions(name: name, runID: runID).filter { v in
                filter.matches(fields: ["name": v.name, "run_id": v.runID ?? "", "source": v.source, "version_number": String(v.version)], tags: v.tags)
            }
            let max = try maxResults(b, default: 1000)
            let offset = try pageOffset(b.optionalString("page_token"))
            var answer: [String: Any] = ["model_versions": versions.dropFirst(offset).prefix(max).map(MLflowJSON.modelVersion)]
            if offset + max < versions.count { answer["next_page_token"] = String(offset + max) }
            return answer
        }
        route(.get, "model-versions/get-download-uri") { b in
            // A version of a logged model downloads from the model's artifact folder (MLflow's storage_location).
            let source = try await store.modelVersion(name: try b.string("name"), version: try version(b)).source
            if let id = MLflowJSON.loggedModelID(inSource: source) {
                return ["artifact_uri": try await store.loggedModel(id: id, includeDeleted: true).artifactLocation]
            }
            return ["artifact_uri": source]
        }
    }
}
