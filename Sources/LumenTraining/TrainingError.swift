/// Why a configuration, a training run or an evaluation failed, naming the key, file or run.
public enum TrainingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A configuration problem at `path` (`trainer.epochs`), with the reason.
    case config(path: String, reason: String)
    case data(String)
    case training(String)
    /// The run was stopped (Ctrl-C): its checkpoint is saved and it is marked KILLED.
    case interrupted(runID: String, epoch: Int, batch: Int)

    public var description: String {
        switch self {
        case .config(let path, let reason): return path.isEmpty ? "config: \(reason)" : "config key '\(path)': \(reason)"
        case .data(let reason): return reason
        case .training(let reason): return reason
        case .interrupted(let runID, let epoch, let batch):
            return "interrupted in epoch \(epoch + 1) after batch \(batch); run \(runID) is marked KILLED and its checkpoint is saved: continue with `lumen train --resume \(runID)`"
        }
    }
}
