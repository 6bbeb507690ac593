import Foundation
import Testing
@testable import LumenStore

/// The backends every store test runs on: SQLite always; PostgreSQL when `LUMEN_TEST_POSTGRES_URL`
/// names a server (`make test` starts a private one and sets it).
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    static var available: [Backend] {
        ProcessInfo.processInfo.environment["LUMEN_TEST_POSTGRES_URL"] == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    var testDescription: String { rawValue }

    /// A fresh, empty store: a new SQLite file, or a new PostgreSQL schema.
    func makeStore() async throws -> SQLStore {
        switch self {
        case .sqlite:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-store-\(UUID().uuidString)/lumen.db").path
            return try await SQLStore.sqlite(path: path)
        case .postgres:
            let url = ProcessInfo.processInfo.environment["LUMEN_TEST_POSTGRES_URL"]!
            return try await SQLStore.postgres(url: url, schema: "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())
        }
    }
}

@Suite struct BackendAvailabilityTests {
    /// Under `make test` PostgreSQL must be there: its absence is a failure, not a quiet SQLite-only run.
    @Test func postgresIsPresentWhenRequired() {
        if ProcessInfo.processInfo.environment["LUMEN_REQUIRE_POSTGRES"] == "1" {
            #expect(Backend.available.contains(.postgres))
        }
        #expect(Backend.available.contains(.sqlite))
    }
}

@Suite struct ExperimentTests {
    @Test(arguments: Backend.available)
    func createFindRenameDeleteRestore(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        let defaultExperiment = try await store.experiment(id: "0")
        #expect(defaultExperiment.name == "Default")

        let e = try await store.createExperiment(name: "chest-xray", artifactLocation: nil, tags: ["team": "radiology"])
        #expect(e.id != "0" && e.artifactLocation == "mlflow-artifacts:/\(e.id)" && e.tags == ["team": "radiology"])
        #expect(try await store.experiment(named: "chest-xray")?.id == e.id)
        await #expect(throws: StoreError.alreadyExists("Experiment 'chest-xray' already exists.")) {
            try await store.createExperiment(name: "chest-xray", artifactLocation: nil, tags: [:])
        }
        await #expect(throws: StoreError.self) { try await store.createExperiment(name: "  ", artifactLocation: nil, tags: [:]) }
        await #expect(throws: StoreError.self) { try await store.experiment(id: "999") }
        await #expect(throws: StoreError.self) { try await store.experiment(id: "1; DROP TABLE runs") }

        try await store.renameExperiment(id: e.id, to: "cxr")
        try await store.setExperimentTag(id: e.id, key: "team", value: "imaging")
        let renamed = try await store.experiment(id: e.id)
        #expect(renamed.name == "cxr" && renamed.tags["team"] == "imaging")

        try await store.setExperimentLifecycle(id: e.id, .deleted)
        #expect(try await store.experiments(includeDeleted: false).map(\.id) == ["0"])
        #expect(try await store.experiments(includeDeleted: true).count == 2)
        await #expect(throws: StoreError.self) { try await store.createRun(experimentID: e.id, name: nil, startTime: nil, tags: [:], parentRunID: nil) }
        try await store.setExperimentLifecycle(id: e.id, .active)
        #expect(try await store.experiment(id: e.id).lifecycle == .active)
        await #expect(throws: StoreError.self) { try await store.setExperimentLifecycle(id: "0", .deleted) }
    }
}

