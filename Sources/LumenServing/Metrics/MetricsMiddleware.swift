import Hummingbird

/// Counts every HTTP request in `/metrics` by API and status, with its latency.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServingMetrics

    static func api(_ path: String) -> String {
        if path.hasPrefix("/api/2.0/") || path.hasPrefix("/ajax-api/") { return "tracking" }
        if path.hasPrefix("/v2") { return "oip" }
        if path.hasPrefix("/api/predict/") { return "predict" }
        if path.hasPrefix("/api/models") { return "admin" }
        if path == "/metrics" { return "metrics" }
        return "other"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = monotonicSeconds()
        let api = Self.api(request.uri.path)
        do {
            let response = try await next(request, context)
            metrics.recordHTTP(api: api, status: Int(response.status.code), seconds: monotonicSeconds() - started)
            return response
        } catch let error as HTTPError {
            metrics.recordHTTP(api: api, status: Int(error.status.code), seconds: monotonicSeconds() - started)
            throw error
        } catch {
            metrics.recordHTTP(api: api, status: 500, seconds: monotonicSeconds() - started)
            throw error
        }
    }
}
