import Hummingbird
import LumenStore

/// Bearer-token access control (`Authorization: Bearer lm_…`, which the mlflow client sends from
/// `MLFLOW_TRACKING_TOKEN`). Every route needs a token except the health probes and `/metrics`:
/// a `reader` may read and predict, a `writer` may also log runs, artifacts and models, an `admin`
/// may also move aliases and reload or route served models. With `publicRead`, reads and predictions
/// need no token (MLflow's old behaviour); writes still do.
struct TokenAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let store: any Store
    var publicRead = false

    /// POST endpoints that only read.
    static var readOnlyPosts: Set<String> {
        ["/api/2.0/mlflow/experiments/search", "/api/2.0/mlflow/runs/search", "/api/2.0/mlflow/logged-models/search",
         "/api/2.0/mlflow/registered-models/get-latest-versions"]
    }

    /// Routes open to anyone: liveness and readiness probes, and the Prometheus scrape.
    static func isOpen(_ path: String) -> Bool {
        path == "/health" || path == "/v2/health/live" || path == "/v2/health/ready" || path == "/metrics"
    }

    /// The role a request needs.
    static func requiredRole(method: HTTPRequest.Method, path: String) -> TokenRole {
        if method == .get || method == .head { return .reader }
        if method == .post && (readOnlyPosts.contains(path) || path.hasPrefix("/api/predict/") || (path.hasPrefix("/v2/models/") && path.hasSuffix("/infer"))) {
            return .reader
        }
        if path.hasPrefix("/api/models/") || path == "/api/2.0/mlflow/registered-models/alias" { return .admin }
        return .writer
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Self.isOpen(path) { return try await next(request, context) }
        let required = Self.requiredRole(method: request.method, path: path)
        if required == .reader && publicRead { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            return jsonResponse(["error_code": "UNAUTHENTICATED", "error": "this server requires an API token", "message": "this server requires an API token: send Authorization: Bearer TOKEN (the mlflow client sends MLFLOW_TRACKING_TOKEN; see `lumen token create`)"],
                                status: .unauthorized)
        }
        guard let token = try? await store.token(forSecret: String(header.dropFirst("Bearer ".count))) else {
            return jsonResponse(["error_code": "UNAUTHENTICATED", "error": "unknown or revoked API token", "message": "unknown or revoked API token"], status: .unauthorized)
        }
        guard token.role >= required else {
            let what = required == .admin ? "change aliases or served models (admin)" : "write"
            let message = "token '\(token.name)' has role \(token.role.rawValue) and cannot \(what)"
            return jsonResponse(["error_code": "PERMISSION_DENIED", "error": message, "message": message], status: .forbidden)
        }
        return try await next(request, context)
    }
}
