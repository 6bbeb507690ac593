import Foundation
import Testing
@testable import LumenStore

@Suite struct AccessAndPredictionTests {
    @Test(arguments: Backend.available)
    func tokensAreStoredHashed(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        let (secret, token) = try await store.createToken(name: "ci", role: .writer)
        #expect(secret.hasPrefix("lm_") && secret.count == 67)
        #expect(try await store.token(forSecret: secret)?.role == .writer)
        let stored = try await store.db.raw("SELECT token_hash FROM api_tokens").all().map { try $0.decode(column: "token_hash", as: String.self) }
        #expect(stored.count == 1 && stored[0] != secret && !stored[0].contains(secret.dropFirst(3)))
        try await store.revokeToken(id: token.id)
        #expect(try await store.token(forSecret: secret) == nil)
        #expect(try await store.tokens().first?.revoked == true)
        #expect(try await store.token(forSecret: "lm_' OR 1=1 --") == nil)
        await #expect(throws: StoreError.self) { try await store.revokeToken(id: "nope") }
    }

    @Test(arguments: Backend.available)
    func predictionLogsRoundTrip(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        let logs = (0..<1200).map { i in
            PredictionLog(modelName: "cxr", modelVersion: Int64(1 + i % 2), time: Int64(1000 + i), features: #"{"mean": \#(i)}"#,
                          outputs: #"{"p": 0.5}"#, latency: 0.012)
        }
        try await store.logPredictions(logs)
        #expect(try await store.predictions(modelName: "cxr", version: nil, since: 0, limit: 5000).count == 1200)
        let v2 = try await store.predictions(modelName: "cxr", version: 2, since: 2000, limit: 10)
        #expect(v2.count == 10 && v2.allSatisfy { $0.modelVersion == 2 && $0.time >= 2000 })
        #expect(v2.first?.features == #"{"mean": 1001}"#)
        await #expect(throws: StoreError.self) { try await store.predictions(modelName: "cxr", version: nil, since: 0, limit: 0) }
    }
}
