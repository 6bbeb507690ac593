import Foundation
import Hummingbird
import HummingbirdTesting
@testable import LumenServing
import NIOCore
import Testing

/// What HTTP clients do that a route alone cannot answer well: unknown routes and HEAD, Triton's config call, and
/// (against a live server, over raw sockets) declared sizes, `Expect: 100-continue`, and clients that stop sending.
@Suite("HTTP edges") struct HTTPEdgeTests {
    @Test func unknownRoutesAnswerJSONAndHeadWorks() async throws {
        let fixture = try await ServingFixture.make()
        defer { Task { await fixture.close() } }
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/api/nothing", method: .get) { response in
                #expect(response.status == .notFound)
                #expect((json(response.body)["error"] as? String)?.contains("no route GET /api/nothing") == true, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/api/predict/m", method: .get) { response in
                #expect(response.status == .notFound && json(response.body)["error"] is String, "a wrong method is named too")
            }
            try await client.execute(uri: "/api/2.0/mlflow/nothing", method: .get) { response in
                #expect(response.status == .notFound && json(response.body)["error_code"] as? String == "ENDPOINT_NOT_FOUND", "MLflow's error shape under /api/2.0")
            }
            try await client.execute(uri: "/v2/health/ready", method: .head) { response in
                #expect(response.status == .ok && response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/v2/models/m/config", method: .get) { response in
                let config = json(response.body)
                #expect(response.status == .ok && config["name"] as? String == "m" && config["max_batch_size"] as? Int == BatchingOptions().maxBatch)
                let input = try #require((config["input"] as? [[String: Any]])?.first)
                #expect(input["name"] as? String == "input" && input["data_type"] as? String == "TYPE_FP32" && input["dims"] as? [Int] == [1, 32, 32])
                #expect((config["output"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.sorted() == ["label", "probabilities"])
            }
            try await client.execute(uri: "/v2/models/nope/config", method: .get) { #expect($0.status == .notFound) }
            // The UI's image rendering takes a known window preset or says which ones exist.
            let png = try testPNG(seed: 1)
            for (window, status) in [("lung", HTTPResponse.Status.ok), ("auto", .ok), ("bogus", .badRequest), ("10%2F0", .badRequest)] {
                try await client.execute(uri: "/ui/render?window=\(window)", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: png)) { response in
                    #expect(response.status == status, "\(window): \(String(buffer: response.body).prefix(120))")
                    if status == .badRequest { #expect(String(buffer: response.body).contains("soft-tissue")) }
                }
            }
        }
    }

    @Test func declaredSizesExpectContinueAndStalledClients() async throws {
        let fixture = try await ServingFixture.make()
        defer { Task { await fixture.close() } }
        try await fixture.app(port: 0, idleTimeout: 1).test(.live) { client in
            let port = try #require(client.port)
            // A declared body over the limit is refused before any of it is read (the client sent 4 of 100 GB).
            let huge = rawExchange(port: port, "POST /api/predict/m HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000000000\r\n\r\nabcd", timeout: 20)
            #expect(huge.reply.hasPrefix("HTTP/1.1 413") && huge.reply.contains("--max-upload-mb") && huge.closed && huge.seconds < 10, "\(huge)")
            // Refused before any route, and still counted in /metrics like every answer.
            let exposition = String(decoding: fixture.metrics.exposition(), as: UTF8.self)
            #expect(exposition.split(separator: "\n").contains { $0.hasPrefix("lumen_http_requests_total") && $0.contains("api=\"predict\"") && $0.contains("status=\"413\"") },
                    "a 413 line in /metrics")
            // Expect: 100-continue gets its interim answer at once, and then the real one.
            let png = try testPNG(seed: 3)
            let (body, headers) = multipart([("scan.png", png)])
            let head = "POST /api/predict/m HTTP/1.1\r\nHost: x\r\nContent-Type: \(headers[.contentType]!)\r\nContent-Length: \(body.readableBytes)\r\nExpect: 100-continue\r\n\r\n"
            let interim = rawExchange(port: port, Array(head.utf8), timeout: 10, until: "\r\n\r\n")
            #expect(interim.reply.hasPrefix("HTTP/1.1 100 Continue"), "\(interim)")
            let whole = rawExchange(port: port, Array(head.utf8) + Array(body.readableBytesView), timeout: 30, until: "\"predictions\"")
            #expect(whole.reply.hasPrefix("HTTP/1.1 100 Continue") && whole.reply.contains("HTTP/1.1 200 OK"), "\(whole.reply.prefix(300))")
            // Headers that never end, and a body that stops, are cut off after the idle timeout (1 s here).
            let headers1 = rawExchange(port: port, "GET /v2 HTTP/1.1\r\nHost: x\r\n", timeout: 20)
            #expect(headers1.closed && headers1.seconds >= 0.8 && headers1.seconds < 15, "\(headers1)")
            let stalled = rawExchange(port: port, "POST /api/predict/m HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\nabc", timeout: 20)
            #expect(stalled.closed && stalled.seconds >= 0.8 && stalled.seconds < 15, "\(stalled)")
            // And the server still answers (on a new connection: the test client's own sat idle past the timeout).
            let ready = rawExchange(port: port, Array("GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n".utf8), timeout: 30, until: "}")
            #expect(ready.reply.hasPrefix("HTTP/1.1 200 OK"), "\(ready)")
        }
    }
}

extension HTTPEdgeTests {
    /// Without models, a prediction path is a 404 from the router, not a 413 from a limit of 0 bytes.
    @Test func predictionPathsWithoutModelsAre404() async throws {
        let fixture = try await ServingFixture.make(versions: 1)
        defer { Task { await fixture.close() } }
        var configuration = ServerConfiguration()
        configuration.port = 0
        try await makeServer(store: fixture.store, artifacts: fixture.artifacts, configuration: configuration).test(.live) { client in
            let port = try #require(client.port)
            let reply = rawExchange(port: port, Array("POST /api/predict/m HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 4\r\n\r\nabcd".utf8),
                                    timeout: 15, until: "}")
            #expect(reply.reply.hasPrefix("HTTP/1.1 404"), "\(reply)")
        }
    }
}

/// Sends `bytes` on a new TCP connection to 127.0.0.1:`port` and reads until the server closes it, `timeout`
/// seconds pass, or the reply contains `until`.
func rawExchange(port: Int, _ bytes: [UInt8], timeout: Double, until: String? = nil) -> (seconds: Double, reply: String, closed: Bool) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return (0, "socket failed", false) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard connected == 0 else { return (0, "connect failed", false) }
    var wait = timeval(tv_sec: 0, tv_usec: 100_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
    let started = Date()
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var reply: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    var closed = false
    while Date().timeIntervalSince(started) < timeout {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 { closed = true; break }
        if n > 0 {
            reply += buffer[0..<n]
            if let until, String(decoding: reply, as: UTF8.self).contains(until) { break }
        }
    }
    return (Date().timeIntervalSince(started), String(decoding: reply, as: UTF8.self), closed)
}

func rawExchange(port: Int, _ text: String, timeout: Double) -> (seconds: Double, reply: String, closed: Bool) {
    rawExchange(port: port, Array(text.utf8), timeout: timeout)
}
