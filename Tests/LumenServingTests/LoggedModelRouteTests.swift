import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServing
import LumenStore
import LumenWorkspace
import Testing

/// MLflow 3 logged models over HTTP, in the order `mlflow.pyfunc.log_model` calls them, checked in the store.
@Suite struct LoggedModelRouteTests {
    typealias Client = any TestClientProtocol

    /// Sends a JSON request and returns the decoded answer, expecting `status`.
    static func call(_ client: Client, _ method: HTTPRequest.Method, _ uri: String, _ body: [String: Any]? = nil,
                     status: HTTPResponse.Status = .ok, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let buffer = try body.map { ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: $0)) }
        let response = try await client.execute(uri: uri, method: method, body: buffer)
        #expect(response.status == status, "\(method) \(uri): \(String(buffer: response.body))", sourceLocation: sourceLocation)
        return (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:]
    }

    @Test func logModelSequenceStoresWhatItSays() async throws {
        let (app, store) = try await makeTestServer()
        let api = "/api/2.0/mlflow"
        try await app.test(.router) { client in
            // An integral number past Int64 where a string id is expected once trapped the server (JSONBody.optionalString).
            _ = try await Self.call(client, .post, "\(api)/logged-models", ["experiment_id": 1e300], status: .badRequest)
            let exp = try await Self.call(client, .post, "\(api)/experiments/create", ["name": "lm"])["experiment_id"] as! String
            let runJSON = try await Self.call(client, .post, "\(api)/runs/create", ["experiment_id": exp])
            let runID = ((runJSON["run"] as! [String: Any])["info"] as! [String: Any])["run_id"] as! String
            let created = try await Self.call(client, .post, "\(api)/logged-models", [
                "experiment_id": exp, "name": "clf", "source_run_id": runID, "model_type": "pyfunc",
                "params": [["key": "lr", "value": "0.1"]], "tags": [["key": "mlflow.model.isExternal", "value": "false"], ["key": "a/b", "value": "c"]]])
            let info = (created["model"] as! [String: Any])["info"] as! [String: Any]
            let id = info["model_id"] as! String
            #expect(info["artifact_uri"] as? String == "mlflow-artifacts:/\(exp)/models/\(id)/artifacts")
            #expect(info["status"] as? String == "LOGGED_MODEL_PENDING" && info["source_run_id"] as? String == runID)
            #expect(try await store.loggedModel(id: id, includeDeleted: false).params == ["lr": "0.1"])

            // The client uploads to the model's artifact_uri through the artifact proxy, and reads it back there.
            let file = "/api/2.0/mlflow-artifacts/artifacts/\(exp)/models/\(id)/artifacts/MLmodel"
            try await client.execute(uri: file, method: .put, body: ByteBuffer(string: "flavors: {}\n")) { #expect($0.status == .ok) }
            try await client.execute(uri: file, method: .get) { #expect(String(buffer: $0.body) == "flavors: {}\n") }
            let listing = try await Self.call(client, .get, "\(api)/logged-models/\(id)/artifacts/directories")
            #expect((listing["files"] as? [[String: Any]])?.compactMap { $0["path"] as? String } == ["MLmodel"])

            let ready = try await Self.call(client, .patch, "\(api)/logged-models/\(id)", ["model_id": id, "status": "LOGGED_MODEL_READY"])
            #expect(((ready["model"] as? [String: Any])?["info"] as? [String: Any])?["status"] as? String == "LOGGED_MODEL_READY")
            #expect(try await store.loggedModel(id: id, includeDeleted: false).status == .ready)
            _ = try await Self.call(client, .patch, "\(api)/logged-models/\(id)", ["status": "LOGGED_MODEL_STATUS_UNSPECIFIED"], status: .badRequest)

            _ = try await Self.call(client, .patch, "\(api)/logged-models/\(id)/tags", ["tags": [["key": "team", "value": "radiology"]]])
            _ = try await Self.call(client, .delete, "\(api)/logged-models/\(id)/tags/mlflow.model.isExternal")
            _ = try await Self.call(client, .delete, "\(api)/logged-models/\(id)/tags/a/b")
            _ = try await Self.call(client, .delete, "\(api)/logged-models/\(id)/tags/never-set", status: .notFound)
            _ = try await Self.call(client, .post, "\(api)/logged-models/\(id)/params", ["params": [["key": "arch", "value": "resnet18"]]])
            _ = try await Self.call(client, .post, "\(api)/logged-models/\(id)/params", ["params": [["key": "lr", "value": "0.5"]]], status: .badRequest)
            let stored = try await store.loggedModel(id: id, includeDeleted: false)
            #expect(stored.tags == ["team": "radiology"] && stored.params == ["lr": "0.1", "arch": "resnet18"])

            // Metrics with a model_id land in the run's history and on the model; the run lists the model as output.
            _ = try await Self.call(client, .post, "\(api)/runs/log-batch", ["run_id": runID, "metrics": [
                ["key": "auc", "value": 0.9, "timestamp": 1, "step": 0, "model_id": id, "dataset_name": "val", "dataset_digest": "d1"],
                ["key": "loss", "value": 0.2, "timestamp": 1, "step": 0]]])
            _ = try await Self.call(client, .post, "\(api)/runs/log-metric", ["run_id": runID, "key": "f1", "value": 0.7, "timestamp": 2, "step": 1, "model_id": id])
            _ = try await Self.call(client, .post, "\(api)/runs/outputs", ["run_id": runID, "models": [["model_id": id, "step": 2]]])
            let got = try await Self.call(client, .get, "\(api)/logged-models/\(id)")
            let metrics = ((got["model"] as! [String: Any])["data"] as! [String: Any])["metrics"] as! [[String: Any]]
            #expect(metrics.compactMap { $0["key"] as? String }.sorted() == ["auc", "f1"])
            #expect(metrics.first { $0["key"] as? String == "auc" }?["dataset_name"] as? String == "val")
            #expect(metrics.allSatisfy { $0["model_id"] as? String == id && $0["run_id"] as? String == runID })
            #expect(try await store.run(id: runID).metrics.keys.sorted() == ["auc", "f1", "loss"])
            let run = try await Self.call(client, .get, "\(api)/runs/get?run_id=\(runID)")
            let outputs = ((run["run"] as? [String: Any])?["outputs"] as? [String: Any])?["model_outputs"] as? [[String: Any]]
            #expect(outputs?.first?["model_id"] as? String == id && (outputs?.first?["step"] as? NSNumber)?.intValue == 2 && outputs?.count == 1)
            _ = try await Self.call(client, .post, "\(api)/runs/log-inputs", ["run_id": runID, "models": [["model_id": id]]])
            #expect(try await store.modelLinks(runIDs: [runID])[runID]?.contains(RunModelLink(modelID: id, direction: .input)) == true)

            let hit = try await Self.call(client, .post, "\(api)/logged-models/search", [
                "experiment_ids": [exp], "filter": "metrics.auc > 0.5 AND params.arch = 'resnet18'", "order_by": [["field_name": "name", "ascending": false]]])
            #expect((hit["models"] as? [[String: Any]])?.compactMap { ($0["info"] as? [String: Any])?["model_id"] as? String } == [id])
            let miss = try await Self.call(client, .post, "\(api)/logged-models/search", ["experiment_ids": [exp], "filter": "metrics.auc > 0.95"])
            #expect((miss["models"] as? [Any])?.isEmpty == true)
            _ = try await Self.call(client, .post, "\(api)/logged-models/search", ["experiment_ids": [exp], "filter": "metrics.auc > 'x'"], status: .badRequest)

            // Registering `models:/m-…`: the version takes the model's run, downloads from the model's folder, and the model lists it.
            _ = try await Self.call(client, .post, "\(api)/registered-models/create", ["name": "clf"])
            let version = try await Self.call(client, .post, "\(api)/model-versions/create", ["name": "clf", "source": "models:/\(id)", "model_id": id])
            let mv = version["model_version"] as! [String: Any]
            #expect(mv["version"] as? String == "1" && mv["run_id"] as? String == runID && mv["model_id"] as? String == id)
            #expect(try await store.modelVersion(name: "clf", version: 1).runID == runID)
            let uri = try await Self.call(client, .get, "\(api)/model-versions/get-download-uri?name=clf&version=1")
            #expect(uri["artifact_uri"] as? String == "mlflow-artifacts:/\(exp)/models/\(id)/artifacts")
            let registered = try await Self.call(client, .get, "\(api)/logged-models/\(id)")
            let registrations = ((registered["model"] as? [String: Any])?["info"] as? [String: Any])?["registrations"] as? [[String: String]]
            #expect(registrations == [["name": "clf", "version": "1"]])
            // The mlflow client then appends the same registration itself (with the server's number or string): still one.
            _ = try await Self.call(client, .patch, "\(api)/logged-models/\(id)/tags", ["tags": [["key": "mlflow.modelVersions",
                                                                                         "value": #"[{"name": "clf", "version": 1}, {"name": "clf", "version": "1"}]"#]]])
            #expect(try await store.loggedModel(id: id, includeDeleted: false).tags["mlflow.modelVersions"] == #"[{"name":"clf","version":"1"}]"#)
            _ = try await Self.call(client, .post, "\(api)/model-versions/create", ["name": "clf", "source": "models:/m-0123abcd"], status: .notFound)

            _ = try await Self.call(client, .delete, "\(api)/logged-models/\(id)", ["model_id": id])
            _ = try await Self.call(client, .get, "\(api)/logged-models/\(id)", status: .notFound)
            _ = try await Self.call(client, .get, "\(api)/logged-models/\(id)?allow_deleted=true")
            #expect(try await store.loggedModel(id: id, includeDeleted: true).lifecycle == .deleted)
        }
        try await store.close()
    }

    @Test func loggedModelWritesNeedAWriterToken() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-lm-auth-\(UUID().uuidString)")
        let store = try await SQLStore.sqlite(path: dir.appendingPathComponent("lumen.db").path)
        var configuration = ServerConfiguration()
        configuration.requireTokens = true
        let app = makeServer(store: store, artifacts: ArtifactStore(root: dir.appendingPathComponent("artifacts")), configuration: configuration)
        let model = try await store.createLoggedModel(experimentID: "0", name: "m", sourceRunID: nil, modelType: nil, params: [:], tags: ["k": "v"])
        let (reader, _) = try await store.createToken(name: "dashboard", role: .reader)
        let (writer, _) = try await store.createToken(name: "ci", role: .writer)
        let base = "/api/2.0/mlflow/logged-models"
        let writes: [(HTTPRequest.Method, String, String)] = [
            (.post, base, #"{"experiment_id": "0"}"#), (.patch, "\(base)/\(model.id)", #"{"status": "LOGGED_MODEL_READY"}"#),
            (.patch, "\(base)/\(model.id)/tags", #"{"tags": [{"key": "x", "value": "y"}]}"#), (.delete, "\(base)/\(model.id)/tags/k", ""),
            (.post, "\(base)/\(model.id)/params", #"{"params": [{"key": "p", "value": "q"}]}"#), (.delete, "\(base)/\(model.id)", ""),
            (.post, "/api/2.0/mlflow/runs/outputs", #"{"run_id": "abc", "models": []}"#),
        ]
        try await app.test(.router) { client in
            for (method, uri, body) in writes {
                try await client.execute(uri: uri, method: method, body: ByteBuffer(string: body)) { #expect($0.status == .unauthorized, "\(method) \(uri)") }
                try await client.execute(uri: uri, method: method, headers: [.authorization: "Bearer \(reader)"], body: ByteBuffer(string: body)) {
                    #expect($0.status == .forbidden, "\(method) \(uri)")
                }
            }
            // Reads need a token too, of any role.
            try await client.execute(uri: "\(base)/\(model.id)", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "\(base)/\(model.id)", method: .get, headers: [.authorization: "Bearer \(reader)"]) { #expect($0.status == .ok) }
            try await client.execute(uri: "\(base)/search", method: .post, headers: [.authorization: "Bearer \(reader)"], body: ByteBuffer(string: #"{"experiment_ids": ["0"]}"#)) { #expect($0.status == .ok) }
            try await client.execute(uri: "\(base)/\(model.id)", method: .patch, headers: [.authorization: "Bearer \(writer)"],
                                     body: ByteBuffer(string: #"{"status": "LOGGED_MODEL_READY"}"#)) { #expect($0.status == .ok) }
        }
        let after = try await store.loggedModel(id: model.id, includeDeleted: false)
        #expect(after.status == .ready && after.tags == ["k": "v"] && after.params.isEmpty)
        #expect(try await store.searchLoggedModels(LoggedModelQuery(experimentIDs: ["0"])).models.count == 1)
        try await store.close()
    }
}
