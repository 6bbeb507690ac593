import Foundation
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Channel handler in front of the routes (after HTTP decoding) for what a route cannot do before it reads a body:
/// - a declared `Content-Length` above the path's limit gets its 413 at once, and the connection is closed, instead
///   of the server reading (or waiting for) the whole body first;
/// - `Expect: 100-continue` gets its interim `100 Continue` (curl sends the header with every upload over 1 MB and
///   otherwise waits a second before sending the body).
/// (Connections idle between requests, and requests whose headers or body stop arriving, are closed by Hummingbird's
/// idle timeout, `ServerConfiguration.idleTimeout`.)
final class RequestGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    /// The largest body a path accepts, in bytes.
    let limit: @Sendable (String) -> Int64
    /// Told of each request refused here (method, path, status), which no route or middleware sees: `/metrics` and
    /// the access log count it like any other answer.
    let refused: @Sendable (String, String, Int) -> Void
    /// A refused request's remaining parts are dropped until the connection closes.
    private var refusing = false

    init(limit: @escaping @Sendable (String) -> Int64, refused: @escaping @Sendable (String, String, Int) -> Void = { _, _, _ in }) {
        self.limit = limit
        self.refused = refused
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refusing { return }
        switch unwrapInboundIn(data) {
        case .head(let request):
            let path = request.path.map { String($0.prefix { $0 != "?" }) } ?? "/"
            let allowed = limit(path)
            if let declared = request.headerFields[.contentLength], let length = Int64(declared.trimmingCharacters(in: .whitespaces)), length > allowed {
                refused(request.method.rawValue, path, 413)
                refuse(context, status: .contentTooLarge,
                       message: "the request declares \(length) bytes; \(path) takes at most \(allowed / (1024 * 1024)) MiB (lumen serve --max-upload-mb, --max-artifact-mb)")
                return
            }
            if request.headerFields[.expect]?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            }
            context.fireChannelRead(data)
        case .body, .end:
            context.fireChannelRead(data)
        }
    }

    /// Answers `status` with `{"error": message}` and closes the connection; the request never reaches a route.
    private func refuse(_ context: ChannelHandlerContext, status: HTTPResponse.Status, message: String) {
        refusing = true
        let body = ByteBuffer(bytes: JSONWriter.encode(["error": message]))
        let head = HTTPResponse(status: status, headerFields: [.contentType: "application/json", .contentLength: String(body.readableBytes), .connection: "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}

/// Errors that Hummingbird itself throws (no route for the path or method, a body over a limit) as `{"error": …}`
/// like every other answer of the API (MLflow's `{"error_code", "message"}` under `/api/2.0/`), instead of an empty body.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound
                ? "no route \(request.method.rawValue) \(request.uri.path) (the API is described at /openapi.json)"
                : error.status.reasonPhrase)
            var response = request.uri.path.hasPrefix("/api/2.0/")
                ? jsonResponse(["error_code": error.status == .notFound ? "ENDPOINT_NOT_FOUND" : "BAD_REQUEST", "message": message], status: error.status)
                : jsonResponse(["error": message], status: error.status)
            for field in error.headers where field.name != .contentType && field.name != .contentLength { response.headers.append(field) }
            return response
        }
    }
}
