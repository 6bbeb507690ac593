import Foundation

/// Why a model cannot be loaded or asked: each case names the model, file or field and what to do.
public enum InferenceError: Error, CustomStringConvertible, Sendable {
    /// The version has no `ModelSpec` (registered before specs existed, or by another client).
    case noSpec(model: String, reason: String)
    /// The spec is not one this build reads.
    case invalidSpec(model: String, reason: String)
    /// The checkpoint is missing, altered or does not fit the architecture.
    case checkpoint(model: String, reason: String)
    /// An input the model cannot take.
    case input(String)
    /// A capability the model does not have (Grad-CAM of a U-Net, say).
    case unsupported(String)

    public var description: String {
        switch self {
        case let .noSpec(model, reason): return "\(model): \(reason)"
        case let .invalidSpec(model, reason): return "\(model): invalid model spec: \(reason)"
        case let .checkpoint(model, reason): return "\(model): checkpoint: \(reason)"
        case let .input(reason): return reason
        case let .unsupported(reason): return reason
        }
    }
}