@Suite struct RunTests {
    @Test(arguments: Backend.available)
    func runLifecycleAndTags(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        let parent = try await store.createRun(experimentID: "0", name: "sweep", startTime: 1000, tags: ["kind": "sweep"], parentRunID: nil)
        let child = try await store.createRun(experimentID: "0", name: nil, startTime: nil, tags: [:], parentRunID: parent.info.runID)
        #expect(parent.info.status == .running && parent.info.startTime == 1000 && parent.info.name == "sweep")
        #expect(parent.tags["mlflow.runName"] == "sweep" && parent.tags["kind"] == "sweep")
        #expect(child.info.parentRunID == parent.info.runID && child.tags["mlflow.parentRunId"] == parent.info.runID)
        #expect(!child.info.name.isEmpty)

        let finished = try await store.updateRun(id: parent.info.runID, status: .finished, endTime: 5000, name: "sweep-1")
        #expect(finished.status == .finished && finished.endTime == 5000 && finished.name == "sweep-1")
        #expect(try await store.run(id: parent.info.runID).tags["mlflow.runName"] == "sweep-1")

        try await store.setTag(runID: child.info.runID, key: "note", value: "it's \"quoted\"; DROP TABLE runs; --")
        #expect(try await store.run(id: child.info.runID).tags["note"] == "it's \"quoted\"; DROP TABLE runs; --")
        try await store.deleteTag(runID: child.info.runID, key: "note")
        #expect(try await store.run(id: child.info.runID).tags["note"] == nil)
        await #expect(throws: StoreError.self) { try await store.deleteTag(runID: child.info.runID, key: "note") }

        try await store.setRunLifecycle(id: child.info.runID, .deleted)
        await #expect(throws: StoreError.self) { try await store.logMetric(runID: child.info.runID, key: "x", value: 1) }
        try await store.setRunLifecycle(id: child.info.runID, .active)
        try await store.logMetric(runID: child.info.runID, key: "x", value: 1)
        await #expect(throws: StoreError.notFound("Run with id=0123abc not found")) { try await store.run(id: "0123abc") }
        await #expect(throws: StoreError.self) { try await store.run(id: "../../etc/passwd") }
    }

    @Test(arguments: Backend.available)
    func metricsParamsAndTagsInBatches(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        let run = try await store.createRun(experimentID: "0", name: "r", startTime: nil, tags: [:], parentRunID: nil)
        let id = run.info.runID
        let metrics = [Metric(key: "loss", value: 0.9, timestamp: 10, step: 0), Metric(key: "loss", value: 0.5, timestamp: 30, step: 2),
                       Metric(key: "loss", value: 0.7, timestamp: 20, step: 1), Metric(key: "auc", value: .nan, timestamp: 5, step: 0),
                       Metric(key: "big", value: .infinity, timestamp: 5, step: 0), Metric(key: "neg", value: -.infinity, timestamp: 5, step: 0)]
        try await store.logBatch(runID: id, metrics: metrics, params: [Param(key: "lr", value: "0.001"), Param(key: "model", value: "resnet18")],
                                 tags: [Tag(key: "data.version", value: "v1")])
        // an older step logged later does not replace the latest value
        try await store.logMetric(runID: id, key: "loss", value: 0.8, step: 1, timestamp: 40)
        let got = try await store.run(id: id)
        #expect(got.params == ["lr": "0.001", "model": "resnet18"])
        #expect(got.tags["data.version"] == "v1")
        #expect(got.metrics["loss"]?.value == 0.5 && got.metrics["loss"]?.step == 2)
        #expect(got.metrics["auc"]?.value.isNaN == true)
        #expect(got.metrics["big"]?.value == .infinity && got.metrics["neg"]?.value == -.infinity)
        let history = try await store.metricHistory(runID: id, key: "loss")
        #expect(history.map(\.step) == [0, 1, 1, 2])
        #expect(history.map(\.value) == [0.9, 0.7, 0.8, 0.5])

        // params are written once: the same value again is fine, another value is an error that writes nothing
        try await store.logParam(runID: id, key: "lr", value: "0.001")
        await #expect(throws: StoreError.self) {
            try await store.logBatch(runID: id, metrics: [Metric(key: "after", value: 1)], params: [Param(key: "lr", value: "0.1")], tags: [])
        }
        #expect(try await store.run(id: id).metrics["after"] == nil)  // the failed batch left nothing behind

