import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServing
import LumenStore
import Testing
import LumenWorkspace

/// A server over a fresh SQLite store and a temporary artifact root.
func makeTestServer() async throws -> (some ApplicationProtocol, SQLStore) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-serve-\(UUID().uuidString)")
    let store = try await SQLStore.sqlite(path: dir.appendingPathComponent("lumen.db").path)
    var configuration = ServerConfiguration()
    configuration.maxRequestBytes = 64 * 1024
    configuration.maxArtifactBytes = 256 * 1024
    return (makeServer(store: store, artifacts: ArtifactStore(root: dir.appendingPathComponent("artifacts")), configuration: configuration), store)
}

@Suite struct RouteFuzzTests {
    static let postRoutes = ["experiments/create", "experiments/search", "experiments/delete", "experiments/restore", "experiments/update",
                             "experiments/set-experiment-tag", "runs/create", "runs/update", "runs/delete", "runs/restore", "runs/set-tag",
                             "runs/delete-tag", "runs/log-metric", "runs/log-parameter", "runs/log-batch", "runs/search", "runs/log-inputs",
                             "registered-models/create", "registered-models/rename", "registered-models/set-tag", "registered-models/alias",
                             "registered-models/get-latest-versions", "model-versions/create", "model-versions/transition-stage",
                             "model-versions/set-tag", "logged-models/search"]
    static let getRoutes = ["experiments/get", "experiments/get-by-name", "experiments/search", "runs/get", "metrics/get-history", "artifacts/list",
                            "registered-models/get", "registered-models/search", "registered-models/alias", "model-versions/get",
                            "model-versions/search", "model-versions/get-download-uri"]

    /// Random bytes, wrong JSON types, huge numbers and hostile strings: every answer is a 2xx or 4xx, never a 5xx or a crash.
    @Test func everyRouteAnswersGarbageWithA4xx() async throws {
        let (app, store) = try await makeTestServer()
        let hostile: [String] = ["", "{", "[]", "null", "{\"run_id\": 5}", "{\"run_id\": [1,2]}", "{\"experiment_id\": \"-1\"}",
                                 "{\"experiment_id\": \"99999999999999999999\"}", "{\"name\": \"\(String(repeating: "x", count: 600))\"}",
                                 "{\"run_id\": \"../../etc/passwd\", \"key\": \"a\", \"value\": 1}", "{\"metrics\": [{\"key\": 1}], \"run_id\": \"abc\"}",
                                 "{\"experiment_ids\": [\"0\"], \"filter\": \"metrics.a > 'x' or 1=1; --\"}", "{\"max_results\": 1e300}",
                                 "{\"start_time\": \"soon\"}", "{\"value\": \"NaN\", \"key\": \"k\", \"run_id\": \"0123\"}"]
        var rng = FuzzGenerator.seeded("RouteFuzzTests")
        var random: [String: [String]] = [:]
        for route in Self.postRoutes {
            random[route] = (0..<20).map { _ in String(decoding: (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, as: UTF8.self) }
        }
        try await app.test(.router) { [random] client in
            for route in Self.postRoutes {
                let bodies = hostile + random[route, default: []]
                for body in bodies {
                    try await client.execute(uri: "/api/2.0/mlflow/\(route)", method: .post, body: ByteBuffer(string: body)) { response in
                        #expect(response.status.code < 500, "POST \(route) with \(body.prefix(60)) (seed printed above): \(response.status)")
                    }
                }
            }
            for route in Self.getRoutes {
                for query in ["", "?run_id=../x", "?experiment_id=abc", "?run_id=%00&metric_key=a", "?experiment_name=%27%3B", "?max_results=-5&run_id=a&metric_key=b",
                              "?name=x&version=-1&alias=%zz", "?filter=name+LIKE+%27%25%27+AND+foo.bar+%3D+1", "?name=m&version=99999999999999999999"] {
                    try await client.execute(uri: "/api/2.0/mlflow/\(route)\(query)", method: .get) { response in
                        #expect(response.status.code < 500, "GET \(route)\(query): \(response.status)")
                    }
                }
            }
            // Too large a JSON body: 413, nothing written.
            let big = ByteBuffer(string: "{\"name\": \"" + String(repeating: "a", count: 100_000) + "\"}")
            try await client.execute(uri: "/api/2.0/mlflow/experiments/create", method: .post, body: big) { response in
                #expect(response.status == .contentTooLarge)
            }
            // Artifact paths cannot escape, and uploads past the limit are refused and leave nothing.
            for path in ["../../etc/passwd", "a/../../b", "%2e%2e/x", "a/%2E%2E/%2e%2e/b", "a%2Fb/..%2F..%2Fc"] {
                try await client.execute(uri: "/api/2.0/mlflow-artifacts/artifacts/\(path)", method: .put, body: ByteBuffer(string: "x")) { response in
                    #expect((400..<500).contains(response.status.code), "PUT \(path): \(response.status)")
                }
            }
            try await client.execute(uri: "/api/2.0/mlflow-artifacts/artifacts/0/r/big.bin", method: .put,
                                     body: ByteBuffer(bytes: [UInt8](repeating: 7, count: 300 * 1024))) { response in
                #expect(response.status == .contentTooLarge, "an artifact over the limit is refused as too large")
            }
            try await client.execute(uri: "/api/2.0/mlflow-artifacts/artifacts/0/r/big.bin", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
        #expect(try await store.experiments(includeDeleted: true).map(\.name) == ["Default"])
        try await store.close()
    }

    @Test func errorsHaveMLflowsShape() async throws {
        let (app, store) = try await makeTestServer()
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/2.0/mlflow/runs/get?run_id=0123456789abcdef", method: .get) { response in
                #expect(response.status == .notFound)
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(json?["error_code"] as? String == "RESOURCE_DOES_NOT_EXIST")
            }
            try await client.execute(uri: "/api/2.0/mlflow/experiments/create", method: .post, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .badRequest)
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(json?["error_code"] as? String == "INVALID_PARAMETER_VALUE")
                #expect((json?["message"] as? String)?.contains("'name'") == true)
            }
            try await client.execute(uri: "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/a.txt", method: .put, body: ByteBuffer(string: "hello")) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/a.txt", method: .get) { response in
                #expect(String(buffer: response.body) == "hello")
            }
        }
        try await store.close()
    }
}
