import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LumenServing
import LumenStore
import NIOCore
import Testing

@Suite("Traffic policies: A/B, canary, shadow", .serialized)
struct TrafficTests {
    @Test func policiesRefuseWhatTheyCannotMean() throws {
        func refused(_ object: Any, _ fragment: String) {
            #expect { try TrafficPolicy.parse(object, model: "m") } throws: { "\($0)".contains(fragment) }
        }
        refused(["splt": []], "unknown key 'splt'")
        refused(["split": [["model": "champion", "weight": -1]]], "non-negative")
        refused(["split": [["model": "champion", "weight": 0]]], "not all be 0")
        refused(["split": [["model": "a", "weight": 1], ["model": "a", "weight": 2]]], "twice")
        refused(["split": [["model": "a", "weight": 1, "share": 3]]], "unknown key 'share'")
        refused(["split": [["model": "a", "weight": 1]], "canary": ["model": "b", "percent": 5]], "not both")
        refused(["canary": ["model": "b", "percent": 150]], "0 to 100")
        refused(["sticky_header": "X Patient"], "header name")
        refused("champion", "mapping")
        let policy = try TrafficPolicy.parse(["split": [["model": "champion", "weight": 3], ["model": "2", "weight": 1]], "sticky_header": "X-Patient-ID", "shadow": "3"], model: "m")
        #expect(policy.split.map(\.weight) == [3, 1] && policy.stickyHeader == "X-Patient-ID" && policy.shadow == "3")
    }

