import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServing
import LumenStore
import Testing

/// SplitMix64: a small seeded generator, so that a failing fuzz run can be replayed.
struct FuzzGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A fresh seed each run, printed; `LUMEN_FUZZ_SEED=N swift test --filter LoggedModelFuzzTests` replays one.
    static func seeded(_ name: String) -> FuzzGenerator {
        let seed = ProcessInfo.processInfo.environment["LUMEN_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64(UInt32.max))
        print("\(name): LUMEN_FUZZ_SEED=\(seed)")
        return FuzzGenerator(seed: seed)
    }
}

/// Every logged-model route with valid bodies mutated (fields dropped, retyped, bytes flipped) and hostile
/// ids and paths: each answer is a 2xx or 4xx, never a 5xx or a crash, and the server still answers after.
@Suite struct LoggedModelFuzzTests {
    static var strange: [Any] { [NSNull(), 1e300, -1, 0, true, "", "x", String(repeating: "é", count: 3000), [Any](), [String: Any](), ["key": 1],
                                 [["key": NSNull()]], "../../etc/passwd", "'; DROP TABLE logged_models; --", "m-" + String(repeating: "f", count: 80), "NaN"] }

    /// Replaces, removes or nests one field of `object`, recursively into lists of objects.
    static func mutate(_ object: [String: Any], using rng: inout FuzzGenerator) -> [String: Any] {
        var out = object
        guard let key = out.keys.sorted().randomElement(using: &rng) else { return ["junk": strange.randomElement(using: &rng)!] }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: out.removeValue(forKey: key)
        case 1: out[key] = strange.randomElement(using: &rng)!
        case 2:
            if let list = out[key] as? [[String: Any]], !list.isEmpty { out[key] = list.map { mutate($0, using: &rng) } }
            else { out[key] = [out[key]!] }
        default: out["extra_\(Int.random(in: 0..<3, using: &rng))"] = strange.randomElement(using: &rng)!
        }
        return out
    }

    static func bodies(_ base: [String: Any], using rng: inout FuzzGenerator) throws -> [String] {
        var out = ["", "{", "[]", "null", "\"text\"", "{\"a\":", String(repeating: "[", count: 5000)]
        for _ in 0..<25 {
            var object = base
            for _ in 0..<Int.random(in: 1...3, using: &rng) { object = mutate(object, using: &rng) }
            out.append(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        }
        var bytes = Array(try JSONSerialization.data(withJSONObject: base))
        for _ in 0..<10 {
            var b = bytes
            for _ in 0..<Int.random(in: 1...4, using: &rng) where !b.isEmpty { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            out.append(String(decoding: b, as: UTF8.self))
            bytes.shuffle(using: &rng)
        }
        return out
    }

    @Test func loggedModelRoutesAnswerGarbageWithA4xx() async throws {
        var rng = FuzzGenerator.seeded("logged-model routes")
        let (app, store) = try await makeTestServer()
        let run = try await store.createRun(experimentID: "0", name: nil, startTime: nil, tags: [:], parentRunID: nil)
        let model = try await store.createLoggedModel(experimentID: "0", name: "fuzz", sourceRunID: run.info.runID, modelType: nil, params: ["p": "v"], tags: ["t": "v"])
        let gone = try await store.createLoggedModel(experimentID: "0", name: "gone", sourceRunID: nil, modelType: nil, params: [:], tags: [:])
        try await store.deleteLoggedModel(id: gone.id)
        let ids = [model.id, gone.id, "m-0000", "search", "..", "%2e%2e", "%00", "m-%zz", "m-" + String(repeating: "a", count: 80), "x%2Fy"]
        let api = "/api/2.0/mlflow"
        let metric: [String: Any] = ["key": "auc", "value": 0.5, "timestamp": 1, "step": 0, "model_id": model.id, "dataset_name": "val"]
        let routes: [(HTTPRequest.Method, String, [String: Any])] = [
            (.post, "\(api)/logged-models", ["experiment_id": "0", "name": "n", "source_run_id": run.info.runID, "model_type": "t",
                                             "params": [["key": "a", "value": "b"]], "tags": [["key": "c", "value": "d"]]]),
            (.post, "\(api)/logged-models/search", ["experiment_ids": ["0"], "filter": "metrics.auc > 0.1 AND name LIKE 'f%'", "max_results": 5,
                                                    "order_by": [["field_name": "metrics.auc", "ascending": false, "dataset_name": "val"]],
                                                    "datasets": [["dataset_name": "val", "dataset_digest": "d"]], "page_token": ""]),
            (.patch, "\(api)/logged-models/ID", ["model_id": "ID", "status": "LOGGED_MODEL_READY"]),
            (.patch, "\(api)/logged-models/ID/tags", ["tags": [["key": "k", "value": "v"]]]),
            (.post, "\(api)/logged-models/ID/params", ["params": [["key": "k2", "value": "v"]]]),
            (.delete, "\(api)/logged-models/ID/tags/t", [:]),
            (.post, "\(api)/runs/outputs", ["run_id": run.info.runID, "models": [["model_id": model.id, "step": 1]]]),
            (.post, "\(api)/runs/log-inputs", ["run_id": run.info.runID, "models": [["model_id": model.id]]]),
            (.post, "\(api)/runs/log-batch", ["run_id": run.info.runID, "metrics": [metric]]),
            (.post, "\(api)/runs/log-metric", metric.merging(["run_id": run.info.runID]) { $1 }),
            (.post, "\(api)/model-versions/create", ["name": "absent", "source": "models:/\(model.id)", "model_id": model.id]),
        ]
        var requests: [(HTTPRequest.Method, String, String)] = []
        for (method, template, base) in routes {
            for body in try Self.bodies(base, using: &rng) {
                requests.append((method, template.replacingOccurrences(of: "ID", with: ids.randomElement(using: &rng)!), body))
            }
        }
        let planned = requests
        try await app.test(.router) { client in
            for (method, uri, body) in planned {
                try await client.execute(uri: uri, method: method, body: ByteBuffer(string: body)) { response in
                    #expect(response.status.code < 500, "\(method) \(uri) with \(body.prefix(80)): \(response.status) \(String(buffer: response.body).prefix(200))")
                }
            }
            for id in ids {
                for suffix in ["", "?allow_deleted=true", "?allow_deleted=%zz", "/artifacts/directories", "/artifacts/directories?artifact_directory_path=../..",
                               "/artifacts/directories?artifact_directory_path=%2e%2e%2fx", "/artifacts/directories?artifact_directory_path=a//b"] {
                    try await client.execute(uri: "\(api)/logged-models/\(id)\(suffix)", method: .get) { response in
                        #expect(response.status.code < 500, "GET \(id)\(suffix): \(response.status)")
                    }
                }
                for method in [HTTPRequest.Method.delete, .patch, .post] {
                    try await client.execute(uri: "\(api)/logged-models/\(id)/tags/\(id)", method: method) { response in
                        #expect(response.status.code < 500, "\(method) tags of \(id): \(response.status)")
                    }
                }
            }
            // Still serving, and the model is still there (or deleted by a fuzzed DELETE, but never corrupted).
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
        let after = try await store.loggedModel(id: model.id, includeDeleted: true)
        #expect(after.experimentID == "0" && after.name == "fuzz" && after.params["p"] == "v")
        try await store.close()
    }
}
