import Foundation
import Testing
import LumenStore
import LumenWorkspace

/// Runs the built `lumen` binary (next to the test bundle) and returns its exit status and output.
func lumen(_ arguments: [String], in directory: URL? = nil, environment extra: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lumen")
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    process.environment = cleanEnvironment().merging(extra) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The test process's environment without the variables that would point `lumen` at another workspace or store.
func cleanEnvironment() -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "LUMEN_HOME")
    environment.removeValue(forKey: "LUMEN_STORE")
    return environment
}

func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-e2e-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct WorkspaceAndRunsCLITests {
    @Test func initLogSearchShowCompare() async throws {
        let dir = try temporaryFolder()
        let created = try lumen(["init", dir.path])
        #expect(created.status == 0, "\(created.output)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(".lumen/config.yaml").path))
        let example = try String(contentsOf: dir.appendingPathComponent("experiment.yaml"), encoding: .utf8)
        #expect(example.contains("# Lumen experiment config") && example.contains("dataset:"), "a commented example config to start from")
        #expect(try lumen(["init", dir.path]).status != 0)  // never overwrites a workspace

        // Log two runs through the library, as the trainer will.
        let store = try await Workspace.find(explicit: dir.path).openStore()
        let e = try await store.createExperiment(name: "cxr", artifactLocation: nil, tags: [:])
        var ids: [String] = []
        for (name, model, auc) in [("baseline", "simple-cnn", 0.71), ("resnet", "resnet18", 0.93)] {
            let run = try await store.createRun(experimentID: e.id, name: name, startTime: nil, tags: [:], parentRunID: nil)
            let history = (0..<10).map { Metric(key: "val_auc", value: auc * Double($0 + 1) / 10, timestamp: Int64($0), step: Int64($0)) }
            try await store.logBatch(runID: run.info.runID, metrics: history, params: [Param(key: "model", value: model), Param(key: "lr", value: "0.001")], tags: [])
            try await store.finishRun(id: run.info.runID)
            if name == "resnet" {
                // Only this one logs a model (as the mlflow client would, under `model/`).
                let ws = try Workspace.find(explicit: dir.path)
                let (sha, size) = try ArtifactStore(root: ws.artifactRoot).put(Data("weights".utf8))
                try await store.recordArtifact(path: "\(e.id)/\(run.info.runID)/artifacts/model/model.safetensors", sha256: sha, size: size)
            }
            ids.append(run.info.runID)
        }
        try await store.close()

        let listed = try lumen(["runs", "list", "--experiment", "cxr", "--filter", "metrics.val_auc > 0.9"], in: dir)
        #expect(listed.status == 0, "\(listed.output)")
        #expect(listed.output.contains("resnet") && !listed.output.contains("baseline"))
        #expect(listed.output.contains("0.9300"))
        // Default columns: the metric users rank by and the model, whatever else was logged.
        #expect(listed.output.contains("val_auc") && listed.output.contains("model") && listed.output.contains("resnet18"), "\(listed.output)")
        let chosen = try lumen(["runs", "list", "--columns", "params.lr", "--experiment", "cxr"], in: dir)
        #expect(chosen.output.contains("params.lr") && chosen.output.contains("0.001") && !chosen.output.contains("val_auc"), "\(chosen.output)")
        // A filter on a key no run has says so instead of printing an empty table.
        let typo = try lumen(["runs", "list", "--filter", "metrics.val_acu > 0.5"], in: dir)
        #expect(typo.status == 0 && typo.output.contains("no run has metrics.val_acu") && typo.output.contains("val_auc"), "\(typo.output)")

        let shown = try lumen(["runs", "show", String(ids[1].prefix(8))], in: dir)
        #expect(shown.status == 0 && shown.output.contains("resnet18") && shown.output.contains("▁"), "\(shown.output)")

        let compared = try lumen(["runs", "compare", ids[0], ids[1]], in: dir)
        #expect(compared.output.contains("params.model") && !compared.output.contains("params.lr"), "\(compared.output)")

        let json = try lumen(["runs", "list", "--json", "--order-by", "metrics.val_auc DESC"], in: dir)
        let decoded = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]]
        #expect(decoded?.count == 2)
        #expect(((decoded?.first?["info"] as? [String: Any])?["name"] as? String) == "resnet")

        let bad = try lumen(["runs", "list", "--filter", "metrics.val_auc > 'high'"], in: dir)
        #expect(bad.status != 0 && bad.output.contains("must be compared with a number"), "\(bad.output)")
        let missing = try lumen(["runs", "show", "ffffffff"], in: dir)
        #expect(missing.status != 0 && missing.output.contains("no run with id"))

        func listedCount() throws -> Int? {
            (try JSONSerialization.jsonObject(with: Data(lumen(["runs", "list", "--json"], in: dir).output.utf8)) as? [Any])?.count
        }
        #expect(try lumen(["runs", "delete", ids[0]], in: dir).status == 0)
        #expect(try listedCount() == 1)
        #expect(try lumen(["runs", "restore", ids[0]], in: dir).status == 0)
        #expect(try listedCount() == 2)

        // Registry: register the best run, alias it, promote it, read its lineage.
        let registered = try lumen(["models", "register", String(ids[1].prefix(8)), "cxr", "--alias", "champion"], in: dir)
        #expect(registered.status == 0 && registered.output.contains("version 1"), "\(registered.output)")
        // A run with no model is refused: a version that nothing can load is never created.
        let empty = try lumen(["models", "register", ids[0], "cxr"], in: dir)
        #expect(empty.status != 0 && empty.output.contains("no artifact at 'model'"), "\(empty.output)")
        #expect(try lumen(["models", "register", ids[1], "cxr"], in: dir).output.contains("version 2"))
        let models = try lumen(["models"], in: dir)
        #expect(models.output.contains("cxr") && models.output.contains("champion→1"), "\(models.output)")
        let promoted = try lumen(["models", "promote", "cxr@champion", "production"], in: dir)
        #expect(promoted.status == 0 && promoted.output.contains("cxr@production → version 1"), "\(promoted.output)")
        let shown2 = try lumen(["models", "show", "cxr@production"], in: dir)
        #expect(shown2.output.contains("runs:/\(ids[1])/model") && shown2.output.contains("resnet"), "\(shown2.output)")
        #expect(try lumen(["models", "show", "cxr"], in: dir).output.contains("champion production"))
        let badAlias = try lumen(["models", "alias", "cxr", "v2", "1"], in: dir)
        #expect(badAlias.status != 0 && badAlias.output.contains("reserved"), "\(badAlias.output)")
        #expect(try lumen(["models", "show", "nope@x"], in: dir).status != 0)
        // The effects, read back from the store: aliases where the commands put them, the reserved one refused.
        let check = try await Workspace.find(explicit: dir.path).openStore()
        #expect(try await check.modelVersion(name: "cxr", alias: "champion").version == 1)
        #expect(try await check.modelVersion(name: "cxr", alias: "production").version == 1)
        await #expect(throws: StoreError.self) { try await check.modelVersion(name: "cxr", alias: "v2") }
        #expect(try await check.modelVersions(name: "cxr", runID: nil).map(\.version).sorted() == [1, 2])
        try await check.close()
    }

    @Test func missingWorkspaceAndBadConfigAreClearErrors() throws {
        let dir = try temporaryFolder()
        let none = try lumen(["runs", "list"], in: dir)
        #expect(none.status != 0 && none.output.contains("lumen init"), "\(none.output)")
        #expect(try lumen(["init", dir.path]).status == 0)
        try "store: sqlite:.lumen/lumen.db\nartifcats: /tmp/x\n".write(to: dir.appendingPathComponent(".lumen/config.yaml"), atomically: true, encoding: .utf8)
        let typo = try lumen(["experiments", "list"], in: dir)
        #expect(typo.status != 0 && typo.output.contains("unknown key 'artifcats'") && typo.output.contains("line 2"), "\(typo.output)")
    }
}

