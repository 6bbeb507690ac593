/// Errors of the store, with MLflow's error codes so the REST API can answer in its shape.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case alreadyExists(String)
    case invalidParameter(String)
    case badStoreURI(String)
    case database(String)

    /// MLflow's `error_code`.
    public var code: String {
        switch self {
        case .notFound: return "RESOURCE_DOES_NOT_EXIST"
        case .alreadyExists: return "RESOURCE_ALREADY_EXISTS"
        case .invalidParameter, .badStoreURI: return "INVALID_PARAMETER_VALUE"
        case .database: return "INTERNAL_ERROR"
        }
    }

    /// The HTTP status MLflow answers with for this error.
    public var httpStatus: Int {
        switch self {
        case .notFound: return 404
        case .alreadyExists, .invalidParameter, .badStoreURI: return 400
        case .database: return 500
        }
    }

    public var description: String {
        switch self {
        case let .notFound(m), let .alreadyExists(m), let .invalidParameter(m), let .badStoreURI(m), let .database(m): return m
        }
    }
}
