/// Why a dataset operation failed; each case says which dataset, file or field and why.
public enum DataError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(String)
    case invalidArgument(String)
    case invalidSource(path: String, reason: String)
    case io(path: String, reason: String)
    case leakage(String)

    public var description: String {
        switch self {
        case .notFound(let what): return what
        case .invalidArgument(let reason): return reason
        case .invalidSource(let path, let reason): return "\(path): \(reason)"
        case .io(let path, let reason): return "\(path): \(reason)"
        case .leakage(let reason): return "split leakage: \(reason)"
        }
    }
}
