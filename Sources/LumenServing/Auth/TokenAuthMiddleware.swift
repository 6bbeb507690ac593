import Hummingbird
import LumenStore

/// Bearer-token access control: reads are open; every write needs a `writer` or `admin` token
/// (`Authorization: Bearer lm_…`, which the mlflow client sends from `MLFLOW_TRACKING_TOKEN`).
struct TokenAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let store: any Store

    /// POST endpoints that only read.
    static var readOnlyPosts: Set<String> {
        ["/api/2.0/mlflow/experiments/search", "/api/2.0/mlflow/runs/search", "/api/2.0/mlflow/logged-models/search",
         "/api/2.0/mlflow/registered-models/get-latest-versions"]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let isRead = request.method == .get || request.method == .head || (request.method == .post && Self.readOnlyPosts.contains(request.uri.path))
        if isRead { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            return jsonResponse(["error_code": "UNAUTHENTICATED", "message": "this server requires an API token for writes: set MLFLOW_TRACKING_TOKEN (see `lumen token create`)"],
                                status: .unauthorized)
        }
        guard let token = try? await store.token(forSecret: String(header.dropFirst("Bearer ".count))) else {
            return jsonResponse(["error_code": "UNAUTHENTICATED", "message": "unknown or revoked API token"], status: .unauthorized)
        }
        guard token.role >= .writer else {
            return jsonResponse(["error_code": "PERMISSION_DENIED", "message": "token '\(token.name)' has role reader and cannot write"], status: .forbidden)
        }
        return try await next(request, context)
    }
}
