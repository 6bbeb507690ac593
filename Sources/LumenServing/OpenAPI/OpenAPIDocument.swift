import Foundation
import LumenWorkspace

/// `/openapi.json`: OpenAPI 3.1 generated from the router's own route table, so that no route goes
/// undocumented and none is documented that does not exist. The serving routes carry hand-written
/// summaries and schemas (`ServingAPIDocs`); the MLflow REST routes are described by their family
/// (MLflow's own reference documents their fields).
enum OpenAPIDocument {
    /// One operation's documentation.
    struct Operation {
        var tag: String
        var summary: String
        var description: String?
        var requestBody: [String: Any]?
        var response: [String: Any]?
        var responseType = "application/json"
        var query: [(name: String, description: String, schema: [String: Any])] = []
        var statuses: [String] = []
    }

    static func pathTemplate(_ routerPath: String) -> String {
        routerPath.replacingOccurrences(of: "/**", with: "/{path}")
    }

    /// The document for `routes` (method, Hummingbird path with `{name}` captures and `**` catch-alls).
    static func build(routes: [(method: String, path: String)], authEnabled: Bool) -> [String: Any] {
        var paths: [String: [String: Any]] = [:]
        for route in routes.sorted(by: { ($0.path, $0.method) < ($1.path, $1.method) }) {
            let method = route.method.lowercased()
            guard ["get", "post", "put", "delete", "patch"].contains(method) else { continue }
            // The web UI's pages are HTML for browsers, not part of the API.
            if route.path == "/" || route.path == "/ui" || route.path.hasPrefix("/ui/") { continue }
            let template = pathTemplate(route.path)
            let op = ServingAPIDocs.operation(method: method, path: template) ?? generic(method: method, path: template)
            var operation: [String: Any] = ["tags": [op.tag], "summary": op.summary, "operationId": operationID(method, template)]
            if let d = op.description { operation["description"] = d }
            var parameters: [[String: Any]] = []
            for name in captures(template) {
                let schema: [String: Any] = name == "version" ? ["type": "integer", "minimum": 1] : ["type": "string"]
                parameters.append(["name": name, "in": "path", "required": true, "schema": schema,
                                   "description": name == "path" ? "artifact path (may contain '/')" : name])
            }
            for q in op.query { parameters.append(["name": q.name, "in": "query", "required": false, "description": q.description, "schema": q.schema]) }
            if !parameters.isEmpty { operation["parameters"] = parameters }
            if let body = op.requestBody { operation["requestBody"] = body }
            var responses: [String: Any] = [:]
            let okContent: [String: Any] = [op.responseType: ["schema": op.response ?? ["type": "object"]]]
            responses["200"] = ["description": "success", "content": okContent]
            responses["4XX"] = ["description": "the request was refused: the body says why", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
            for status in op.statuses { responses[status] = ["description": statusText(status), "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]] }
            operation["responses"] = responses
            if authEnabled && !["/health", "/metrics", "/v2/health/live", "/v2/health/ready", "/openapi.json", "/docs"].contains(template) {
                operation["security"] = [["bearer": [String]()]]
            }
            paths[template, default: [:]][method] = operation
        }
        var document: [String: Any] = [
            "openapi": "3.1.0",
            "info": ["title": "Lumen", "version": LumenRelease.version,
                     "description": "Lumen's HTTP API on one port: model serving (Open Inference Protocol v2 and image upload), traffic and gate administration, Prometheus metrics, and MLflow's tracking, registry and artifact REST API."],
            "paths": paths,
            "components": ["schemas": ServingAPIDocs.schemas,
                           "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "description": "an API token from `lumen token create --role reader|writer|admin`"]]],
            "tags": [["name": "inference", "description": "Open Inference Protocol v2 and image upload"],
                     ["name": "models", "description": "served models: reload, traffic policies"],
                     ["name": "operations", "description": "health, version, metrics, this document"],
                     ["name": "tracking", "description": "MLflow's REST API: experiments, runs, metrics, logged models"],
                     ["name": "registry", "description": "MLflow's model registry REST API"],
                     ["name": "artifacts", "description": "MLflow's proxied artifact API"]],
        ]
        if authEnabled { document["security"] = [["bearer": [String]()]] }
        return document
    }

    static func captures(_ template: String) -> [String] {
        template.split(separator: "/").compactMap { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? String(part.dropFirst().dropLast()) : nil
        }
    }

    static func operationID(_ method: String, _ template: String) -> String {
        method + template.split(separator: "/").map { $0.replacingOccurrences(of: "{", with: "by-").replacingOccurrences(of: "}", with: "") }
            .map { $0.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined() }.joined()
    }

    static func statusText(_ status: String) -> String {
        switch status {
        case "413": "the request is larger than the server accepts"
        case "422": "the input gate refused the input (the body has the verdict per image)"
        case "503": "the model is loading, or its queue is full (Retry-After says when to retry)"
        default: status
        }
    }

    /// MLflow routes and anything else without a hand-written entry: described by its family.
    static func generic(method: String, path: String) -> Operation {
        let body: [String: Any] = ["required": false, "content": ["application/json": ["schema": ["type": "object"]]]]
        if path == "/api/2.0/mlflow-artifacts/artifacts" {
            return Operation(tag: "artifacts", summary: "MLflow artifacts: list a folder",
                             response: ["type": "object", "properties": ["files": ["type": "array", "items": ["type": "object", "properties": [
                                 "path": ["type": "string"], "is_dir": ["type": "boolean"], "file_size": ["type": "integer"]]]]]],
                             query: [("path", "the folder to list (default: the root)", ["type": "string"])])
        }
        if path.hasPrefix("/api/2.0/mlflow-artifacts/") {
            var op = Operation(tag: "artifacts", summary: "MLflow artifacts: \(method == "put" ? "upload" : method == "get" ? "download or list" : method) an artifact")
            if method == "put" { op.requestBody = ["required": true, "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]] }
            if method == "get" { op.responseType = "application/octet-stream"; op.response = ["type": "string", "format": "binary"] }
            op.statuses = ["413"]
            return op
        }
        let name = path.replacingOccurrences(of: "/api/2.0/mlflow/", with: "").replacingOccurrences(of: "/ajax-api/2.0/mlflow/", with: "")
        let registry = name.hasPrefix("registered-models") || name.hasPrefix("model-versions")
        var op = Operation(tag: registry ? "registry" : "tracking", summary: "MLflow \(name)",
                           description: "MLflow's REST API (\(method.uppercased()) \(name)); fields as in MLflow's REST API reference.")
        if method != "get" && method != "delete" { op.requestBody = body }
        return op
    }
}
