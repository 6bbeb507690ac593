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
        // Revoking twice is an error, not a second "revoked" that did nothing.
        await #expect(throws: StoreError.self) { try await store.revokeToken(id: token.id) }
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
        // The newest ten (i = 1181, 1183, …, 1199), oldest first.
        #expect(v2.first?.features == #"{"mean": 1181}"#)
        #expect(v2.last?.features == #"{"mean": 1199}"#)
        #expect(v2.map(\.time) == v2.map(\.time).sorted())
        await #expect(throws: StoreError.self) { try await store.predictions(modelName: "cxr", version: nil, since: 0, limit: 0) }
    }
}

@Suite struct AlertStoreTests {
    /// One open alert per rule and model, whoever inserts; a transition happens once (the second replica's
    /// attempt finds the state moved); a resolved alert frees the key for the next episode.
    @Test(arguments: Backend.available)
    func alertsOpenOnceAndMoveOnce(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        func pending(_ id: String) -> AlertRecord {
            AlertRecord(id: id, rule: "slow", model: "cxr", severity: "warning", state: .pending, metric: "latency_p99", comparison: "above",
                        threshold: 0.5, value: 0.8, started: 1000, updated: 1000, evidence: "{}")
        }
        #expect(try await store.insertAlert(pending("a")))
        #expect(try await store.insertAlert(pending("b")) == false, "a second open alert for the same rule and model is refused")
        #expect(try await store.openAlert(rule: "slow", model: "cxr")?.id == "a")
        var firing = pending("a")
        firing.state = .firing
        firing.fired = 2000
        firing.updated = 2000
        #expect(try await store.transitionAlert(firing, from: .pending))
        #expect(try await store.transitionAlert(firing, from: .pending) == false, "already moved: only one replica notifies")
        #expect(try await store.alerts(openOnly: true, since: 0, limit: 10).map(\.id) == ["a"])
        var resolved = firing
        resolved.state = .resolved
        resolved.resolved = 3000
        #expect(try await store.transitionAlert(resolved, from: .firing))
        #expect(try await store.openAlert(rule: "slow", model: "cxr") == nil)
        #expect(try await store.alerts(openOnly: true, since: 0, limit: 10).isEmpty)
        #expect(try await store.insertAlert(pending("c")), "a new episode after the last resolved")
        try await store.dropPendingAlert(id: "c")
        #expect(try await store.openAlert(rule: "slow", model: "cxr") == nil)
        try await store.setAlertDeliveries(id: "a", "hook: delivered")
        let all = try await store.alerts(openOnly: false, since: 0, limit: 10)
        #expect(all.count == 1 && all[0].state == .resolved && all[0].resolved == 3000 && all[0].fired == 2000 && all[0].deliveries == "hook: delivered")
    }
}

@Suite struct LeaseStoreTests {
    /// One holder at a time; the holder renews; another takes the lease only after it expires; released leases are free.
    @Test(arguments: Backend.available)
    func oneHolderAtATime(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        #expect(try await store.acquireLease(name: "scheduler", holder: "a", ttl: 30))
        #expect(try await store.acquireLease(name: "scheduler", holder: "b", ttl: 30) == false)
        #expect(try await store.acquireLease(name: "scheduler", holder: "a", ttl: 30), "the holder renews")
        #expect(try await store.leaseHolder(name: "scheduler") == "a")
        // A lease that runs out is free (a short one, so that the test does not depend on the machine's speed).
        #expect(try await store.acquireLease(name: "short", holder: "a", ttl: 0.2))
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await store.leaseHolder(name: "short") == nil, "expired")
        #expect(try await store.acquireLease(name: "short", holder: "b", ttl: 30), "an expired lease is taken")
        #expect(try await store.acquireLease(name: "short", holder: "a", ttl: 30) == false)
        try await store.releaseLease(name: "scheduler", holder: "a")
        #expect(try await store.acquireLease(name: "scheduler", holder: "b", ttl: 30), "released: free")
        try await store.releaseLease(name: "scheduler", holder: "a")
        #expect(try await store.leaseHolder(name: "scheduler") == "b", "only the holder releases")
        // Trigger state.
        #expect(try await store.triggerState(pipeline: "p", trigger: "every: 1s") == nil)
        try await store.setTriggerState(pipeline: "p", trigger: "every: 1s", value: "1")
        try await store.setTriggerState(pipeline: "p", trigger: "every: 1s", value: "2")
        #expect(try await store.triggerState(pipeline: "p", trigger: "every: 1s") == "2")
    }
}
