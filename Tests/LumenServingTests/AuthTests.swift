import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServing
import LumenStore
import Testing
import LumenWorkspace

@Suite struct AuthTests {
    @Test func writesNeedAWriterTokenReadsAreOpen() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-auth-\(UUID().uuidString)")
        let store = try await SQLStore.sqlite(path: dir.appendingPathComponent("lumen.db").path)
        var configuration = ServerConfiguration()
        configuration.requireTokens = true
        let app = makeServer(store: store, artifacts: ArtifactStore(root: dir.appendingPathComponent("artifacts")), configuration: configuration)
        let (writer, _) = try await store.createToken(name: "ci", role: .writer)
        let (reader, _) = try await store.createToken(name: "dashboard", role: .reader)
        let (revoked, revokedToken) = try await store.createToken(name: "old", role: .admin)
        try await store.revokeToken(id: revokedToken.id)

        let create = ByteBuffer(string: #"{"name": "secured"}"#)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/2.0/mlflow/experiments/create", method: .post, body: create) { #expect($0.status == .unauthorized) }
            for secret in [reader] {
                try await client.execute(uri: "/api/2.0/mlflow/experiments/create", method: .post, headers: [.authorization: "Bearer \(secret)"], body: create) {
                    #expect($0.status == .forbidden)
                }
            }
            for secret in [revoked, "lm_" + String(repeating: "0", count: 64), "garbage"] {
                try await client.execute(uri: "/api/2.0/mlflow/experiments/create", method: .post, headers: [.authorization: "Bearer \(secret)"], body: create) {
                    #expect($0.status == .unauthorized)
                }
            }
            try await client.execute(uri: "/api/2.0/mlflow-artifacts/artifacts/0/r/a.txt", method: .put, body: ByteBuffer(string: "x")) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/api/2.0/mlflow/experiments/create", method: .post, headers: [.authorization: "Bearer \(writer)"], body: create) {
                #expect($0.status == .ok)
            }
            // reads need no token, including search by POST
            try await client.execute(uri: "/api/2.0/mlflow/experiments/get-by-name?experiment_name=secured", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/2.0/mlflow/runs/search", method: .post, body: ByteBuffer(string: #"{"experiment_ids": ["0"]}"#)) {
                #expect($0.status == .ok)
            }
        }
        #expect(try await store.experiment(named: "secured") != nil)
        try await store.close()
    }

    @Test func authDefaultsOnBeyondLoopback() {
        var c = ServerConfiguration()
        #expect(!c.authEnabled)
        c.host = "0.0.0.0"
        #expect(c.authEnabled)
        c.requireTokens = false
        #expect(!c.authEnabled)
    }
}
