import CTorch

/// Errors raised by the tensor library. Each case says what failed and why, in words a user can act on.
public enum LumenError: Error, CustomStringConvertible, Equatable {
    /// libtorch refused an operation (shape mismatch, wrong dtype, …); `message` is libtorch's own.
    case torch(op: String, message: String)
    /// An argument was invalid before any native call was made.
    case invalidArgument(field: String, reason: String)
    /// A file could not be read or written, or its content is malformed.
    case file(path: String, reason: String)

    public var description: String {
        switch self {
        case let .torch(op, message): return "\(op): \(message)"
        case let .invalidArgument(field, reason): return "invalid \(field): \(reason)"
        case let .file(path, reason): return "\(path): \(reason)"
        }
    }
}

/// Runs one bridge call with an error out-parameter and turns a reported failure into `LumenError.torch`.
@inline(__always)
package func torchCall<R>(_ op: String, _ body: (UnsafeMutablePointer<lm_error>) -> R) throws(LumenError) -> R {
    var err = lm_error(failed: 0, message: nil)
    let result = body(&err)
    if err.failed != 0 {
        let message = err.message.map { String(cString: $0) } ?? "unknown error"
        lm_error_clear(&err)
        throw .torch(op: op, message: message)
    }
    return result
}