        // MLflow's limits and names
        let tooMany = (0..<1001).map { Metric(key: "m", value: Double($0), timestamp: 1, step: Int64($0)) }
        await #expect(throws: StoreError.self) { try await store.logBatch(runID: id, metrics: tooMany, params: [], tags: []) }
        let manyParams = (0..<101).map { Param(key: "p\($0)", value: "v") }
        await #expect(throws: StoreError.self) { try await store.logBatch(runID: id, metrics: [], params: manyParams, tags: []) }
        for bad in ["", "../escape", "/abs", "semi;colon", String(repeating: "k", count: 251)] {
            await #expect(throws: StoreError.self, "key \(bad)") { try await store.logMetric(runID: id, key: bad, value: 1) }
        }
        await #expect(throws: StoreError.self) { try await store.logParam(runID: id, key: "long", value: String(repeating: "x", count: 6001)) }
        let full = (0..<1000).map { Metric(key: "m\($0 % 10)", value: Double($0), timestamp: 1, step: Int64($0)) }
        try await store.logBatch(runID: id, metrics: full, params: [], tags: [])
        #expect(try await store.metricHistory(runID: id, key: "m3").count == 100)
        #expect(try await store.run(id: id).metrics["m9"]?.value == 999)
    }

    @Test(arguments: Backend.available)
    func fiftyConcurrentClientsLoseNothing(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        let run = try await store.createRun(experimentID: "0", name: "storm", startTime: nil, tags: [:], parentRunID: nil)
        let id = run.info.runID
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<50 {
                group.addTask {
                    for step in 0..<20 {
                        try await store.logMetric(runID: id, key: "client\(client % 5)", value: Double(client * 100 + step), step: Int64(client * 100 + step))
                    }
                }
            }
            try await group.waitForAll()
        }
        var total = 0
        for k in 0..<5 { total += try await store.metricHistory(runID: id, key: "client\(k)").count }
        #expect(total == 1000)
        #expect(try await store.run(id: id).metrics["client4"]?.value == 4919)
    }
}

@Suite struct SearchTests {
    @Test(arguments: Backend.available)
    func filtersOrderingAndPaging(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        let e = try await store.createExperiment(name: "search", artifactLocation: nil, tags: [:])
        for i in 0..<25 {
            let run = try await store.createRun(experimentID: e.id, name: "run-\(i)", startTime: Int64(1000 + i), tags: [:], parentRunID: nil)
            var metrics = [Metric(key: "val_auc", value: Double(i) / 25, timestamp: 1, step: 0)]
            if i == 3 { metrics = [] }  // one run without the metric
            try await store.logBatch(runID: run.info.runID, metrics: metrics,
                                     params: [Param(key: "model", value: i % 2 == 0 ? "resnet18" : "vgg16"), Param(key: "lr", value: "\(i)")],
                                     tags: [Tag(key: "phase", value: i < 10 ? "Pilot" : "main")])
            if i % 5 == 0 { try await store.finishRun(id: run.info.runID) }
        }
        func search(_ filter: String, order: [String] = [], max: Int = 1000) async throws -> [String] {
            try await store.searchRuns(RunQuery(experimentIDs: [e.id], filter: filter, orderBy: order, maxResults: max)).runs.map(\.info.name)
        }
        #expect(try await search("").count == 25)
        #expect(try await search("metrics.val_auc > 0.9").sorted() == ["run-23", "run-24"])
        #expect(try await search("metrics.val_auc >= 0.2 and params.model = 'resnet18' and metrics.val_auc < 0.3") == ["run-6"])
        #expect(try await search("params.model != 'resnet18'").count == 12)
        #expect(try await search("tags.phase = 'Pilot'").count == 10)
        #expect(try await search("tags.phase LIKE 'pil%'").isEmpty)           // LIKE is case-sensitive
        #expect(try await search("tags.phase ILIKE 'pil%'").count == 10)
        #expect(try await search("attributes.status = 'FINISHED'").count == 5)
        #expect(try await search("attributes.run_name = 'run-7'") == ["run-7"])
        #expect(try await search("attributes.start_time > 1020").count == 4)
        #expect(try await search("params.lr = '1''; DROP TABLE runs; --'").isEmpty)
        #expect(try await search("metrics.`val_auc` > 0.95") == ["run-24"])
        #expect(try await search("", order: ["metrics.val_auc DESC"]).prefix(3) == ["run-24", "run-23", "run-22"])
        #expect(try await search("", order: ["metrics.val_auc DESC"]).last == "run-3")  // missing values sort last
        #expect(try await search("", order: ["params.lr ASC"]).first == "run-0")
        #expect(try await search("").first == "run-24")  // newest first by default

        var names: [String] = []
        var token: String?
        repeat {
            let page = try await store.searchRuns(RunQuery(experimentIDs: [e.id], maxResults: 10, pageToken: token))
            names += page.runs.map(\.info.name)
            token = page.nextPageToken
        } while token != nil
        #expect(names.count == 25 && Set(names).count == 25)

        for bad in ["metrics.val_auc > 'x'", "params.model > 'a'", "foo.bar = 1", "metrics.auc >", "metrics.a = 1 or metrics.b = 2",
                    "attributes.nope = 'x'", "params.model = 'unterminated"] {
            await #expect(throws: StoreError.self, "\(bad)") { try await search(bad) }
        }
        await #expect(throws: StoreError.self) { try await search("", order: ["nonsense"]) }
        await #expect(throws: StoreError.self) { try await store.searchRuns(RunQuery(experimentIDs: [e.id], pageToken: "%%%")) }
    }
}

