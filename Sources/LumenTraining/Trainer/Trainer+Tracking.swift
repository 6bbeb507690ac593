import Foundation
import LumenData
import LumenStore
import LumenTensor
import LumenWorkspace

extension Trainer {
    /// The run this training logs to: a new one under the config's experiment (tagged with dataset, model,
    /// libtorch, threads, CPU, classes, task and git commit), or the resumed one marked RUNNING again.
    func openRun(_ data: TrainingData) async throws -> (experimentID: String, runID: String) {
        if let resume {
            let info = try await store.updateRun(id: resume, status: .running, endTime: nil, name: nil)
            return (info.experimentID, resume)
        }
        let experiment = try await store.experimentCreatingIfNeeded(named: config.experiment)
        var tags = ["lumen.dataset": data.version.reference, "lumen.model": config.model.rawValue, "lumen.libtorch": Runtime.libtorchVersion,
                    "lumen.threads": String(Runtime.threads), "lumen.cpu": cpuModel(), "mlflow.source.type": "LOCAL",
                    "lumen.classes": Self.encodeClasses(data.classes), "lumen.task": data.task.rawValue]
        if let commit = gitCommit() { tags["mlflow.source.git.commit"] = commit }
        if let parentRunID { tags["mlflow.parentRunId"] = parentRunID }
        let runID = try await store.createRun(experimentID: experiment.id, name: config.runName, startTime: nil, tags: tags, parentRunID: parentRunID).info.runID
        return (experiment.id, runID)
    }

    /// Logs what a new run is made from: every resolved config key as a parameter, the dataset version as
    /// lineage, and the config record as `lumen/config.json` (for `--resume` and registration).
    func logInputs(runID: String, artifactPrefix: String, data: TrainingData, artifacts: ArtifactStore) async throws {
        let params = config.tree.effectiveValues().map { Param(key: $0.0, value: String($0.1.prefix(6000))) }
        for chunk in stride(from: 0, to: params.count, by: 100) {
            try await store.logBatch(runID: runID, metrics: [], params: Array(params[chunk..<min(chunk + 100, params.count)]), tags: [])
        }
        try await store.linkDatasets(runID: runID, [DatasetUse(dataset: data.version.name, version: data.version.id, context: "training")])
        try await recordData(try JSONEncoder().encode(config.record), as: "\(artifactPrefix)/\(TrainingResult.configArtifactPath)", artifacts)
    }

    /// Classes as a JSON list (names may hold commas or quotes).
    static func encodeClasses(_ classes: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(classes)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// Classes from a run tag: a JSON list, or the comma-joined text of runs before lists.
    public static func decodeClasses(_ tag: String) -> [String] {
        if tag.hasPrefix("["), let list = try? JSONDecoder().decode([String].self, from: Data(tag.utf8)) { return list }
        return tag.split(separator: ",").map(String.init)
    }

    func record(_ file: URL, as path: String, _ artifacts: ArtifactStore) async throws {
        try await recordData(try Data(contentsOf: file), as: path, artifacts)
    }

    @discardableResult
    func recordData(_ data: Data, as path: String, _ artifacts: ArtifactStore) async throws -> String {
        let (sha, size) = try artifacts.put(data)
        try await store.recordArtifact(path: path, sha256: sha, size: size)
        return sha
    }

    func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        return text.split(separator: "\n").first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }

    func gitCommit() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["rev-parse", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && out.count == 40 ? out : nil
    }
}
