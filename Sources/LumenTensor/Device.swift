import CTorch

/// Where a tensor's memory lives. CUDA is available only when the linked libtorch was built with it.
public enum Device: Sendable, Equatable, Hashable, CustomStringConvertible {
    case cpu
    case cuda(Int)

    /// CUDA device 0 when the linked libtorch sees a GPU, otherwise the CPU: the sane default for training.
    public static var best: Device { Runtime.cudaAvailable ? .cuda(0) : .cpu }

    public var description: String {
        switch self {
        case .cpu: return "cpu"
        case let .cuda(index): return "cuda:\(index)"
        }
    }

    /// Parses `cpu`, `cuda`, `cuda:1` and `auto` (the best available).
    public init(parsing text: String) throws(LumenError) {
        switch text.lowercased() {
        case "cpu": self = .cpu
        case "auto": self = .best
        case "cuda", "gpu": self = .cuda(0)
        default:
            let parts = text.lowercased().split(separator: ":")
            guard parts.count == 2, parts[0] == "cuda", let index = Int(parts[1]), index >= 0 else {
                throw .invalidArgument(field: "device", reason: "'\(text)' is not cpu, cuda, cuda:N or auto")
            }
            self = .cuda(index)
        }
    }

    var bridgeType: Int32 {
        switch self {
        case .cpu: return Int32(LM_CPU)
        case .cuda: return Int32(LM_CUDA)
        }
    }

    var bridgeIndex: Int32 {
        switch self {
        case .cpu: return 0
        case let .cuda(index): return Int32(index)
        }
    }
}
