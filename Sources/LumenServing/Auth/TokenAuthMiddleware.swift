import Foundation
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

    /// Registry writes that can take a served model away (delete a model or a version, rename a model): admin, like
    /// moving an alias.
    static var adminRegistryWrites: Set<String> {
        ["/api/2.0/mlflow/registered-models/delete", "/api/2.0/mlflow/model-versions/delete", "/api/2.0/mlflow/registered-models/rename"]
    }

    /// Registry tag writes: a `lumen.*` key (the input gate, the spec) steers serving, so it needs admin too.
    static var registryTagWrites: Set<String> {
        ["/api/2.0/mlflow/registered-models/set-tag", "/api/2.0/mlflow/registered-models/delete-tag",
         "/api/2.0/mlflow/model-versions/set-tag", "/api/2.0/mlflow/model-versions/delete-tag"]
    }

    /// Routes open to anyone: liveness and readiness probes, the Prometheus scrape and the UI's login page.
    static func isOpen(_ path: String) -> Bool {
        path == "/health" || path == "/v2/health/live" || path == "/v2/health/ready" || path == "/metrics" || path == "/ui/login"
    }

    /// Pages of the web UI (a missing token sends the browser to the login page instead of a JSON 401).
    static func isPage(_ path: String) -> Bool { path == "/" || path == "/ui" || path.hasPrefix("/ui/") }

    /// The request with the UI's role header set (or removed): set here only, never trusted from the client.
    static func withRole(_ request: Request, _ role: String?) -> Request {
        var head = request.head
        head.headerFields[UIRoutes.roleHeader] = role
        return Request(head: head, body: request.body)
    }

    /// The token of a request: `Authorization: Bearer …`, or the UI's `lumen_token` cookie.
    static func secret(_ request: Request) -> String? {
        // The scheme is case-insensitive (RFC 9110 §11.1): `bearer`, `BEARER` and `Bearer` alike.
        if let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " {
            return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        guard let cookies = request.headers[.cookie] else { return nil }
        for part in cookies.split(separator: ";") {
            let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if kv.count == 2 && kv[0] == "lumen_token" { return String(kv[1]) }
        }
        return nil
    }

    /// The role a request needs.
    static func requiredRole(method: HTTPRequest.Method, path: String) -> TokenRole {
        if method == .get || method == .head { return .reader }
        if method == .post && (readOnlyPosts.contains(path) || path == "/ui/render" || path.hasPrefix("/api/predict/") || (path.hasPrefix("/v2/models/") && path.hasSuffix("/infer"))) {
            return .reader
        }
        if path.hasPrefix("/api/models/") || path == "/api/2.0/mlflow/registered-models/alias" || adminRegistryWrites.contains(path)
            || (path.hasPrefix("/ui/models/") && path.hasSuffix("/alias")) { return .admin }
        return .writer
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = Self.withRole(request, nil)
        let path = request.uri.path
        if Self.isOpen(path) { return try await next(request, context) }
        let required = Self.requiredRole(method: request.method, path: path)
        let secret = Self.secret(request)
        if required == .reader && publicRead && secret == nil {
            request = Self.withRole(request, "public")
            return try await next(request, context)
        }
        let known: Bool
        if let secret { known = (try? await store.token(forSecret: secret)) != nil } else { known = false }
        if Self.isPage(path), request.method == .get, !known {
            let target = path + (request.uri.query.map { "?" + $0 } ?? "")
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-_.~/")
            return Response(status: .seeOther, headers: [.location: "/ui/login?next=" + (target.addingPercentEncoding(withAllowedCharacters: allowed) ?? "/ui/experiments")])
        }
        guard let secret else {
            return jsonResponse(["error_code": "UNAUTHENTICATED", "error": "this server requires an API token", "message": "this server requires an API token: send Authorization: Bearer TOKEN (the mlflow client sends MLFLOW_TRACKING_TOKEN; see `lumen token create`)"],
                                status: .unauthorized)
        }
        guard let token = try? await store.token(forSecret: secret) else {
            return jsonResponse(["error_code": "UNAUTHENTICATED", "error": "unknown or revoked API token", "message": "unknown or revoked API token"], status: .unauthorized)
        }
        guard token.role >= required else {
            let what = required == .admin ? "change aliases or served models, or delete or rename registered models and versions (admin)" : "write"
            let message = "token '\(token.name)' has role \(token.role.rawValue) and cannot \(what)"
            return jsonResponse(["error_code": "PERMISSION_DENIED", "error": message, "message": message], status: .forbidden)
        }
        if token.role < .admin, Self.registryTagWrites.contains(path) {
            // The tag's key is in the body: read it here (a small JSON object) and hand the route the same bytes.
            let body = try await request.body.collect(upTo: 1 << 20)
            let key = ((try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any])?["key"] as? String
                ?? request.uri.queryParameters.get("key")
            if let key, key.lowercased().hasPrefix("lumen.") {
                let message = "token '\(token.name)' has role \(token.role.rawValue) and cannot write '\(key.prefix(100))': lumen.* tags steer serving (admin)"
                return jsonResponse(["error_code": "PERMISSION_DENIED", "error": message, "message": message], status: .forbidden)
            }
            request = Request(head: request.head, body: .init(buffer: body))
        }
        request = Self.withRole(request, token.role.rawValue)
        return try await next(request, context)
    }
}