    /// 10,000 routed requests follow the weights; a sticky key always gets the same version.
    @Test func splitAndCanaryFollowTheirWeights() async throws {
        let fixture = try await ServingFixture.make(versions: 3)
        defer { Task { await fixture.close() } }
        try await fixture.host.setPolicy(TrafficPolicy.parse(["split": [["model": "champion", "weight": 0.7], ["model": "2", "weight": 0.3]]], model: "m"), for: "m")
        var counts: [Int64: Int] = [:]
        for _ in 0..<10_000 { counts[try await fixture.host.route("m", version: nil, stickyKey: nil).model.version.version, default: 0] += 1 }
        #expect(abs(Double(counts[2] ?? 0) / 10_000 - 0.3) < 0.02 && counts.keys.sorted() == [1, 2], "\(counts)")
        // Sticky: one patient always reaches one version; patients spread by the weights.
        var byPatient: [Int64: Int] = [:]
        for p in 0..<2_000 {
            let first = try await fixture.host.route("m", version: nil, stickyKey: "patient-\(p)").model.version.version
            for _ in 0..<3 { #expect(try await fixture.host.route("m", version: nil, stickyKey: "patient-\(p)").model.version.version == first) }
            byPatient[first, default: 0] += 1
        }
        #expect(abs(Double(byPatient[2] ?? 0) / 2_000 - 0.3) < 0.05, "\(byPatient)")
        // A canary of 10 %.
        try await fixture.host.setPolicy(TrafficPolicy.parse(["canary": ["model": "3", "percent": 10]], model: "m"), for: "m")
        counts = [:]
        for _ in 0..<10_000 {
            let route = try await fixture.host.route("m", version: nil, stickyKey: nil)
            counts[route.model.version.version, default: 0] += 1
            #expect(route.role == (route.model.version.version == 3 ? "canary" : "primary"))
        }
        #expect(abs(Double(counts[3] ?? 0) / 10_000 - 0.1) < 0.015 && counts[2] == nil, "\(counts)")
        // Pinning a version loaded for the policy still works; one no policy names is not served.
        #expect(try await fixture.host.route("m", version: 3, stickyKey: nil).model.version.version == 3)
        await #expect(throws: ServingError.self) { try await fixture.host.route("m", version: 2, stickyKey: nil) }
        try await fixture.host.setPolicy(nil, for: "m")
        #expect(try await fixture.host.route("m", version: nil, stickyKey: nil).model.version.version == 1)
        await #expect(throws: ServingError.self) { try await fixture.host.route("m", version: 3, stickyKey: nil) }
    }

    /// The shadow runs on every request, is logged with its route, and never answers.
    @Test func shadowIsLoggedNeverReturned() async throws {
        let fixture = try await ServingFixture.make(versions: 2)
        defer { Task { await fixture.close() } }
        let png = try testPNG(seed: 4)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/api/models/m/traffic", method: .put, body: ByteBuffer(string: #"{"shadow": "2"}"#)) { response in
                #expect(response.status == .ok)
                #expect(((json(response.body)["routes"] as? [String: Any])?["shadow"] as? Int) == 2)
            }
            try await client.execute(uri: "/api/models/m/traffic", method: .put, body: ByteBuffer(string: #"{"shadow": "7"}"#)) { response in
                #expect(response.status == .notFound, "a version that does not exist is refused and the old policy stays")
            }
            try await client.execute(uri: "/api/models/m/traffic", method: .put, body: ByteBuffer(string: #"{"shadw": "2"}"#)) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/api/models/m/traffic", method: .get) { response in
                #expect((json(response.body)["policy"] as? [String: Any])?["shadow"] as? String == "2")
            }
            try await client.execute(uri: "/api/models", method: .get) { response in
                let listed = (json(response.body)["models"] as? [[String: Any]])?.first { $0["name"] as? String == "m" }
                #expect((listed?["routes"] as? [String: Any])?["shadow"] as? Int == 2, "the model list shows the shadow loaded beside it: \(String(buffer: response.body))")
            }
            for _ in 0..<20 {
                try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: png)) { response in
                    let answer = json(response.body)
                    #expect(answer["version"] as? Int == 1 && answer["route"] as? String == "primary", "the shadow never answers")
                }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        await fixture.logger.close()
        let logs = try await fixture.store.predictions(modelName: "m", version: nil, since: 0, limit: 1000)
        let routes = logs.map { log in ((try? JSONSerialization.jsonObject(with: Data(log.outputs.utf8)) as? [String: Any])?["route"] as? String ?? "", log.modelVersion) }
        #expect(routes.filter { $0 == ("shadow", 2) }.count == 20 && routes.filter { $0 == ("primary", 1) }.count == 20, "\(routes)")
        // Both versions saw the same 20 inputs: the comparison finds them.
        let comparison = LogComparison(logs)
        #expect(comparison.versions.map(\.version) == [1, 2] && comparison.versions.map(\.predictions) == [20, 20])
        #expect(comparison.agreements.count == 1 && comparison.agreements[0].shared == 1, "20 requests of one image: one shared input")
        #expect(comparison.versions[1].routes == ["shadow": 20])
    }

    @Test func comparisonCountsAgreementOnSharedInputs() {
        func log(_ version: Int64, _ input: String, _ label: Int, _ latency: Double) -> PredictionLog {
            PredictionLog(modelName: "m", modelVersion: version, features: #"{"input_sha256": "\#(input)"}"#,
                          outputs: #"{"probabilities": [\#(label == 0 ? 0.8 : 0.2), \#(label == 0 ? 0.2 : 0.8)], "labels": [\#(label)], "route": "split"}"#, latency: latency)
        }
        let logs = [log(1, "a", 0, 0.01), log(2, "a", 0, 0.02), log(1, "b", 1, 0.03), log(2, "b", 0, 0.04), log(1, "c", 1, 0.05), log(2, "d", 1, 0.06)]
        let c = LogComparison(logs)
        #expect(c.agreements.count == 1 && c.agreements[0].shared == 2 && c.agreements[0].agreeing == 1)
        #expect(c.versions[0].labels == [0: 1, 1: 2] && c.versions[1].labels == [0: 2, 1: 1])
        #expect(abs(c.versions[0].meanProbabilities[0] - 0.4) < 1e-12)
        #expect(c.versions[0].latencyP50 == 0.03 && c.versions[1].latencyP99 == 0.06)
    }
}
