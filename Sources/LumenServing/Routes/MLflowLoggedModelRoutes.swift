import Foundation
import Hummingbird
import LumenStore

/// `/api/2.0/mlflow/logged-models…` and `runs/outputs`: MLflow 3's logged models, which `mlflow.*.log_model`
/// creates (PENDING), fills through the artifact proxy at the model's `artifact_uri`
/// (`mlflow-artifacts:/<experiment>/models/<id>/artifacts`, served by `MLflowArtifactRoutes`) and finalizes (READY).
struct MLflowLoggedModelRoutes {
    let store: any Store
    let bodyLimit: Int

    func register(on router: Router<BasicRequestContext>) {
        let store = self.store, limit = bodyLimit
        let base = "/api/2.0/mlflow/logged-models"
        func route(_ method: HTTPRequest.Method, _ path: String,
                   _ body: @escaping @Sendable (JSONBody, Parameters) async throws -> [String: Any]) {
            router.on(RouterPath(path), method: method) { request, context -> Response in
                await answer { jsonResponse(try await body(try await JSONBody.read(request, limit: limit), context.parameters)) }
            }
        }
        @Sendable func modelID(_ p: Parameters) throws -> String {
            guard let id = p.get("model_id") else { throw StoreError.invalidParameter("Missing value for required parameter 'model_id'.") }
            return id
        }
        @Sendable func keyValues(_ b: JSONBody, _ key: String) throws -> [String: String] {
            Dictionary(try b.keyValues(key), uniquingKeysWith: { $1 })
        }
        @Sendable func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }

        route(.post, base) { b, _ in
            let model = try await store.createLoggedModel(
                experimentID: try b.string("experiment_id"), name: nonEmpty(b.optionalString("name")),
                sourceRunID: nonEmpty(b.optionalString("source_run_id")), modelType: nonEmpty(b.optionalString("model_type")),
                params: try keyValues(b, "params"), tags: try keyValues(b, "tags"))
            return ["model": MLflowJSON.loggedModel(model)]
        }
        route(.post, "\(base)/search") { b, _ in
            let datasets = try b.objects("datasets").map { LoggedModelQuery.Dataset(name: try $0.string("dataset_name"), digest: nonEmpty($0.optionalString("dataset_digest"))) }
            let orders = try b.objects("order_by").map { o -> LoggedModelQuery.Order in
                LoggedModelQuery.Order(field: try o.string("field_name"), ascending: try o.bool("ascending") ?? true,
                                       datasetName: nonEmpty(o.optionalString("dataset_name")), datasetDigest: nonEmpty(o.optionalString("dataset_digest")))
            }
            let page = try await store.searchLoggedModels(LoggedModelQuery(
                experimentIDs: b.strings("experiment_ids"), filter: b.optionalString("filter") ?? "", orderBy: orders, datasets: datasets,
                maxResults: try maxResults(b, default: 100), pageToken: nonEmpty(b.optionalString("page_token"))))
            var out: [String: Any] = ["models": page.models.map(MLflowJSON.loggedModel)]
            if let next = page.nextPageToken { out["next_page_token"] = next }
            return out
        }
        route(.get, "\(base)/:model_id") { b, p in
            let includeDeleted = b.optionalString("allow_deleted")?.lowercased() == "true"
            return ["model": MLflowJSON.loggedModel(try await store.loggedModel(id: try modelID(p), includeDeleted: includeDeleted))]
        }
        route(.patch, "\(base)/:model_id") { b, p in
            let text = try b.string("status")
            guard let status = LoggedModelStatus(mlflow: text) else {
                throw StoreError.invalidParameter("Invalid value \(text.prefix(60)) for parameter 'status': use LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED")
            }
            return ["model": MLflowJSON.loggedModel(try await store.finalizeLoggedModel(id: try modelID(p), status: status, message: nil))]
        }
        route(.delete, "\(base)/:model_id") { _, p in try await store.deleteLoggedModel(id: try modelID(p)); return [:] }
        route(.patch, "\(base)/:model_id/tags") { b, p in
            let id = try modelID(p)
            var tags = try keyValues(b, "tags")
            if let versions = tags["mlflow.modelVersions"] { tags["mlflow.modelVersions"] = MLflowJSON.normalizedModelVersions(versions) }
            try await store.setLoggedModelTags(id: id, tags)
            return ["model": MLflowJSON.loggedModel(try await store.loggedModel(id: id, includeDeleted: false))]
        }
        route(.delete, "\(base)/:model_id/tags/**") { _, p in
            // The client puts the key in the path unencoded, so a key with '/' spans several segments.
            let key = try p.getCatchAll().map { s -> String in
                guard let decoded = String(s).removingPercentEncoding else { throw StoreError.invalidParameter("invalid tag key in path") }
                return decoded
            }.joined(separator: "/")
            try await store.deleteLoggedModelTag(id: try modelID(p), key: key)
            return [:]
        }
        route(.post, "\(base)/:model_id/params") { b, p in
            try await store.logLoggedModelParams(id: try modelID(p), try keyValues(b, "params")); return [:]
        }
        route(.get, "\(base)/:model_id/artifacts/directories") { b, p in
            let model = try await store.loggedModel(id: try modelID(p), includeDeleted: false)
            let scheme = "mlflow-artifacts:/"
            guard model.artifactLocation.hasPrefix(scheme) else { return ["root_uri": model.artifactLocation, "files": [Any]()] }
            let root = String(model.artifactLocation.dropFirst(scheme.count))
            let sub = try ArtifactPath.validate(b.optionalString("artifact_directory_path") ?? "")
            let entries = try await store.listArtifacts(directory: sub.isEmpty ? root : root + "/" + sub)
            return ["root_uri": model.artifactLocation, "files": entries.map { e -> [String: Any] in
                var out: [String: Any] = ["path": String(e.path.dropFirst(root.count + 1)), "is_dir": e.isDirectory]
                if let size = e.size { out["file_size"] = size }
                return out
            }]
        }
        route(.post, "/api/2.0/mlflow/runs/outputs") { b, _ in
            let links = try b.objects("models").map { RunModelLink(modelID: try $0.string("model_id"), direction: .output, step: try $0.int64("step") ?? 0) }
            try await store.linkModels(runID: try b.string("run_id"), links)
            return [:]
        }
    }
}

extension JSONBody {
    /// A protobuf bool: JSON `true`/`false` (read as 1/0) or the strings "true"/"false".
    func bool(_ key: String) throws -> Bool? {
        switch fields[key] {
        case nil: return nil
        case let d as Double where d == 0 || d == 1: return d == 1
        case let s as String where ["true", "false"].contains(s.lowercased()): return s.lowercased() == "true"
        default: throw StoreError.invalidParameter("Invalid value for parameter '\(key)': expected true or false")
        }
    }
}
