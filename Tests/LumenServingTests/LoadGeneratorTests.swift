import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServing
import NIOCore
import NIOHTTP1
import Testing

@Suite("Load generator")
struct LoadGeneratorTests {
    /// Against a live server: every request is answered and counted by status, percentiles are ordered,
    /// a request budget is respected, and what the server saw equals what the report says.
    @Test func countsWhatTheServerAnswered() async throws {
        let router = Router()
        let seen = ServerCounter()
        router.post("/echo") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            seen.add(body.readableBytes)
            return Response(status: body.readableBytes == 5 ? .ok : .badRequest)
        }
        router.get("/missing") { _, _ -> Response in Response(status: .notFound) }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            var options = try LoadOptions(url: URL(string: "http://127.0.0.1:\(port)/echo")!)
            options.method = .POST
            options.body = Array("hello".utf8)
            options.concurrency = 4
            options.duration = 30
            options.requests = 300
            let report = try await LoadGenerator(options).run()
            #expect(report.requests == 300 && report.statuses == ["200": 300] && report.errors.isEmpty, "\(report)")
            #expect(seen.requests == 300 && seen.bytes == 1500, "the server saw each request once, with its body")
            let l = report.latencyMs
            #expect(l["p50"]! > 0 && l["p50"]! <= l["p90"]! && l["p90"]! <= l["p99"]! && l["p99"]! <= l["max"]!)
            #expect(report.throughput > 0 && report.seconds < 30, "the budget ended the run before the duration")

            var missing = try LoadOptions(url: URL(string: "http://127.0.0.1:\(port)/missing")!)
            missing.concurrency = 2
            missing.duration = 0.5
            let notFound = try await LoadGenerator(missing).run()
            #expect(notFound.requests > 0 && notFound.statuses == ["404": notFound.requests])
        }
        // Nothing listening: errors, no requests.
        var refused = try LoadOptions(url: URL(string: "http://127.0.0.1:9/")!)
        refused.duration = 0.3
        refused.concurrency = 2
        let report = try await LoadGenerator(refused).run()
        #expect(report.requests == 0 && (report.errors.values.reduce(0, +)) > 0)
        #expect(throws: LoadError.self) { try LoadOptions(url: URL(string: "https://example.org/")!) }
    }
}

final class ServerCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var counts = (requests: 0, bytes: 0)
    func add(_ bytes: Int) { lock.withLock { counts.requests += 1; counts.bytes += bytes } }
    var requests: Int { lock.withLock { counts.requests } }
    var bytes: Int { lock.withLock { counts.bytes } }
}
