import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServing
import NIOCore
import Testing

@Suite("OpenAPI document and docs page")
struct OpenAPITests {
    /// Every route the server answers is in the document (it is made from the router's table), the
    /// serving routes carry their own summaries and schemas, and the docs page loads nothing from elsewhere.
    @Test func documentCoversEveryRouteAndThePageIsSelfContained() async throws {
        let fixture = try await ServingFixture.make(versions: 1)
        defer { Task { await fixture.close() } }
        try await fixture.app().test(.router) { client in
            let document = try await client.execute(uri: "/openapi.json", method: .get) { json($0.body) }
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            for (path, method) in [("/v2/models/{name}/infer", "post"), ("/v2/models/{name}/versions/{version}/infer", "post"), ("/api/predict/{name}", "post"),
                                   ("/v2/health/ready", "get"), ("/metrics", "get"), ("/api/models/{name}/traffic", "put"), ("/api/models/{name}/reload", "post"),
                                   ("/api/2.0/mlflow/runs/log-batch", "post"), ("/api/2.0/mlflow-artifacts/artifacts/{path}", "put"), ("/openapi.json", "get"), ("/docs", "get")] {
                #expect(paths[path]?[method] != nil, "\(method.uppercased()) \(path) is documented")
            }
            let infer = try #require(paths["/v2/models/{name}/infer"]?["post"] as? [String: Any])
            #expect((infer["summary"] as? String)?.hasPrefix("OIP: infer") == true)
            let parameters = try #require(infer["parameters"] as? [[String: Any]])
            #expect(parameters.contains { $0["name"] as? String == "name" && $0["in"] as? String == "path" && $0["required"] as? Bool == true })
            let responses = try #require(infer["responses"] as? [String: Any])
            #expect(responses["200"] != nil && responses["422"] != nil && responses["503"] != nil)
            // Every $ref points at a schema that exists.
            let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
            let text = String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
            let refs = text.components(separatedBy: "#\\/components\\/schemas\\/").dropFirst().map { String($0.prefix { $0 != "\"" }) }
            #expect(!refs.isEmpty && refs.allSatisfy { schemas[$0] != nil }, "\(Set(refs).subtracting(schemas.keys))")
            // Operation ids are unique.
            let ids = paths.values.flatMap { $0.values.compactMap { ($0 as? [String: Any])?["operationId"] as? String } }
            #expect(ids.count == Set(ids).count && ids.count == paths.values.reduce(0) { $0 + $1.count })
            try await client.execute(uri: "/docs", method: .get) { response in
                let page = String(buffer: response.body)
                #expect(response.status == .ok && response.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(page.contains("fetch('/openapi.json')") && !page.contains("http://") && !page.contains("https://") && !page.contains("src="), "no external resources")
            }
        }
    }
}
