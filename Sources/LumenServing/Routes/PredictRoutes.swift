import Foundation
import HTTPTypes
import Hummingbird
import LumenImaging
import LumenInference
import LumenStore
import MultipartKit
import NIOCore

/// `POST /api/predict/{name}`: image files (multipart/form-data, or one file as the body) read by the
/// readers training uses and preprocessed by the version's own pipeline; a JSON answer with the class
/// probabilities, the version that answered and its latency. `?version=N` pins a version,
/// `?explain=gradcam` adds the heat map. `POST /api/models/{name}/reload` loads the version its alias
/// names now, beside the old one, and swaps them.
struct PredictRoutes {
    let service: InferenceService

    func register(on router: Router<BasicRequestContext>) {
        let service = self.service
        router.post("/api/predict/:name") { request, context -> Response in
            await oip {
                let started = monotonicSeconds()
                let name = try context.parameters.require("name")
                let query = request.uri.queryParameters
                let version = try query.get("version").map { text -> Int64 in
                    guard let v = Int64(text), v >= 1 else { throw ServingError.badInput("version '\(text)' is not a positive number") }
                    return v
                }
                let explain = query.get("explain")
                guard explain == nil || explain == "gradcam" else { throw ServingError.badInput("explain='\(explain!)': the only explanation is gradcam") }
                // An unknown model (or version) is a 404 before the upload is read and decoded.
                _ = try await service.host.model(name, version: version)
                let files = try await Self.files(request, limits: service.limits)
                var images: [MedicalImage] = []
                for file in files {
                    do { images.append(try ImageReader.read(file.bytes, source: file.name)) } catch {
                        throw ServingError.badInput("\(error)")
                    }
                }
                let decoded = images
                // Kept inputs (--keep-inputs): stored before predicting, so that a refused file is not predicted either.
                let kept = try service.keeper.map { keeper in try zip(files, decoded).map { try keeper.keep($0.bytes, image: $1, file: $0.name) } }
                let sticky = await service.host.stickyHeader(for: name).flatMap { HTTPField.Name($0) }.flatMap { request.headers[$0] }
                // Each version preprocesses the images its own way (a shadow version may differ from the one that answers).
                let outcome = try await service.predict(name, version: version, stickyKey: sticky, started: started) { model in
                    var planes: [Plane] = []
                    var described: [[String: String]] = []
                    for (i, (file, image)) in zip(files, decoded).enumerated() {
                        let plane: Plane
                        do { plane = try model.predictor.preprocess(image) } catch {
                            throw ServingError.badInput("\(file.name): \(error)")
                        }
                        planes.append(plane)
                        // (Without a prediction log nothing reads the description: the features are not computed.)
                        var description = service.logsPredictions ? InferenceService.describe(bytes: file.bytes, plane: plane, file: file.name, image: image) : [:]
                        if let kept { description["input_artifact"] = kept[i] }
                        described.append(description)
                    }
                    return (planes, described)
                }
                var entries: [[String: Any]] = []
                for (i, prediction) in outcome.predictions.enumerated() {
                    var heatmap: [UInt8]?
                    if explain == "gradcam" {
                        let image = images[i]
                        heatmap = try await outcome.model.batcher.run { p in
                            let cam = try p.gradCAM(image)
                            return try cam.heatmap.overlayPNG(on: cam.input)
                        }
                    }
                    entries.append(try PredictionAnswer.entry(file: files[i].name, prediction: prediction, spec: outcome.model.spec, heatmapPNG: heatmap, id: outcome.ids[i]))
                }
                var answer = PredictionAnswer.answer(model: name, version: outcome.model.version.version, reference: outcome.model.reference.description,
                                                     entries: entries, latency: monotonicSeconds() - started, batchSize: outcome.batchSize, gate: outcome.gateJSON)
                answer["route"] = outcome.role
                var response = jsonResponse(answer)
                response.headers[HTTPField.Name("X-Lumen-Model-Version")!] = String(outcome.model.version.version)
                return response
            }
        }

        router.post("/api/models/:name/reload") { _, context -> Response in
            await oip {
                let name = try context.parameters.require("name")
                let (model, replaced) = try await service.host.reload(name)
                var answer: [String: Any] = ["model": name, "version": model.version.version, "served_as": model.reference.description, "changed": replaced != nil]
                if let replaced { answer["replaced"] = replaced }
                return jsonResponse(answer)
            }
        }

        // Traffic policy of a served model: GET shows it, PUT sets it (JSON: split, canary, shadow, sticky_header), DELETE removes it.
        router.get("/api/models/:name/traffic") { _, context -> Response in
            await oip {
                let name = try context.parameters.require("name")
                let model = try await service.host.model(name)
                return jsonResponse(["model": name, "primary": model.version.version, "policy": await service.host.policy(for: name)?.json ?? [:]])
            }
        }
        router.put("/api/models/:name/traffic") { request, context -> Response in
            await oip {
                let name = try context.parameters.require("name")
                let body = try await collectBody(request, limit: 1 << 20)
                guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) else { throw ServingError.badInput("the traffic policy is not JSON") }
                let policy = try TrafficPolicy.parse(object, model: name)
                try await service.host.setPolicy(policy, for: name)
                return jsonResponse(["model": name, "policy": policy.json, "routes": await service.host.routeTable(name).json])
            }
        }
        router.delete("/api/models/:name/traffic") { _, context -> Response in
            await oip {
                let name = try context.parameters.require("name")
                try await service.host.setPolicy(nil, for: name)
                return jsonResponse(["model": name, "policy": [:] as [String: Any]])
            }
        }

