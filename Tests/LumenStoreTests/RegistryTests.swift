import Foundation
import Testing
@testable import LumenStore

@Suite struct RegistryTests {
    @Test(arguments: Backend.available)
    func versionsAliasesAndLineage(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        let run = try await store.createRun(experimentID: "0", name: "train", startTime: nil, tags: [:], parentRunID: nil)
        try await store.linkDatasets(runID: run.info.runID, [DatasetUse(dataset: "elpv", version: "a1b2c3"), DatasetUse(dataset: "elpv", version: "d4e5f6", context: "evaluation")])

        let model = try await store.createRegisteredModel(name: "cxr-classifier", description: "pneumonia", tags: ["owner": "radiology"])
        #expect(model.latestVersion == nil && model.tags["owner"] == "radiology")
        await #expect(throws: StoreError.self) { try await store.createRegisteredModel(name: "cxr-classifier", description: "", tags: [:]) }
        await #expect(throws: StoreError.self) { try await store.createRegisteredModel(name: "bad/name", description: "", tags: [:]) }

        let v1 = try await store.createModelVersion(name: "cxr-classifier", source: "runs:/\(run.info.runID)/model", runID: run.info.runID,
                                                    description: "first", tags: ["val_auc": "0.91"], signature: #"{"inputs":[1,224,224]}"#,
                                                    preprocessing: #"{"size":224,"window":"lung"}"#)
        let v2 = try await store.createModelVersion(name: "cxr-classifier", source: "runs:/\(run.info.runID)/model", runID: run.info.runID,
                                                    description: "", tags: [:], signature: nil, preprocessing: nil)
        #expect(v1.version == 1 && v2.version == 2 && v1.status == "READY" && v1.preprocessing?.contains("lung") == true)
        #expect(try await store.registeredModel(name: "cxr-classifier").latestVersion == 2)

        try await store.setAlias(name: "cxr-classifier", alias: "champion", version: 1)
        #expect(try await store.modelVersion(name: "cxr-classifier", alias: "champion").version == 1)
        try await store.setAlias(name: "cxr-classifier", alias: "champion", version: 2)  // moves
        #expect(try await store.modelVersion(name: "cxr-classifier", alias: "champion").version == 2)
        #expect(try await store.registeredModel(name: "cxr-classifier").aliases == ["champion": 2])
        #expect(try await store.modelVersion(name: "cxr-classifier", version: 2).aliases == ["champion"])
        await #expect(throws: StoreError.self) { try await store.setAlias(name: "cxr-classifier", alias: "v3", version: 1) }
        await #expect(throws: StoreError.self) { try await store.setAlias(name: "cxr-classifier", alias: "prod", version: 9) }
        try await store.deleteAlias(name: "cxr-classifier", alias: "champion")
        await #expect(throws: StoreError.self) { try await store.modelVersion(name: "cxr-classifier", alias: "champion") }

        let lineage = try await store.lineage(name: "cxr-classifier", version: 1)
        #expect(lineage.run?.info.runID == run.info.runID)
        #expect(lineage.datasets.map(\.version) == ["a1b2c3", "d4e5f6"])
        #expect(try await store.modelVersions(usingDataset: "elpv", version: "a1b2c3").map(\.version) == [2, 1])
        #expect(try await store.modelVersions(usingDataset: "elpv", version: "zzz").isEmpty)

        _ = try await store.updateModelVersion(name: "cxr-classifier", version: 1, description: "archived", stage: "Archived")
        await #expect(throws: StoreError.self) { try await store.updateModelVersion(name: "cxr-classifier", version: 1, description: nil, stage: "Gold") }
        let renamed = try await store.updateRegisteredModel(name: "cxr-classifier", description: "renamed", newName: "cxr")
        #expect(renamed.name == "cxr" && renamed.latestVersion == 2)
        #expect(try await store.modelVersion(name: "cxr", version: 1).tags == ["val_auc": "0.91"])
        try await store.deleteModelVersion(name: "cxr", version: 2)
        #expect(try await store.modelVersions(name: "cxr", runID: nil).map(\.version) == [1])
        // A deleted version's number is not given again (logs and feedback keyed by it keep meaning that model).
        let next = try await store.createModelVersion(name: "cxr", source: "s", runID: nil, description: "", tags: [:], signature: nil, preprocessing: nil, spec: nil)
        #expect(next.version == 3)
        #expect(try await store.registeredModel(name: "cxr").latestVersion == 3)
        try await store.deleteRegisteredModel(name: "cxr")
        await #expect(throws: StoreError.self) { try await store.registeredModel(name: "cxr") }
    }

    @Test(arguments: Backend.available)
    func concurrentRegistrationsGetDistinctNumbers(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { Task { try? await store.close() } }
        _ = try await store.createRegisteredModel(name: "m", description: "", tags: [:])
        let versions = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<20 {
                group.addTask { try await store.createModelVersion(name: "m", source: "s3://x", runID: nil, description: "", tags: [:], signature: nil, preprocessing: nil).version }
            }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(versions.sorted() == Array(1...20))
    }
}
