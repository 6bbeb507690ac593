import Foundation
import Hummingbird
import NIOCore
import LumenStore
import LumenWorkspace

/// Settings of `lumen serve`, with documented defaults.
public struct ServerConfiguration: Sendable {
    /// Interface to listen on; loopback by default.
    public var host = "127.0.0.1"
    /// TCP port (MLflow's default is 5000).
    public var port = 5000
    /// Largest JSON request body, in bytes.
    public var maxRequestBytes = 16 * 1024 * 1024
    /// Largest artifact upload, in bytes.
    public var maxArtifactBytes: Int64 = 8 * 1024 * 1024 * 1024
    /// Require API tokens for writes. `nil` means: on when listening beyond loopback, off on loopback.
    public var requireTokens: Bool?
    /// With auth on, let reads and predictions through without a token (MLflow's old behaviour).
    public var publicRead = false
    /// Models to serve (`--model`); nil serves only the tracking API.
    public var inference: InferenceService?
    /// What `/metrics` exposes; every request is counted in it.
    public var metrics: ServingMetrics?
    /// Where one JSON line per request goes (nil: no access log).
    public var accessLog: AccessLog?
    /// Seconds a connection may sit idle between requests, or a request's body go without new bytes, before the
    /// connection is closed.
    public var idleTimeout: Double = 60

    /// Whether writes need a token with these settings.
    public var authEnabled: Bool {
        requireTokens ?? !["127.0.0.1", "localhost", "::1"].contains(host)
    }

    public init() {}
}

/// Builds the HTTP application: MLflow tracking and artifact APIs over a `Store` and an `ArtifactStore`.
/// `onRunning` is called once the server listens (print the banner there: a port in use fails before it).
public func makeServer(store: any Store, artifacts: ArtifactStore, configuration: ServerConfiguration,
                       onRunning: @escaping @Sendable () async -> Void = {}) -> some ApplicationProtocol {
    let router = Router(options: .autoGenerateHeadEndpoints)
    // The OpenAPI document's bytes, filled in once every route is registered (the route reads it later).
    let openAPI = Locked([UInt8]())
    if let accessLog = configuration.accessLog { router.add(middleware: AccessLogMiddleware(log: accessLog)) }
    if let metrics = configuration.metrics { router.add(middleware: MetricsMiddleware(metrics: metrics)) }
    if configuration.authEnabled { router.add(middleware: TokenAuthMiddleware(store: store, publicRead: configuration.publicRead)) }
    router.add(middleware: JSONErrorMiddleware())
    if let metrics = configuration.metrics {
        let host = configuration.inference?.host
        router.get("/metrics") { _, _ -> Response in
            for model in await host?.all ?? [] { metrics.setQueueDepth(model.batcher.depth, model: model.name, version: String(model.version.version)) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
    }
    if let inference = configuration.inference {
        OIPRoutes(service: inference).register(on: router)
        PredictRoutes(service: inference).register(on: router)
    }
    router.get("/health") { _, _ in "OK" }
    router.get("/version") { _, _ in LumenRelease.version }
    let tracking = MLflowTrackingRoutes(store: store, bodyLimit: configuration.maxRequestBytes)
    tracking.register(on: router)
    MLflowRegistryRoutes(tracking: tracking).register(on: router)
    MLflowLoggedModelRoutes(store: store, bodyLimit: configuration.maxRequestBytes).register(on: router)
    MLflowArtifactRoutes(store: store, artifacts: artifacts, maxArtifactBytes: configuration.maxArtifactBytes).register(on: router)
    // The API's own description, from the routes just registered (so it cannot miss one), and a page rendering it.
    UIRoutes(store: store, artifacts: artifacts, host: configuration.inference?.host).register(on: router)
    router.get("/docs") { _, _ in Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: DocsPage.html))) }
    router.get("/openapi.json") { _, _ in Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: openAPI.value))) }
    let document = JSONWriter.encode(OpenAPIDocument.build(routes: router.routes.map { ("\($0.method)", $0.path.description) }, authEnabled: configuration.authEnabled))
    openAPI.withLock { $0 = document }
    // The largest body each path takes, for RequestGuard's early 413 (each route still enforces its own limit).
    let otherBytes = max(Int64(configuration.maxRequestBytes), Int64(configuration.inference?.limits.maxBytes ?? 0), 64 * 1024 * 1024)
    let uploadBytes = configuration.inference.map { Int64($0.limits.maxBytes) } ?? otherBytes  // no models: those paths are 404s
    let artifactBytes = configuration.maxArtifactBytes
    let bodyLimit: @Sendable (String) -> Int64 = { path in
        if path.hasPrefix("/api/2.0/mlflow-artifacts/") { return artifactBytes }
        if path.hasPrefix("/api/predict/") || path.hasPrefix("/v2/models/") { return uploadBytes }
        return otherBytes
    }
    let metrics = configuration.metrics, accessLog = configuration.accessLog
    let refused: @Sendable (String, String, Int) -> Void = { method, path, status in
        metrics?.recordHTTP(api: MetricsMiddleware<BasicRequestContext>.api(path), status: status, seconds: 0)
        accessLog?.write(["time": AccessLogMiddleware<BasicRequestContext>.formatter.string(from: Date()), "method": method, "path": path,
                          "status": status, "duration_ms": 0])
    }
    let idle = TimeAmount.milliseconds(Int64(configuration.idleTimeout * 1000))
    return Application(router: router, server: .http1(configuration: .init(additionalChannelHandlers: [RequestGuard(limit: bodyLimit, refused: refused)], idleTimeout: idle)),
                       configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "lumen"),
                       onServerRunning: { _ in await onRunning() })
}

/// A readable reason for a server that could not start listening (port taken, address not on this machine,
/// privileged port), or nil for other errors.
public func listenFailure(_ error: any Error, host: String, port: Int) -> String? {
    guard let io = error as? IOError else { return nil }
    switch io.errnoCode {
    case EADDRINUSE: return "cannot listen on \(host):\(port): the port is already in use (another lumen serve?); choose another with --port"
    case EADDRNOTAVAIL: return "cannot listen on \(host):\(port): that address is not one of this machine's (--host)"
    case EACCES: return "cannot listen on \(host):\(port): ports below 1024 need privileges; choose another with --port"
    default: return "cannot listen on \(host):\(port): \(io.description)"
    }
}