@Suite struct MigrationTests {
    @Test func reopeningKeepsDataAndSchemaVersion() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-migrate-\(UUID().uuidString).db").path
        let first = try await SQLStore.sqlite(path: path)
        let run = try await first.createRun(experimentID: "0", name: "kept", startTime: nil, tags: [:], parentRunID: nil)
        try await first.close()
        let second = try await SQLStore.sqlite(path: path)
        #expect(try await second.run(id: run.info.runID).info.name == "kept")
        let versions = try await second.db.raw("SELECT version FROM lumen_schema").all().map { try $0.decode(column: "version", as: Int.self) }
        #expect(versions.sorted() == Migrations.all(.sqlite).map(\.version).sorted() && versions.max() == Migrations.latestVersion && versions.contains(8))
        try await second.close()
    }

    @Test func storeURIsAreCheckedClearly() async throws {
        await #expect(throws: StoreError.self) { try await openStore(uri: "mysql://x") }
        await #expect(throws: StoreError.self) { try await openStore(uri: "sqlite:") }
        let error = await #expect(throws: StoreError.self) { try await openStore(uri: "postgres://u:secret@127.0.0.1:1/db") }
        #expect(error?.description.contains("secret") == false)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-uri-\(UUID().uuidString)")
        let store = try await openStore(uri: "sqlite:.lumen/lumen.db", base: dir)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(".lumen/lumen.db").path))
        try await store.close()
    }
}

@Suite struct DatasetIndexTests {
    @Test(arguments: Backend.available)
    func recordsAreIdempotentAndListedByName(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        let a = DatasetRecord(name: "cxr", versionID: "aaa111", created: 1_000, task: "classification", files: 12, classes: ["normal", "pneumonia, \"viral\""],
                              parent: nil, manifestPath: "datasets/cxr/aaa111.json", manifestSHA256: String(repeating: "a", count: 64))
        var b = a
        b.versionID = "bbb222"; b.created = 2_000; b.parent = "aaa111"; b.manifestPath = "datasets/cxr/bbb222.json"
        var c = a
        c.name = "cells"; c.task = "segmentation"; c.classes = []
        try await store.recordDatasetVersion(a)
        try await store.recordDatasetVersion(b)
        try await store.recordDatasetVersion(a)  // the same version again: no error, no duplicate
        try await store.recordDatasetVersion(c)
        #expect(try await store.datasetVersions(name: "cxr") == [a, b])
        #expect(try await store.datasetVersions(name: nil).count == 3)
        #expect(try await store.datasetVersions(name: "none").isEmpty)
    }
}

@Suite struct FeedbackTests {
    @Test(arguments: Backend.available)
    func feedbackAttachesByIdLateRepeatedAndUnknown(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        try await store.logPredictions([
            PredictionLog(modelName: "m", modelVersion: 1, features: "{}", outputs: "{}", latency: 0.01, id: "p-1"),
            PredictionLog(modelName: "m", modelVersion: 1, features: "{}", outputs: "{}", latency: 0.01, id: "p-2"),
            PredictionLog(modelName: "m", modelVersion: 1, features: "{}", outputs: "{}", latency: 0.01),
        ])
        #expect(try await store.predictions(modelName: "m", version: 1, since: 0, limit: 10).map(\.id) == ["p-1", "p-2", nil])
        let first = try await store.recordFeedback([Feedback(predictionID: "p-1", label: "normal"), Feedback(predictionID: "nope", label: "x")])
        #expect(first == FeedbackOutcome(recorded: 1, updated: 0, unknown: ["nope"]))
        // A second read of p-1 replaces the first; p-2 arrives late.
        let second = try await store.recordFeedback([Feedback(predictionID: "p-1", label: "pneumonia"), Feedback(predictionID: "p-2", label: "normal")])
        #expect(second == FeedbackOutcome(recorded: 1, updated: 1, unknown: []))
        let truth = try await store.feedback(for: ["p-1", "p-2", "nope"])
        #expect(truth.mapValues(\.label) == ["p-1": "pneumonia", "p-2": "normal"])
        await #expect(throws: StoreError.self) { try await store.recordFeedback([Feedback(predictionID: "", label: "x")]) }
    }
}
