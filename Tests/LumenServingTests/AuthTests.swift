import Foundation
import Hummingbird
import HummingbirdTesting
import LumenStore
import Testing
@testable import LumenServing
import LumenWorkspace

@Suite struct AuthTests {
    @Test func writesNeedAWriterTokenReadsAReaderToken() async throws {
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
            // Reads need a token too (any role), including search by POST; the health probes and /metrics do not.
            try await client.execute(uri: "/api/2.0/mlflow/experiments/get-by-name?experiment_name=secured", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/2.0/mlflow/runs/search", method: .post, body: ByteBuffer(string: #"{"experiment_ids": ["0"]}"#)) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/api/2.0/mlflow/experiments/get-by-name?experiment_name=secured", method: .get, headers: [.authorization: "Bearer \(reader)"]) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/api/2.0/mlflow/runs/search", method: .post, headers: [.authorization: "Bearer \(reader)"], body: ByteBuffer(string: #"{"experiment_ids": ["0"]}"#)) {
                #expect($0.status == .ok)
            }
            // The scheme is case-insensitive; a wrong token under any spelling stays out.
            for scheme in ["bearer", "BEARER"] {
                try await client.execute(uri: "/api/2.0/mlflow/experiments/get-by-name?experiment_name=secured", method: .get, headers: [.authorization: "\(scheme) \(reader)"]) {
                    #expect($0.status == .ok, "\(scheme)")
                }
                try await client.execute(uri: "/api/2.0/mlflow/experiments/get-by-name?experiment_name=secured", method: .get, headers: [.authorization: "\(scheme) \(reader)x"]) {
                    #expect($0.status == .unauthorized, "\(scheme) with a wrong token")
                }
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            // Moving an alias needs an admin token: a writer is refused.
            try await client.execute(uri: "/api/2.0/mlflow/registered-models/create", method: .post, headers: [.authorization: "Bearer \(writer)"], body: ByteBuffer(string: #"{"name": "m"}"#)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/api/2.0/mlflow/registered-models/alias", method: .post, headers: [.authorization: "Bearer \(writer)"],
                                     body: ByteBuffer(string: #"{"name": "m", "alias": "champion", "version": "1"}"#)) { response in
                #expect(response.status == .forbidden && String(buffer: response.body).contains("admin"))
            }
        }
        #expect(try await store.experiment(named: "secured") != nil)
        try await store.close()
    }

    /// What can take a served model away needs admin: deleting or renaming a registered model or a version, and
    /// writing `lumen.*` tags (the gate, the spec). Checked on the store after each refused or allowed request.
    @Test func registryWritesThatBreakServingNeedAdmin() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-auth-\(UUID().uuidString)")
        let store = try await SQLStore.sqlite(path: dir.appendingPathComponent("lumen.db").path)
        defer { Task { try? await store.close() } }
        var configuration = ServerConfiguration()
        configuration.requireTokens = true
        let app = makeServer(store: store, artifacts: ArtifactStore(root: dir.appendingPathComponent("artifacts")), configuration: configuration)
        let (writer, _) = try await store.createToken(name: "ci", role: .writer)
        let (admin, _) = try await store.createToken(name: "ops", role: .admin)
        _ = try await store.createRegisteredModel(name: "m", description: "", tags: [:])
        _ = try await store.createModelVersion(name: "m", source: "s", runID: nil, description: "", tags: [:], signature: nil, preprocessing: nil, spec: nil)
        func call(_ path: String, _ method: HTTPRequest.Method, _ body: String, _ secret: String) async throws -> HTTPResponse.Status {
            try await app.test(.router) { client in
                try await client.execute(uri: "/api/2.0/mlflow/\(path)", method: method, headers: [.authorization: "Bearer \(secret)"], body: ByteBuffer(string: body)) { $0.status }
            }
        }
        #expect(try await call("model-versions/delete", .delete, #"{"name": "m", "version": "1"}"#, writer) == .forbidden)
        #expect(try await call("registered-models/delete", .delete, #"{"name": "m"}"#, writer) == .forbidden)
        #expect(try await call("registered-models/rename", .post, #"{"name": "m", "new_name": "n"}"#, writer) == .forbidden)
        #expect(try await call("model-versions/set-tag", .post, #"{"name": "m", "version": "1", "key": "lumen.gate", "value": "x"}"#, writer) == .forbidden)
        #expect(try await call("registered-models/set-tag", .post, #"{"name": "m", "key": "LUMEN.spec", "value": "x"}"#, writer) == .forbidden)
        #expect(try await store.modelVersion(name: "m", version: 1).tags["lumen.gate"] == nil, "nothing was written")
        // Other tags stay a writer's (the route still reads the body the middleware looked into).
        #expect(try await call("model-versions/set-tag", .post, #"{"name": "m", "version": "1", "key": "team", "value": "cxr"}"#, writer) == .ok)
        #expect(try await store.modelVersion(name: "m", version: 1).tags["team"] == "cxr")
        #expect(try await call("model-versions/set-tag", .post, #"{"name": "m", "version": "1", "key": "lumen.note", "value": "x"}"#, admin) == .ok)
        #expect(try await store.modelVersion(name: "m", version: 1).tags["lumen.note"] == "x")
        #expect(try await call("model-versions/delete", .delete, #"{"name": "m", "version": "1"}"#, admin) == .ok)
        await #expect(throws: (any Error).self) { try await store.modelVersion(name: "m", version: 1) }
    }

    /// The role each route needs, and what --public-read opens.
    @Test func rolesPerRoute() {
        typealias M = TokenAuthMiddleware<BasicRequestContext>
        #expect(M.requiredRole(method: .get, path: "/api/2.0/mlflow/runs/get") == .reader)
        #expect(M.requiredRole(method: .post, path: "/v2/models/m/infer") == .reader)
        #expect(M.requiredRole(method: .post, path: "/v2/models/m/versions/2/infer") == .reader)
        #expect(M.requiredRole(method: .post, path: "/api/predict/m") == .reader)
        #expect(M.requiredRole(method: .post, path: "/api/2.0/mlflow/runs/log-batch") == .writer)
        #expect(M.requiredRole(method: .put, path: "/api/2.0/mlflow-artifacts/artifacts/0/r/a.txt") == .writer)
        #expect(M.requiredRole(method: .post, path: "/api/models/m/reload") == .admin)
        #expect(M.requiredRole(method: .delete, path: "/api/2.0/mlflow/registered-models/alias") == .admin)
        #expect(M.isOpen("/metrics") && M.isOpen("/v2/health/ready") && !M.isOpen("/v2/models/m") && !M.isOpen("/api/2.0/mlflow/experiments/search"))
    }

    @Test func publicReadOpensReadsNotWrites() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-auth-\(UUID().uuidString)")
        let store = try await SQLStore.sqlite(path: dir.appendingPathComponent("lumen.db").path)
        var configuration = ServerConfiguration()
        configuration.requireTokens = true
        configuration.publicRead = true
        let app = makeServer(store: store, artifacts: ArtifactStore(root: dir.appendingPathComponent("artifacts")), configuration: configuration)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/2.0/mlflow/experiments/search", method: .post, body: ByteBuffer(string: "{}")) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/2.0/mlflow/experiments/create", method: .post, body: ByteBuffer(string: #"{"name": "x"}"#)) { #expect($0.status == .unauthorized) }
        }
        #expect(try await store.experiment(named: "x") == nil)
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
