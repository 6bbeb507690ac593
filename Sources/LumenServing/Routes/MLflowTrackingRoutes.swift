import Foundation
import Hummingbird
import LumenStore
import LumenWorkspace

/// `/api/2.0/mlflow/…`: experiments, runs, metrics, params, tags and search, in MLflow's shapes,
/// so the official `mlflow` client logs to Lumen with `MLFLOW_TRACKING_URI=http://…`.
struct MLflowTrackingRoutes {
    let store: any Store
    let bodyLimit: Int

    func register(on router: Router<BasicRequestContext>) {
        let api = "/api/2.0/mlflow"
        let store = self.store
        route(router, .post, "\(api)/experiments/create") { b in
            let e = try await store.createExperiment(name: try b.string("name"), artifactLocation: b.optionalString("artifact_location").flatMap { $0.isEmpty ? nil : $0 },
                                                     tags: Dictionary(try b.keyValues("tags"), uniquingKeysWith: { $1 }))
            return ["experiment_id": e.id]
        }
        route(router, .get, "\(api)/experiments/get") { b in
            ["experiment": MLflowJSON.experiment(try await store.experiment(id: try b.string("experiment_id")))]
        }
        route(router, .get, "\(api)/experiments/get-by-name") { b in
            let name = try b.string("experiment_name")
            guard let e = try await store.experiment(named: name) else { throw StoreError.notFound("Could not find experiment with name '\(name)'") }
            return ["experiment": MLflowJSON.experiment(e)]
        }
        for method in [HTTPRequest.Method.get, .post] {
            route(router, method, "\(api)/experiments/search") { b in
                let view = b.optionalString("view_type") ?? "ACTIVE_ONLY"
                var experiments = try await store.experiments(includeDeleted: view != "ACTIVE_ONLY")
                if view == "DELETED_ONLY" { experiments = experiments.filter { $0.lifecycle == .deleted } }
                if let filter = b.optionalString("filter"), !filter.isEmpty {
                    experiments = try ExperimentFilter(filter).apply(experiments)
                }
                let max = try maxResults(b, default: 1000)
                let offset = try pageOffset(b.optionalString("page_token"))
                let page = Array(experiments.dropFirst(offset).prefix(max))
                var out: [String: Any] = ["experiments": page.map(MLflowJSON.experiment)]
                if offset + max < experiments.count { out["next_page_token"] = String(offset + max) }
                return out
            }
        }
        route(router, .post, "\(api)/experiments/delete") { b in try await store.setExperimentLifecycle(id: try b.string("experiment_id"), .deleted); return [:] }
        route(router, .post, "\(api)/experiments/restore") { b in try await store.setExperimentLifecycle(id: try b.string("experiment_id"), .active); return [:] }
        route(router, .post, "\(api)/experiments/update") { b in
            try await store.renameExperiment(id: try b.string("experiment_id"), to: try b.string("new_name")); return [:]
        }
        route(router, .post, "\(api)/experiments/set-experiment-tag") { b in
            try await store.setExperimentTag(id: try b.string("experiment_id"), key: try b.string("key"), value: b.optionalString("value") ?? ""); return [:]
        }

        route(router, .post, "\(api)/runs/create") { b in
            var tags = Dictionary(try b.keyValues("tags"), uniquingKeysWith: { $1 })
            let parent = tags["mlflow.parentRunId"]
            tags.removeValue(forKey: "mlflow.parentRunId")
            let run = try await store.createRun(experimentID: b.optionalString("experiment_id") ?? "0",
                                                name: b.optionalString("run_name").flatMap { $0.isEmpty ? nil : $0 },
                                                startTime: try b.int64("start_time"), tags: tags, parentRunID: parent)
            return ["run": MLflowJSON.run(run)]
        }
        route(router, .get, "\(api)/runs/get") { b in
            let run = try await store.run(id: try b.optionalString("run_id") ?? b.string("run_uuid"))
            return ["run": MLflowJSON.run(run, links: try await store.modelLinks(runIDs: [run.info.runID])[run.info.runID] ?? [])]
        }
        route(router, .post, "\(api)/runs/update") { b in
            let id = try b.optionalString("run_id") ?? b.string("run_uuid")
            let status = try b.optionalString("status").map { s -> RunStatus in
                guard let v = RunStatus(rawValue: s) else { throw StoreError.invalidParameter("Invalid value \(s) for parameter 'status'") }
                return v
            }
            let info = try await store.updateRun(id: id, status: status, endTime: try b.int64("end_time"),
                                                 name: b.optionalString("run_name").flatMap { $0.isEmpty ? nil : $0 })
            return ["run_info": MLflowJSON.runInfo(info)]
        }
        route(router, .post, "\(api)/runs/delete") { b in try await store.setRunLifecycle(id: try b.string("run_id"), .deleted); return [:] }
        route(router, .post, "\(api)/runs/restore") { b in try await store.setRunLifecycle(id: try b.string("run_id"), .active); return [:] }
        route(router, .post, "\(api)/runs/set-tag") { b in
            try await store.setTag(runID: try b.optionalString("run_id") ?? b.string("run_uuid"), key: try b.string("key"), value: b.optionalString("value") ?? "")
            return [:]
        }
        route(router, .post, "\(api)/runs/delete-tag") { b in try await store.deleteTag(runID: try b.string("run_id"), key: try b.string("key")); return [:] }
        route(router, .post, "\(api)/runs/log-metric") { b in
            let (metrics, linked) = try Self.metrics([b])
            try await store.logBatch(runID: try b.optionalString("run_id") ?? b.string("run_uuid"), metrics: metrics, params: [], tags: [], modelMetrics: linked)
            return [:]
        }
        route(router, .post, "\(api)/runs/log-parameter") { b in
            try await store.logParam(runID: try b.optionalString("run_id") ?? b.string("run_uuid"), key: try b.string("key"), value: b.optionalString("value") ?? "")
            return [:]
        }
        route(router, .post, "\(api)/runs/log-batch") { b in
            let (metrics, linked) = try Self.metrics(b.objects("metrics"))
            let params = try b.keyValues("params").map { Param(key: $0.0, value: $0.1) }
            let tags = try b.keyValues("tags").map { Tag(key: $0.0, value: $0.1) }
            try await store.logBatch(runID: try b.string("run_id"), metrics: metrics, params: params, tags: tags, modelMetrics: linked)
            return [:]
        }
        route(router, .post, "\(api)/runs/log-inputs") { b in
            // Dataset inputs are not kept (Lumen's lineage links dataset versions itself); model inputs are.
            let runID = try b.string("run_id")
            let models = try b.objects("models").map { RunModelLink(modelID: try $0.string("model_id"), direction: .input) }
            if models.isEmpty { _ = try await store.run(id: runID) } else { try await store.linkModels(runID: runID, models) }
            return [:]
        }
        route(router, .post, "\(api)/runs/search") { b in
            let view = b.optionalString("run_view_type") ?? "ACTIVE_ONLY"
            let page = try await store.searchRuns(RunQuery(
                experimentIDs: b.strings("experiment_ids"), filter: b.optionalString("filter") ?? "", orderBy: b.strings("order_by"),
                lifecycle: RunQuery.LifecycleFilter(rawValue: view) ?? .activeOnly, maxResults: try maxResults(b, default: 1000),
                pageToken: b.optionalString("page_token")))
            let links = try await store.modelLinks(runIDs: page.runs.map(\.info.runID))
            var out: [String: Any] = ["runs": page.runs.map { MLflowJSON.run($0, links: links[$0.info.runID] ?? []) }]
            if let next = page.nextPageToken { out["next_page_token"] = next }
            return out
        }
        route(router, .get, "\(api)/metrics/get-history") { b in
            let history = try await store.metricHistory(runID: try b.optionalString("run_id") ?? b.string("run_uuid"), key: try b.string("metric_key"))
            let max = try maxResults(b, default: 25_000)
            let offset = try pageOffset(b.optionalString("page_token"))
            var out: [String: Any] = ["metrics": history.dropFirst(offset).prefix(max).map(MLflowJSON.metric)]
            if offset + max < history.count { out["next_page_token"] = String(offset + max) }
            return out
        }
    }

