/// Why a configuration, a training run or an evaluation failed, naming the key, file or run.
public enum TrainingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A configuration problem at `path` (`trainer.epochs`), with the reason.
    case config(path: String, reason: String)
    case data(String)
    case training(String)

    public var description: String {
        switch self {
        case .config(let path, let reason): return path.isEmpty ? "config: \(reason)" : "config key '\(path)': \(reason)"
        case .data(let reason): return reason
        case .training(let reason): return reason
        }
    }
}