@Suite struct ZooCLITests {
    @Test func initThenCheckACheckpoint() throws {
        let dir = try temporaryFolder()
        let file = dir.appendingPathComponent("w.safetensors").path
        let written = try lumen(["zoo", "init", "simple-cnn", "--in-channels", "3", "--num-classes", "4", "--out", file])
        #expect(written.status == 0, "\(written.output)")
        let checked = try lumen(["zoo", "check", "simple-cnn", file, "--in-channels", "3", "--num-classes", "4"])
        #expect(checked.status == 0 && checked.output.contains("all keys matched"), "\(checked.output)")
        let wrong = try lumen(["zoo", "check", "resnet18", file, "--in-channels", "3", "--num-classes", "4"])
        #expect(wrong.status != 0 && wrong.output.contains("missing keys"), "\(wrong.output)")
        try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: file))
        let corrupt = try lumen(["zoo", "check", "simple-cnn", file])
        #expect(corrupt.status != 0 && corrupt.output.contains(file), "\(corrupt.output)")
        #expect(try lumen(["zoo", "list"]).output.contains("resnet50"))
        #expect(try lumen(["doctor", "--device", "cuda:7"]).status != 0)
    }

    @Test func doctorChecksTrainingAndPackedInference() throws {
        let doctor = try lumen(["doctor", "--device", "cpu"], environment: ["LUMEN_WINOGRAD": "1"])
        #expect(doctor.status == 0, "\(doctor.output)")
        #expect(doctor.output.contains("inference: oneDNN packed convolutions, 3×3 layers as Winograd"), "\(doctor.output)")
        let direct = try lumen(["doctor", "--device", "cpu"], environment: ["LUMEN_WINOGRAD": "0"])
        #expect(direct.status == 0 && direct.output.contains("3×3 layers direct (LUMEN_WINOGRAD=0)"), "\(direct.output)")
    }
}