    /// MLflow `Metric` objects split into plain ones and those linked to a logged model (`model_id`, MLflow 3).
    static func metrics(_ objects: [JSONBody]) throws -> (plain: [Metric], linked: [LoggedModelMetric]) {
        var plain: [Metric] = [], linked: [LoggedModelMetric] = []
        for m in objects {
            let metric = Metric(key: try m.string("key"), value: try m.double("value"), timestamp: try m.int64("timestamp") ?? Clock.nowMillis(),
                                step: try m.int64("step") ?? 0)
            if let model = m.optionalString("model_id"), !model.isEmpty {
                linked.append(LoggedModelMetric(modelID: model, metric: metric, datasetName: m.optionalString("dataset_name").flatMap { $0.isEmpty ? nil : $0 },
                                                datasetDigest: m.optionalString("dataset_digest").flatMap { $0.isEmpty ? nil : $0 }))
            } else {
                plain.append(metric)
            }
        }
        return (plain, linked)
    }

    /// Registers one JSON endpoint: parses the body, runs `body`, answers MLflow's JSON or MLflow's error.
    func route(_ router: Router<BasicRequestContext>, _ method: HTTPRequest.Method, _ path: String,
               _ body: @escaping @Sendable (JSONBody) async throws -> [String: Any]) {
        let limit = bodyLimit
        router.on(RouterPath(path), method: method) { request, _ -> Response in
            await answer { jsonResponse(try await body(try await JSONBody.read(request, limit: limit))) }
        }
    }
}

