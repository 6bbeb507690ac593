import Foundation
import LumenNN
import LumenTensor
import LumenWorkspace

/// Where a stopped run is, written after every epoch and when the run is interrupted: enough to
/// continue exactly (the loader's batches depend on seed, epoch and position only).
struct TrainingState: Codable {
    /// The epoch in progress, and how many of its batches are trained.
    var epoch = 0, batch = 0
    var globalStep: Int64 = 0
    var schedulerSteps = 0
    var bestValue: Double?
    /// The validation loss of the best epoch, which breaks ties on the watched metric.
    var bestLoss: Double?
    var bestEpoch: Int?
    var bestMetrics: [String: Double] = [:]
    var lastMetrics: [String: Double] = [:]
    var sinceBest = 0
    var epochsRun = 0
    /// The running sums of the epoch in progress.
    var sum = 0.0, seen = 0, correct = 0
    /// What `correct` counts out of: images (classification) or pixels (segmentation).
    var counted = 0
    var epochSeconds = 0.0
    /// libtorch's CPU generator (dropout masks) at the save.
    var rng: [UInt8]?
}

/// A run's resumable files until it finishes: `current/` (model, optimizer, position) swapped in whole
/// after each save, and `best.safetensors`.
struct CheckpointFolder {
    let url: URL

    /// Saves model, optimizer and position together (written to a new folder, then swapped in).
    func save(model: any Module, optimizer: Optimizer, state: inout TrainingState, classes: [String]) throws {
        let next = url.appendingPathComponent("next")
        let current = url.appendingPathComponent("current")
        try? FileManager.default.removeItem(at: next)
        try FileManager.default.createDirectory(at: next, withIntermediateDirectories: true)
        try model.save(to: next.appendingPathComponent("model.safetensors"), metadata: ["epoch": String(state.epoch), "classes": classes.joined(separator: ",")])
        try optimizer.save(to: next.appendingPathComponent("optimizer.pt"))
        state.rng = Runtime.rngState()
        try JSONEncoder().encode(state).write(to: next.appendingPathComponent("state.json"))
        let old = url.appendingPathComponent("old")
        try? FileManager.default.removeItem(at: old)
        if FileManager.default.fileExists(atPath: current.path) { try FileManager.default.moveItem(at: current, to: old) }
        try FileManager.default.moveItem(at: next, to: current)
        try? FileManager.default.removeItem(at: old)
    }

    var best: URL { url.appendingPathComponent("best.safetensors") }
    var currentModel: URL { url.appendingPathComponent("current/model.safetensors") }

    /// Writes the best model so far (renamed into place: a crash never leaves half a file).
    func saveBest(_ model: any Module, epoch: Int, classes: [String]) throws {
        let tmp = url.appendingPathComponent("best.tmp")
        try model.save(to: tmp, metadata: ["epoch": String(epoch), "classes": classes.joined(separator: ",")])
        guard rename(tmp.path, best.path) == 0 else {
            throw TrainingError.training("cannot write the best checkpoint in \(url.path): \(String(cString: strerror(errno)))")
        }
    }

    /// The saved state, if any (`current`, or `old` when a save was cut short between its two renames).
    var saved: URL? {
        for name in ["current", "old"] {
            let candidate = url.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("state.json").path) { return candidate }
        }
        return nil
    }
}

extension Trainer {
    /// The folder holding a run's resumable state (last model, optimizer, position, best model) until it finishes.
    public static func checkpointFolder(_ workspace: Workspace, runID: String) -> URL {
        workspace.folder.appendingPathComponent("checkpoints").appendingPathComponent(runID)
    }

    /// The saved state of a run, if it has one.
    static func savedState(_ workspace: Workspace, runID: String) -> URL? {
        CheckpointFolder(url: checkpointFolder(workspace, runID: runID)).saved
    }
}
