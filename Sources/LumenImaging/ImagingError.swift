/// Why an image could not be read, written or transformed; every case names the file (or the
/// transform) and the reason, so that a person can act on it.
public enum ImagingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file exists but is not a readable image of a supported kind.
    case unreadable(source: String, reason: String)
    /// The file's format is not one Lumen reads.
    case unsupportedFormat(source: String, reason: String)
    /// A size declared by the file (or asked for) is beyond the configured limit.
    case tooLarge(source: String, reason: String)
    /// An argument to a transform or writer is invalid.
    case invalidArgument(String)
    /// The file cannot be read from or written to disk.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let source, let reason): return "\(source): cannot read image: \(reason)"
        case .unsupportedFormat(let source, let reason): return "\(source): unsupported format: \(reason)"
        case .tooLarge(let source, let reason): return "\(source): too large: \(reason)"
        case .invalidArgument(let reason): return reason
        case .io(let path, let reason): return "\(path): \(reason)"
        }
    }
}
