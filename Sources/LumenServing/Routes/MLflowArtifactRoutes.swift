import Foundation
import Hummingbird
import LumenStore
import NIOCore
import LumenWorkspace

/// `/api/2.0/mlflow-artifacts/artifacts/…` (upload, download, list) and `/api/2.0/mlflow/artifacts/list`:
/// the proxied artifact API the mlflow client uses for `mlflow-artifacts:/` URIs. Bytes go to the
/// content-addressed `ArtifactStore`; paths are only keys in the store, never file-system paths.
struct MLflowArtifactRoutes {
    let store: any Store
    let artifacts: ArtifactStore
    let maxArtifactBytes: Int64

    func register(on router: Router<BasicRequestContext>) {
        let store = self.store, artifacts = self.artifacts, maxBytes = maxArtifactBytes
        let base = "/api/2.0/mlflow-artifacts/artifacts"

        router.put("\(base)/**") { request, context -> Response in
            await answer {
                let path = try ArtifactPath.validate(decodedPath(context.parameters.getCatchAll()))
                guard !path.isEmpty else { throw StoreError.invalidParameter("artifact path is empty") }
                let writer = try artifacts.makeWriter(maxBytes: maxBytes)
                do {
                    for try await chunk in request.body { try writer.write(Data(chunk.readableBytesView)) }
                } catch {
                    writer.cancel()
                    throw error
                }
                let (sha, size) = try writer.finish()
                try await store.recordArtifact(path: path, sha256: sha, size: size)
                return jsonResponse([:])
            }
        }

        router.get("\(base)/**") { _, context -> Response in
            await answer {
                let path = try ArtifactPath.validate(decodedPath(context.parameters.getCatchAll()))
                guard let entry = try await store.artifact(path: path), let sha = entry.sha256 else {
                    throw StoreError.notFound("Artifact '\(path)' does not exist")
                }
                let url = try artifacts.url(for: sha)
                guard let handle = try? FileHandle(forReadingFrom: url) else { throw StoreError.notFound("Artifact blob for '\(path)' is missing") }
                let body = ResponseBody { writer in
                    defer { try? handle.close() }
                    while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
                        try await writer.write(ByteBuffer(bytes: data))
                    }
                    try await writer.finish(nil)
                }
                return Response(status: .ok, headers: [.contentType: "application/octet-stream", .contentLength: String(entry.size ?? 0)], body: body)
            }
        }

        router.get(RouterPath(base)) { request, _ -> Response in
            await answer {
                let dir = try ArtifactPath.validate(request.uri.queryParameters.get("path") ?? "")
                let entries = try await store.listArtifacts(directory: dir)
                let prefix = dir.isEmpty ? "" : dir + "/"
                return jsonResponse(["files": entries.map { e -> [String: Any] in
                    var out: [String: Any] = ["path": String(e.path.dropFirst(prefix.count)), "is_dir": e.isDirectory]
                    if let size = e.size { out["file_size"] = size }
                    return out
                }])
            }
        }

        // The tracking API's listing: paths relative to the run's artifact root.
        router.get("/api/2.0/mlflow/artifacts/list") { request, _ -> Response in
            await answer {
                let runID = try request.uri.queryParameters.get("run_id") ?? request.uri.queryParameters.get("run_uuid")
                    ?? { throw StoreError.invalidParameter("Missing value for required parameter 'run_id'.") }()
                let run = try await store.run(id: runID)
                let root = run.info.artifactURI.replacingOccurrences(of: "mlflow-artifacts:/", with: "")
                let sub = try ArtifactPath.validate(request.uri.queryParameters.get("path") ?? "")
                let dir = sub.isEmpty ? root : root + "/" + sub
                let entries = try await store.listArtifacts(directory: dir)
                return jsonResponse(["root_uri": run.info.artifactURI, "files": entries.map { e -> [String: Any] in
                    var out: [String: Any] = ["path": String(e.path.dropFirst(root.count + 1)), "is_dir": e.isDirectory]
                    if let size = e.size { out["file_size"] = size }
                    return out
                }])
            }
        }
    }
}

/// The catch-all path of a request, percent-decoded component by component (clients encode names such as `my plot.svg`).
func decodedPath(_ components: [Substring]) throws -> String {
    try components.map { c -> String in
        guard let decoded = String(c).removingPercentEncoding, !decoded.contains("/") else {
            throw StoreError.invalidParameter("invalid artifact path component '\(c.prefix(100))'")
        }
        return decoded
    }.joined(separator: "/")
}
