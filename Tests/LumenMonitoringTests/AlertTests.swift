import Foundation
import LumenMonitoring
import LumenStore
import LumenWorkspace
import Testing

@Suite("Alerts")
struct AlertTests {
    static let config = """
    {"interval": "10s",
     "channels": {"log": {"command": ["sh", "-c", "cat >> \\"$LUMEN_TEST_ALERT_FILE\\"; printf \\"\\\\n %s\\\\n\\" $LUMEN_ALERT_STATE >> \\"$LUMEN_TEST_ALERT_FILE\\""]}},
     "rules": [{"name": "slow", "model": "cxr", "metric": "latency_p99", "window": "5m", "above": 0.5, "for": "1m", "channels": ["log"], "min_samples": 5}]}
    """

    /// Rules are checked key by key, with the place named.
    @Test func badConfigsAreRefusedWithThePlace() throws {
        func error(_ json: String) -> String {
            do { _ = try AlertConfig.parse(try JSONSerialization.jsonObject(with: Data(json.utf8))); return "" } catch { return "\(error)" }
        }
        #expect(try AlertConfig.parse(try JSONSerialization.jsonObject(with: Data(Self.config.utf8))).rules[0].holdFor == 60)
        #expect(error(#"{"rules": [{"name": "a", "model": "m", "metric": "latency", "above": 1}]}"#).contains("alerts.rules[0] (a).metric"))
        #expect(error(#"{"rules": [{"name": "a", "model": "m", "metric": "requests", "above": 1, "below": 0}]}"#).contains("exactly one of 'above' or 'below'"))
        #expect(error(#"{"rules": [{"name": "a", "model": "m", "metric": "requests", "above": 1, "channels": ["pager"]}]}"#).contains("no channel named 'pager'"))
        #expect(error(#"{"rules": [{"name": "a", "model": "m", "metric": "requests", "above": 1, "windo": "5m"}]}"#).contains("unknown key 'windo'"))
        #expect(error(#"{"rules": [], "channels": {}}"#).contains("at least one rule"))
        #expect(error(#"{"rules": [{"name": "a", "model": "m", "metric": "requests", "above": 1}], "channels": {"x": {"smtp": "http://mail"}}}"#).contains("smtp:// or smtps://"))
        #expect(error(#"{"rules": [{"name": "a", "model": "m", "metric": "requests", "above": 1, "window": "5 minutes"}]}"#).contains("window: a duration"))
    }

    /// Slow predictions: pending, then firing once the condition held for a minute (one notification, not one per
    /// evaluation), then resolved when the latency is back (one more); two engines on one store notify once.
    @Test func alertsFireOnceAndResolve() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-alerts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("delivered.txt")
        setenv("LUMEN_TEST_ALERT_FILE", file.path, 1)
        let store = try await SQLStore.sqlite(path: dir.appendingPathComponent("lumen.db").path)
        defer { Task { try? await store.close() } }
        let config = try AlertConfig.parse(try JSONSerialization.jsonObject(with: Data(Self.config.utf8)))
        let engines = [AlertEngine(config: config, store: store, artifacts: ArtifactStore(root: dir)), AlertEngine(config: config, store: store, artifacts: ArtifactStore(root: dir))]
        let t0: Int64 = 1_800_000_000_000
        func log(_ latency: Double, at t: Int64, count: Int = 10) async throws {
            try await store.logPredictions((0..<count).map { i in
                PredictionLog(modelName: "cxr", modelVersion: 1, time: t + Int64(i), features: "{}", outputs: #"{"probabilities": [0.2, 0.8], "labels": [1], "route": "primary"}"#, latency: latency)
            })
        }
        func deliveries() -> [String] { ((try? String(contentsOf: file, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.hasPrefix(" ") }.map { $0.trimmingCharacters(in: .whitespaces) } }

        try await log(0.05, at: t0)
        #expect(await engines[0].evaluate(models: [], now: t0 + 1000).events.isEmpty, "fast answers: nothing")
        try await log(0.9, at: t0 + 2000)
        let first = await engines[0].evaluate(models: [], now: t0 + 3000)
        #expect(first.errors.isEmpty && first.events.map(\.change) == ["pending"], "\(first)")
        #expect(deliveries().isEmpty, "pending is not notified")
        #expect(await engines[1].evaluate(models: [], now: t0 + 30_000).events.isEmpty, "still pending after 27 s of a 60 s hold")
        // Both replicas evaluate after the hold: one fires and notifies.
        async let a = engines[0].evaluate(models: [], now: t0 + 64_000)
        async let b = engines[1].evaluate(models: [], now: t0 + 64_000)
        let fired = (await a).events + (await b).events
        #expect(fired.map(\.change) == ["firing"], "\(fired)")
        #expect(deliveries() == ["firing"])
        let open = try #require(try await store.openAlert(rule: "slow", model: "cxr"))
        #expect(open.state == .firing && open.value == 0.9 && open.evidence.contains("\"predictions\":20") && open.deliveries.contains("log: delivered"))
        #expect(await engines[0].evaluate(models: [], now: t0 + 120_000).events.isEmpty, "firing stays firing, not notified again")
        #expect(deliveries() == ["firing"])
        // Five minutes on, only fast answers are in the window: resolved, notified once.
        try await log(0.04, at: t0 + 300_000)
        let resolved = await engines[1].evaluate(models: [], now: t0 + 360_000)
        #expect(resolved.events.map(\.change) == ["resolved"], "\(resolved)")
        #expect(await engines[0].evaluate(models: [], now: t0 + 361_000).events.isEmpty)
        #expect(deliveries() == ["firing", "resolved"])
        let record = try #require(try await store.alerts(openOnly: false, since: 0, limit: 5).first)
        #expect(record.state == .resolved && record.fired == t0 + 64_000 && record.resolved == t0 + 360_000)
        let delivered = try String(contentsOf: file, encoding: .utf8)
        #expect(delivered.contains(#""rule":"slow""#) && delivered.contains(#""state":"firing""#), "the alert as JSON on the command's input")
        // A condition that clears before its hold is forgotten, never notified.
        try await log(2.0, at: t0 + 400_000, count: 30)
        #expect(await engines[0].evaluate(models: [], now: t0 + 401_000).events.map(\.change) == ["pending"])
        #expect(await engines[0].evaluate(models: [], now: t0 + 800_000).events.map(\.change) == ["dropped"])
        #expect(deliveries() == ["firing", "resolved"])
    }
}
