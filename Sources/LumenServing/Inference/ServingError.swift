import Hummingbird
import LumenInference

/// Why a prediction request was not answered; each case maps to one HTTP status.
public enum ServingError: Error, Sendable, CustomStringConvertible {
    /// No model of that name (or version) is served here: 404.
    case notFound(String)
    /// The model is loading or unloading: 503.
    case notReady(String)
    /// The request is malformed or its inputs do not fit the model: 400.
    case badInput(String)
    /// The upload is larger than the server accepts: 413.
    case tooLarge(String)
    /// The body is in an encoding the server does not read (`Content-Encoding: gzip`): 415.
    case unsupportedMediaType(String)
    /// The model's queue is full: 503 with `Retry-After`.
    case overloaded(retryAfter: Int)
    /// The request waited longer than the timeout: 503.
    case timedOut(seconds: Double)
    /// The input gate refused the input: 422, with a verdict per image.
    case gated(String, verdicts: [GateVerdict])
    /// Something that should not happen: 500.
    case internalError(String)

    public var description: String {
        switch self {
        case .notFound(let m), .notReady(let m), .badInput(let m), .tooLarge(let m), .unsupportedMediaType(let m), .internalError(let m), .gated(let m, _): m
        case .overloaded(let s): "the model's queue is full; retry in \(s) s"
        case .timedOut(let s): "the request waited more than \(s) s for the model"
        }
    }

    public var status: HTTPResponse.Status {
        switch self {
        case .notFound: .notFound
        case .notReady, .overloaded, .timedOut: .serviceUnavailable
        case .badInput: .badRequest
        case .tooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .gated: .unprocessableContent
        case .internalError: .internalServerError
        }
    }
}
