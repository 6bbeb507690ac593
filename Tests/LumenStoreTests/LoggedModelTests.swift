import Foundation
import Testing
@testable import LumenStore

/// MLflow 3 logged models on every backend: the record, its params, tags and linked metrics, search,
/// run links, and `recordTrainedModel` (what `lumen train` registration calls).
@Suite struct LoggedModelTests {
    @Test(arguments: Backend.available)
    func createReadFinalizeTagAndDelete(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        let e = try await store.createExperiment(name: "cxr", artifactLocation: nil, tags: [:])
        let run = try await store.createRun(experimentID: e.id, name: "train", startTime: nil, tags: [:], parentRunID: nil)
        let created = try await store.createLoggedModel(experimentID: e.id, name: "classifier", sourceRunID: run.info.runID, modelType: "pyfunc",
                                                        params: ["lr": "0.001"], tags: ["team": "radiology"])
        #expect(created.id.hasPrefix("m-") && created.id.count == 34)
        #expect(created.artifactLocation == "mlflow-artifacts:/\(e.id)/models/\(created.id)/artifacts")
        let read = try await store.loggedModel(id: created.id, includeDeleted: false)
        #expect(read.name == "classifier" && read.experimentID == e.id && read.sourceRunID == run.info.runID && read.modelType == "pyfunc")
        #expect(read.status == .pending && read.params == ["lr": "0.001"] && read.tags == ["team": "radiology"] && read.lifecycle == .active)
        let unnamed = try await store.createLoggedModel(experimentID: e.id, name: nil, sourceRunID: nil, modelType: nil, params: [:], tags: [:])
        #expect(!unnamed.name.isEmpty && unnamed.sourceRunID == nil && unnamed.modelType == nil)

        for bad in ["a.b", "a/b", "x'y", ""] {
            await #expect(throws: StoreError.self, "\(bad)") {
                try await store.createLoggedModel(experimentID: e.id, name: bad, sourceRunID: nil, modelType: nil, params: [:], tags: [:])
            }
        }
        await #expect(throws: StoreError.self) { try await store.createLoggedModel(experimentID: e.id, name: nil, sourceRunID: "0123abcd", modelType: nil, params: [:], tags: [:]) }
        await #expect(throws: StoreError.self) { try await store.createLoggedModel(experimentID: "999", name: nil, sourceRunID: nil, modelType: nil, params: [:], tags: [:]) }
        await #expect(throws: StoreError.invalidParameter("invalid logged model id 'x; DROP TABLE logged_models': expected m-<hex>")) {
            try await store.loggedModel(id: "x; DROP TABLE logged_models", includeDeleted: false)
        }
        await #expect(throws: StoreError.notFound("Logged model with ID 'm-0000' not found.")) { try await store.loggedModel(id: "m-0000", includeDeleted: false) }

        let ready = try await store.finalizeLoggedModel(id: created.id, status: .ready, message: nil)
        #expect(ready.status == .ready && ready.lastUpdatedTime >= created.creationTime)
        #expect(try await store.loggedModel(id: created.id, includeDeleted: false).status == .ready)

        try await store.setLoggedModelTags(id: created.id, ["team": "imaging", "stage": "pilot"])
        try await store.deleteLoggedModelTag(id: created.id, key: "stage")
        #expect(try await store.loggedModel(id: created.id, includeDeleted: false).tags == ["team": "imaging"])
        await #expect(throws: StoreError.self) { try await store.deleteLoggedModelTag(id: created.id, key: "stage") }
        await #expect(throws: StoreError.self) { try await store.setLoggedModelTags(id: created.id, ["../x": "v"]) }

        try await store.logLoggedModelParams(id: created.id, ["lr": "0.001", "arch": "resnet18"])
        await #expect(throws: StoreError.self) { try await store.logLoggedModelParams(id: created.id, ["lr": "0.1"]) }
        #expect(try await store.loggedModel(id: created.id, includeDeleted: false).params == ["lr": "0.001", "arch": "resnet18"])

        try await store.deleteLoggedModel(id: created.id)
        await #expect(throws: StoreError.self) { try await store.loggedModel(id: created.id, includeDeleted: false) }
        #expect(try await store.loggedModel(id: created.id, includeDeleted: true).lifecycle == .deleted)
        #expect(try await store.searchLoggedModels(LoggedModelQuery(experimentIDs: [e.id])).models.map(\.id) == [unnamed.id])
        await #expect(throws: StoreError.self) { try await store.finalizeLoggedModel(id: created.id, status: .ready, message: nil) }

        try await store.setExperimentLifecycle(id: e.id, .deleted)
        await #expect(throws: StoreError.self) { try await store.createLoggedModel(experimentID: e.id, name: nil, sourceRunID: nil, modelType: nil, params: [:], tags: [:]) }
    }

    @Test(arguments: Backend.available)
    func metricsLinkedToAModelJoinTheRunOnceAndTheModel(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        let run = try await store.createRun(experimentID: "0", name: nil, startTime: nil, tags: [:], parentRunID: nil)
        let id = run.info.runID
        let model = try await store.createLoggedModel(experimentID: "0", name: "m", sourceRunID: id, modelType: nil, params: [:], tags: [:])
        try await store.logMetric(runID: id, key: "acc", value: 0.5, step: 1, timestamp: 100)
        // mlflow's log_model re-logs the run's values with the model's id: the run's history must not grow.
        try await store.logBatch(runID: id, metrics: [], params: [], tags: [], modelMetrics: [
            LoggedModelMetric(modelID: model.id, metric: Metric(key: "acc", value: 0.5, timestamp: 100, step: 1)),
            LoggedModelMetric(modelID: model.id, metric: Metric(key: "loss", value: 0.25, timestamp: 200, step: 2), datasetName: "val", datasetDigest: "abc"),
        ])
        #expect(try await store.metricHistory(runID: id, key: "acc").count == 1)
        #expect(try await store.metricHistory(runID: id, key: "loss") == [Metric(key: "loss", value: 0.25, timestamp: 200, step: 2)])
        let linked = try await store.loggedModel(id: model.id, includeDeleted: false).metrics
        #expect(linked.map(\.metric.key) == ["acc", "loss"] && linked.allSatisfy { $0.runID == id && $0.modelID == model.id })
        #expect(linked[1].datasetName == "val" && linked[1].datasetDigest == "abc" && linked[1].metric.value == 0.25)

        // One transaction: an unknown model refuses the whole batch.
        await #expect(throws: StoreError.notFound("Logged model with ID 'm-ffff' not found.")) {
            try await store.logBatch(runID: id, metrics: [Metric(key: "other", value: 1)], params: [Param(key: "p", value: "v")], tags: [],
                                     modelMetrics: [LoggedModelMetric(modelID: "m-ffff", metric: Metric(key: "acc", value: 0.9))])
        }
        let after = try await store.run(id: id)
        #expect(after.metrics["other"] == nil && after.params["p"] == nil)
        #expect(try await store.loggedModel(id: model.id, includeDeleted: false).metrics.count == 2)

        try await store.linkModels(runID: id, [RunModelLink(modelID: model.id, direction: .output, step: 3)])
        try await store.linkModels(runID: id, [RunModelLink(modelID: model.id, direction: .input)])
        let links = try await store.modelLinks(runIDs: [id, "nobody"])
        #expect(links[id]?.count == 2 && links[id]?.contains(RunModelLink(modelID: model.id, direction: .output, step: 3)) == true && links["nobody"] == nil)
        await #expect(throws: StoreError.self) { try await store.linkModels(runID: id, [RunModelLink(modelID: "m-abcd", direction: .output)]) }
        try await store.setRunLifecycle(id: id, .deleted)
        await #expect(throws: StoreError.self) {
            try await store.logBatch(runID: id, metrics: [], params: [], tags: [], modelMetrics: [LoggedModelMetric(modelID: model.id, metric: Metric(key: "acc", value: 1))])
        }
    }

    @Test(arguments: Backend.available)
    func searchFiltersOrdersAndPages(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        let e = try await store.createExperiment(name: "search", artifactLocation: nil, tags: [:])
        let other = try await store.createExperiment(name: "elsewhere", artifactLocation: nil, tags: [:])
        let run = try await store.createRun(experimentID: e.id, name: nil, startTime: nil, tags: [:], parentRunID: nil)
        var ids: [String: String] = [:]
        for (name, arch, auc, team) in [("alpha", "resnet18", 0.91, "radiology"), ("beta", "vgg11", 0.75, "Radiology"), ("gamma", "resnet18", Double?.none, "icu")] as [(String, String, Double?, String)] {
            let m = try await store.createLoggedModel(experimentID: e.id, name: name, sourceRunID: run.info.runID, modelType: "pyfunc", params: ["arch": arch], tags: ["team": team])
            ids[name] = m.id
            if let auc {
                // An older value on another dataset (1 - auc) must not count: the latest step does, unless scoped to "train".
                try await store.logBatch(runID: run.info.runID, metrics: [], params: [], tags: [], modelMetrics: [
                    LoggedModelMetric(modelID: m.id, metric: Metric(key: "auc", value: 1 - auc, timestamp: 1, step: 0), datasetName: "train"),
                    LoggedModelMetric(modelID: m.id, metric: Metric(key: "auc", value: auc, timestamp: 2, step: 1), datasetName: "val"),
                ])
            }
        }
        _ = try await store.finalizeLoggedModel(id: ids["alpha"]!, status: .ready, message: nil)
        _ = try await store.createLoggedModel(experimentID: other.id, name: "alpha", sourceRunID: nil, modelType: nil, params: ["arch": "resnet18"], tags: [:])

        func names(_ filter: String, order: [LoggedModelQuery.Order] = [], datasets: [LoggedModelQuery.Dataset] = []) async throws -> [String] {
            try await store.searchLoggedModels(LoggedModelQuery(experimentIDs: [e.id], filter: filter, orderBy: order, datasets: datasets)).models.map(\.name)
        }
        #expect(try await names("").sorted() == ["alpha", "beta", "gamma"])
        #expect(try await names("metrics.auc > 0.8") == ["alpha"])
        #expect(try await names("metrics.auc >= 0.95") == [])
        #expect(try await names("params.arch = 'resnet18'").sorted() == ["alpha", "gamma"])
        #expect(try await names("params.arch = 'resnet18' AND metrics.auc < 0.95") == ["alpha"])
        #expect(try await names("tags.team LIKE 'rad%'") == ["alpha"])
        #expect(try await names("tags.team ILIKE 'rad%'").sorted() == ["alpha", "beta"])
        #expect(try await names("status = 'READY'") == ["alpha"])
        #expect(try await names("status != 'READY'").sorted() == ["beta", "gamma"])
        #expect(try await names("name IN ('beta', 'gamma')").sorted() == ["beta", "gamma"])
        #expect(try await names("attributes.name NOT IN ('beta', 'gamma')") == ["alpha"])
        #expect(try await names("model_id = '\(ids["beta"]!)'") == ["beta"])
        #expect(try await names("creation_timestamp > 0 and source_run_id = '\(run.info.runID)'").count == 3)
        #expect(try await names("metrics.auc < 0.2") == [])
        #expect(try await names("metrics.auc < 0.2", datasets: [LoggedModelQuery.Dataset(name: "train")]) == ["alpha"])
        #expect(try await names("metrics.auc < 0.2", datasets: [LoggedModelQuery.Dataset(name: "train", digest: "nope")]) == [])
        #expect(try await names("", datasets: [LoggedModelQuery.Dataset(name: "val")]).sorted() == ["alpha", "beta"])

        #expect(try await names("", order: [.init(field: "metrics.auc", ascending: false)]) == ["alpha", "beta", "gamma"])
        #expect(try await names("", order: [.init(field: "metrics.auc", ascending: true)]) == ["beta", "alpha", "gamma"])
        #expect(try await names("", order: [.init(field: "name", ascending: false)]) == ["gamma", "beta", "alpha"])
        #expect(try await names("", order: [.init(field: "metrics.auc", ascending: false, datasetName: "train")]) == ["beta", "alpha", "gamma"])

        let first = try await store.searchLoggedModels(LoggedModelQuery(experimentIDs: [e.id], orderBy: [.init(field: "name")], maxResults: 2))
        #expect(first.models.map(\.name) == ["alpha", "beta"] && first.nextPageToken != nil)
        let second = try await store.searchLoggedModels(LoggedModelQuery(experimentIDs: [e.id], orderBy: [.init(field: "name")], maxResults: 2, pageToken: first.nextPageToken))
        #expect(second.models.map(\.name) == ["gamma"] && second.nextPageToken == nil)
        #expect(try await store.searchLoggedModels(LoggedModelQuery(experimentIDs: [e.id, other.id], filter: "name = 'alpha'")).models.count == 2)
        #expect(try await store.searchLoggedModels(LoggedModelQuery(experimentIDs: [])).models.isEmpty)

        for bad in ["metrics.auc > 'x'", "params.arch > 1", "status = 'DONE'", "nonsense = 'x'", "foo.bar = 'x'", "name = 'a' OR name = 'b'", "name LIKE", "metrics.auc IN ('1')"] {
            await #expect(throws: StoreError.self, "\(bad)") { try await names(bad) }
        }
        await #expect(throws: StoreError.self) { try await names("", order: [.init(field: "params.arch")]) }
        await #expect(throws: StoreError.self) { try await names("", order: [.init(field: "bogus")]) }
        await #expect(throws: StoreError.self) { try await store.searchLoggedModels(LoggedModelQuery(experimentIDs: [e.id], pageToken: "%%")) }
        await #expect(throws: StoreError.self) { try await store.searchLoggedModels(LoggedModelQuery(experimentIDs: [e.id], maxResults: 0)) }
    }

    /// What `lumen train` registration calls: a READY model of the run, its files indexed (not copied) under the
    /// model's artifact folder, the run's params and latest metrics linked, the run's output, the registry version listed.
    @Test(arguments: Backend.available)
    func recordTrainedModelLinksRunArtifactsParamsAndMetrics(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        let e = try await store.createExperiment(name: "train", artifactLocation: nil, tags: [:])
        let run = try await store.createRun(experimentID: e.id, name: nil, startTime: nil, tags: [:], parentRunID: nil)
        let id = run.info.runID
        let params = (0..<150).map { Param(key: "p\($0)", value: "v\($0)") }
        try await store.logBatch(runID: id, metrics: [], params: Array(params[..<100]), tags: [])
        try await store.logBatch(runID: id, metrics: [], params: Array(params[100...]), tags: [])
        try await store.logBatch(runID: id, metrics: [Metric(key: "val_auc", value: 0.8, timestamp: 10, step: 0), Metric(key: "val_auc", value: 0.9, timestamp: 20, step: 1),
                                                      Metric(key: "val_loss", value: 0.3, timestamp: 20, step: 1)], params: [], tags: [])
        let root = "\(e.id)/\(id)/artifacts"
        let weights = String(repeating: "a", count: 64), report = String(repeating: "b", count: 64), nested = String(repeating: "c", count: 64)
        try await store.recordArtifact(path: "\(root)/checkpoints/best.safetensors", sha256: weights, size: 1234)
        try await store.recordArtifact(path: "\(root)/checkpoints/last.safetensors", sha256: nested, size: 1)
        try await store.recordArtifact(path: "\(root)/evaluation/report.json", sha256: report, size: 56)
        try await store.recordArtifact(path: "\(root)/evaluation/gradcam/0.png", sha256: nested, size: 78)

        let model = try await store.recordTrainedModel(runID: id, name: "cxr.classifier", artifactPaths: ["checkpoints/best.safetensors", "evaluation"],
                                                       tags: ["task": "classification"], registeredVersion: ("cxr.classifier", 3))
        #expect(model.status == .ready && model.name == "cxr-classifier" && model.sourceRunID == id && model.modelType == "lumen")
        #expect(try await store.loggedModel(id: model.id, includeDeleted: false) == model)
        #expect(model.params.count == 150 && model.params["p149"] == "v149")
        #expect(Set(model.metrics.map { "\($0.metric.key)=\($0.metric.value)@\($0.metric.step)" }) == ["val_auc=0.9@1", "val_loss=0.3@1"])
        #expect(model.tags["task"] == "classification")
        let versions = try JSONSerialization.jsonObject(with: Data(model.tags["mlflow.modelVersions"]!.utf8)) as? [[String: String]]
        #expect(versions == [["name": "cxr.classifier", "version": "3"]])

        let modelRoot = "\(e.id)/models/\(model.id)/artifacts"
        #expect(try await store.artifact(path: "\(modelRoot)/checkpoints/best.safetensors")?.sha256 == weights)
        #expect(try await store.artifact(path: "\(modelRoot)/checkpoints/last.safetensors") == nil)
        #expect(try await store.artifact(path: "\(modelRoot)/evaluation/report.json")?.size == 56)
        #expect(try await store.artifact(path: "\(modelRoot)/evaluation/gradcam/0.png")?.sha256 == nested)
        #expect(try await store.listArtifacts(directory: modelRoot).map(\.path) == ["\(modelRoot)/checkpoints", "\(modelRoot)/evaluation"])

        #expect(try await store.modelLinks(runIDs: [id])[id] == [RunModelLink(modelID: model.id, direction: .output)])
        #expect(try await store.metricHistory(runID: id, key: "val_auc").count == 2)
        let found = try await store.searchLoggedModels(LoggedModelQuery(experimentIDs: [e.id], filter: "metrics.val_auc > 0.85 AND status = 'READY'"))
        #expect(found.models.map(\.id) == [model.id])

        await #expect(throws: StoreError.notFound("run \(id) has no artifact 'missing.bin'")) {
            try await store.recordTrainedModel(runID: id, name: "x", artifactPaths: ["missing.bin"])
        }
        await #expect(throws: StoreError.self) { try await store.recordTrainedModel(runID: id, name: "x", artifactPaths: ["../../etc"]) }
        #expect(try await store.searchLoggedModels(LoggedModelQuery(experimentIDs: [e.id])).models.count == 1, "a refused call creates no model")
    }
}