        // Ground truth for logged predictions, by the prediction_id their answers gave.
        router.post("/api/feedback") { request, _ -> Response in
            await oip {
                let body = try await collectBody(request, limit: 8 << 20)
                let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))
                guard let list = (object as? [String: Any])?["feedback"] as? [[String: Any]] ?? (object as? [[String: Any]]) else {
                    throw ServingError.badInput("send {\"feedback\": [{\"prediction_id\": \"…\", \"label\": \"…\"}, …]}")
                }
                guard list.count <= 10_000 else { throw ServingError.tooLarge("at most 10,000 feedback items per request") }
                let items = try list.map { item -> Feedback in
                    guard let id = item["prediction_id"] as? String, let label = item["label"].map({ "\($0)" }) else {
                        throw ServingError.badInput("every feedback item needs prediction_id (string) and label")
                    }
                    return Feedback(predictionID: id, label: label)
                }
                let outcome = try await service.host.store.recordFeedback(items)
                return jsonResponse(["recorded": outcome.recorded, "updated": outcome.updated, "unknown": outcome.unknown])
            }
        }

        router.get("/api/models") { _, _ -> Response in
            var listed: [[String: Any]] = []
            for m in await service.host.all {
                // Where its traffic goes: the versions that answer (split, canary) and the shadow, loaded beside it.
                listed.append(["name": m.name, "version": m.version.version, "served_as": m.reference.description, "task": m.spec.task.rawValue,
                               "classes": m.spec.classes, "queue": m.batcher.depth,
                               "input": [m.spec.inputChannels, m.spec.inputHeight, m.spec.inputWidth],
                               "routes": await service.host.routeTable(m.name).json])
            }
            return jsonResponse(["models": listed])
        }
    }

    struct UploadedFile {
        var name: String
        var bytes: [UInt8]
        var hasFilename = true
    }

    /// The files of a request: the parts of a multipart/form-data body that carry a file name (or any
    /// part, for clients that send none), or the whole body as one file for other content types.
    static func files(_ request: Request, limits: UploadLimits) async throws -> [UploadedFile] {
        let body = try await collectBody(request, limit: limits.maxBytes)
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("multipart/form-data") else {
            guard body.readableBytes > 0 else { throw ServingError.badInput("no file in the request: send multipart/form-data with one or more files, or one file as the body") }
            let name = request.uri.queryParameters.get("filename") ?? "upload"
            return [UploadedFile(name: name, bytes: Array(body.readableBytesView))]
        }
        guard let boundary = contentType.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) })
            .first(where: { $0.lowercased().hasPrefix("boundary=") }).map({ String($0.dropFirst("boundary=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }),
            !boundary.isEmpty, boundary.count <= 200 else {
            throw ServingError.badInput("multipart/form-data without a boundary")
        }
        let parser = MultipartParser(boundary: boundary)
        var files: [UploadedFile] = []
        var fields = 0
        var headers: [(String, String)] = []
        var current: [UInt8] = []
        var tooMany = false
        parser.onHeader = { name, value in headers.append((name, value)) }
        parser.onBody = { buffer in current += buffer.readableBytesView }
        parser.onPartComplete = {
            let disposition = headers.first { $0.0.lowercased() == "content-disposition" }?.1 ?? ""
            let filename = Self.parameter("filename", in: disposition)
            let name = filename ?? Self.parameter("name", in: disposition) ?? "part\(files.count + fields + 1)"
            // Files and form fields each count against the limit on their own.
            if filename == nil { fields += 1 }
            if files.count >= limits.maxFiles || fields > limits.maxFiles { tooMany = true } else {
                files.append(UploadedFile(name: (name as NSString).lastPathComponent, bytes: current, hasFilename: filename != nil))
            }
            headers = []
            current = []
        }
        do { try parser.execute(body) } catch {
            throw ServingError.badInput("the multipart body is malformed: \(error)")
        }
        guard !tooMany else { throw ServingError.tooLarge("more than \(limits.maxFiles) files (or \(limits.maxFiles) form fields) in one request") }
        // The closing delimiter must be there (a part cut off by a truncated body would otherwise be dropped unseen).
        let tail = body.readableBytesView.suffix(1024 + boundary.utf8.count)
        guard Self.contains(Array(tail), Array("--\(boundary)--".utf8)) else {
            throw ServingError.badInput(files.isEmpty
                ? "no part of the multipart body ends with the boundary '\(boundary.prefix(70))' of its Content-Type (a different boundary, or a truncated body)"
                : "the multipart body has no closing boundary '--\(boundary.prefix(70))--': it looks truncated")
        }
        // Form fields beside the files (a part without a file name) are not images.
        let withNames = files.contains(where: \.hasFilename) ? files.filter(\.hasFilename) : files
        if let empty = withNames.first(where: { $0.bytes.isEmpty }), withNames.count > 1 || empty.hasFilename {
            throw ServingError.badInput("\(empty.name): the file is empty")
        }
        let nonEmpty = withNames.filter { !$0.bytes.isEmpty }
        guard !nonEmpty.isEmpty else { throw ServingError.badInput("no file in the multipart body") }
        return nonEmpty
    }

    /// Whether `needle` occurs in `haystack`.
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { i in haystack[i..<(i + needle.count)].elementsEqual(needle) }
    }

    /// `name="value"` out of a Content-Disposition header.
    static func parameter(_ key: String, in header: String) -> String? {
        for part in header.split(separator: ";") {
            let kv = part.trimmingCharacters(in: .whitespaces)
            guard kv.lowercased().hasPrefix(key + "=") else { continue }
            let value = kv.dropFirst(key.count + 1).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return value.isEmpty ? nil : value
        }
        return nil
    }
}