/// Runs a handler and turns any failure into MLflow's `{error_code, message}` with the matching status.
func answer(_ handler: () async throws -> Response) async -> Response {
    do {
        return try await handler()
    } catch let error as StoreError {
        return jsonResponse(["error_code": error.code, "message": error.description], status: .init(code: error.httpStatus))
    } catch let error as ArtifactError {
        switch error {
        case .invalidAddress: return jsonResponse(["error_code": "INVALID_PARAMETER_VALUE", "message": error.description], status: .badRequest)
        case .tooLarge: return jsonResponse(["error_code": "REQUEST_LIMIT_EXCEEDED", "message": error.description], status: .contentTooLarge)
        case .io: return jsonResponse(["error_code": "INTERNAL_ERROR", "message": error.description], status: .internalServerError)
        }
    } catch let error as any HTTPResponseError {
        let code = error.status == .contentTooLarge ? "REQUEST_LIMIT_EXCEEDED" : "BAD_REQUEST"
        return jsonResponse(["error_code": code, "message": "\(error.status.reasonPhrase)"], status: error.status)
    } catch {
        return jsonResponse(["error_code": "INTERNAL_ERROR", "message": "\(error)"], status: .internalServerError)
    }
}

/// `max_results`, checked to be 1…50,000 as MLflow's server does.
func maxResults(_ b: JSONBody, default value: Int) throws -> Int {
    guard let n = try b.int64("max_results") else { return value }
    guard (1...50_000).contains(n) else { throw StoreError.invalidParameter("Invalid value \(n) for parameter 'max_results': it must be between 1 and 50000") }
    return Int(n)
}

func pageOffset(_ token: String?) throws -> Int {
    guard let token, !token.isEmpty else { return 0 }
    guard let n = Int(token), (0...1_000_000_000).contains(n) else { throw StoreError.invalidParameter("Invalid page token '\(token.prefix(40))'") }
    return n
}

/// The small filter language of MLflow's experiment and registered-model searches:
/// `name = 'x'`, `name LIKE 'x%'`, `tags.k = 'v'` (or ``tag.`k` != 'v'``), joined by AND.
struct ExperimentFilter {
    let clauses: [(String, String, String)]

    init(_ text: String) throws {
        var out: [(String, String, String)] = []
        let parts = text.components(separatedBy: " AND ").flatMap { $0.components(separatedBy: " and ") }
        for part in parts where !part.trimmingCharacters(in: .whitespaces).isEmpty {
            let tokens = part.trimmingCharacters(in: .whitespaces)
            guard let range = tokens.range(of: #"\s*(!=|=|\bLIKE\b|\bILIKE\b)\s*"#, options: [.regularExpression, .caseInsensitive]) else {
                throw StoreError.invalidParameter("Invalid filter '\(text)'")
            }
            var key = String(tokens[..<range.lowerBound]).replacingOccurrences(of: "attributes.", with: "").replacingOccurrences(of: "`", with: "")
            if key.hasPrefix("tag.") { key = "tags." + key.dropFirst(4) }
            let op = tokens[range].trimmingCharacters(in: .whitespaces).uppercased()
            var value = String(tokens[range.upperBound...]).trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let q = value.first, q == "'" || q == "\"", value.last == q { value = String(value.dropFirst().dropLast()) }
            guard key == "name" || key == "run_id" || key.hasPrefix("tags.") else {
                throw StoreError.invalidParameter("Invalid filter '\(text)': unsupported key '\(key)'")
            }
            out.append((key, op, value))
        }
        clauses = out
    }

    /// Whether an entity with this name and these tags passes every clause (a missing tag passes only `!=`).
    func matches(name: String, tags: [String: String]) -> Bool { matches(fields: ["name": name], tags: tags) }

    /// True when every clause holds: `tags.K` against `tags`, any other key against `fields`.
    func matches(fields: [String: String], tags: [String: String]) -> Bool {
        clauses.allSatisfy { key, op, value in
            let field: String? = key.hasPrefix("tags.") ? tags[String(key.dropFirst(5))] : fields[key]
            guard let field else { return op == "!=" }
            switch op {
            case "=": return field == value
            case "!=": return field != value
            case "LIKE": return Self.like(field, value, caseInsensitive: false)
            default: return Self.like(field, value, caseInsensitive: true)
            }
        }
    }

    func apply(_ experiments: [Experiment]) throws -> [Experiment] {
        experiments.filter { matches(name: $0.name, tags: $0.tags) }
    }

    static func like(_ s: String, _ pattern: String, caseInsensitive: Bool) -> Bool {
        let regex = "^" + NSRegularExpression.escapedPattern(for: pattern).replacingOccurrences(of: "%", with: ".*").replacingOccurrences(of: "_", with: ".") + "$"
        return s.range(of: regex, options: caseInsensitive ? [.regularExpression, .caseInsensitive] : .regularExpression) != nil
    }
}
