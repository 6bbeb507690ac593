import Foundation
import HTTPTypes
import Hummingbird
import LumenWorkspace
import LumenImaging
import LumenInference
import LumenStore
import NIOCore

/// The Open Inference Protocol (KServe V2) over the served models: health, server and model metadata,
/// readiness and `infer` with JSON tensors or the binary tensor extension. A model's input is the tensor
/// its network takes (N × C × H × W, preprocessed as its spec says); images go to `/api/predict/{name}`.
struct OIPRoutes {
    let service: InferenceService

    func register(on router: Router<BasicRequestContext>) {
        let service = self.service, host = service.host
        router.get("/v2/health/live") { _, _ in jsonResponse(["live": true]) }
        router.get("/v2/health/ready") { _, _ -> Response in
            await host.isReady ? jsonResponse(["ready": true]) : oipError("models are still loading", status: .badRequest)
        }
        router.get("/v2") { _, _ in
            jsonResponse(["name": "lumen", "version": LumenRelease.version, "extensions": ["binary_tensor_data"]])
        }
        for versioned in [false, true] {
            let base = versioned ? "/v2/models/:name/versions/:version" : "/v2/models/:name"
            router.get(RouterPath(base)) { _, context -> Response in
                await oip {
                    let model = try await host.model(try context.parameters.require("name"), version: try Self.version(context, versioned))
                    return jsonResponse(Self.metadata(model))
                }
            }
            // Triton's model-configuration extension (tritonclient's get_model_config), read-only.
            router.get(RouterPath("\(base)/config")) { _, context -> Response in
                await oip {
                    let model = try await host.model(try context.parameters.require("name"), version: try Self.version(context, versioned))
                    return jsonResponse(Self.configuration(model, batching: host.options))
                }
            }
            router.get(RouterPath("\(base)/ready")) { _, context -> Response in
                await oip {
                    _ = try await host.model(try context.parameters.require("name"), version: try Self.version(context, versioned))
                    return jsonResponse(["ready": true])
                }
            }
            router.post(RouterPath("\(base)/infer")) { request, context -> Response in
                await oip {
                    let started = monotonicSeconds()
                    let name = try context.parameters.require("name")
                    let version = try Self.version(context, versioned)
                    _ = try await host.model(name, version: version)
                    let body = try await collectBody(request, limit: service.limits.maxBytes)
                    let headerLength = try request.headers[HTTPField.Name("Inference-Header-Content-Length")!].map { text -> Int in
                        guard let n = Int(text.trimmingCharacters(in: .whitespaces)), n >= 0 else {
                            throw ServingError.badInput("Inference-Header-Content-Length '\(text.prefix(40))' is not a non-negative whole number")
                        }
                        return n
                    }
                    if let encoding = request.headers[.contentEncoding], encoding.lowercased() != "identity" {
                        throw ServingError.unsupportedMediaType("Content-Encoding '\(encoding.prefix(40))' is not supported: send the request uncompressed")
                    }
                    let inference = try InferRequest.parse(body: body, headerLength: headerLength)
                    let sticky = await host.stickyHeader(for: name).flatMap { HTTPField.Name($0) }.flatMap { request.headers[$0] }
                    let outcome = try await service.predict(name, version: version, stickyKey: sticky, started: started) { model in
                        let planes = try inference.planes(for: model.spec)
                        return (planes, planes.map { service.logsPredictions ? InferenceService.describe(bytes: nil, plane: $0) : [:] })
                    }
                    return try inference.response(outcome)
                }
            }
        }
    }

    static func version(_ context: BasicRequestContext, _ versioned: Bool) throws -> Int64? {
        guard versioned else { return nil }
        let text = try context.parameters.require("version")
        guard let v = Int64(text), v >= 1 else { throw ServingError.badInput("model version '\(text)' is not a positive number") }
        return v
    }

    /// The model as Triton describes a model's configuration (dims without the batch dimension).
    static func configuration(_ model: ServedModel, batching: BatchingOptions) -> [String: Any] {
        let described = metadata(model)
        func tensors(_ key: String) -> [[String: Any]] {
            ((described[key] as? [[String: Any]]) ?? []).map { t in
                ["name": t["name"] ?? "", "data_type": "TYPE_\(t["datatype"] as? String ?? "FP32")", "dims": Array(((t["shape"] as? [Int]) ?? []).dropFirst())]
            }
        }
        return ["name": model.name, "platform": "lumen_libtorch", "backend": "lumen", "max_batch_size": batching.maxBatch,
                "input": tensors("inputs"), "output": tensors("outputs"),
                "dynamic_batching": ["max_queue_delay_microseconds": Int((batching.window * 1e6).rounded())],
                "version_policy": ["specific": ["versions": [model.version.version]]]]
    }

    /// Model metadata: one input (the network's tensor) and the outputs `infer` can give.
    static func metadata(_ model: ServedModel) -> [String: Any] {
        let spec = model.spec
        var outputs: [[String: Any]] = []
        switch spec.task {
        case .classification, .multiLabel:
            outputs.append(["name": "probabilities", "datatype": "FP32", "shape": [-1, spec.classes.count]])
            if spec.task == .classification { outputs.append(["name": "label", "datatype": "INT64", "shape": [-1]]) }
        case .segmentation:
            outputs.append(["name": "mask", "datatype": "INT32", "shape": [-1, spec.inputHeight, spec.inputWidth]])
        }
        return ["name": model.name, "versions": [String(model.version.version)], "platform": "lumen_libtorch",
                "inputs": [["name": "input", "datatype": "FP32", "shape": [-1, spec.inputChannels, spec.inputHeight, spec.inputWidth]]],
                "outputs": outputs,
                "parameters": ["task": spec.task.rawValue, "classes": spec.classes, "architecture": spec.architecture.name.rawValue]]
    }
}

/// Runs a route body and answers errors the way the protocol does: `{"error": "…"}` with a 4xx (5xx
/// only for what should not happen), `Retry-After` on a full queue.
func oip(_ body: () async throws -> Response) async -> Response {
    do {
        return try await body()
    } catch let error as ServingError {
        if case .gated(let message, let verdicts) = error {
            return jsonResponse(["error": message, "gate": ["verdict": "rejected", "images": verdicts.map(\.json)] as [String: Any]], status: error.status)
        }
        var response = oipError(error.description, status: error.status)
        if case .overloaded(let seconds) = error { response.headers[.retryAfter] = String(seconds) }
        return response
    } catch let error as HTTPError {
        return oipError(error.body ?? "\(error.status.reasonPhrase)", status: error.status)
    } catch let error as StoreError {
        if case .notFound(let what) = error { return oipError(what, status: .notFound) }
        return oipError("\(error)", status: .badRequest)
    } catch {
        return oipError("\(error)", status: .badRequest)
    }
}

/// The request body, at most `limit` bytes; a larger one is a 413 that names the option raising the limit.
func collectBody(_ request: Request, limit: Int) async throws -> ByteBuffer {
    do {
        return try await request.body.collect(upTo: limit)
    } catch is NIOTooManyBytesError {
        throw ServingError.tooLarge("the request is larger than \(limit / (1024 * 1024)) MiB (lumen serve --max-upload-mb)")
    } catch let error as HTTPError where error.status == .contentTooLarge {
        throw ServingError.tooLarge("the request is larger than \(limit / (1024 * 1024)) MiB (lumen serve --max-upload-mb)")
    }
}

func oipError(_ message: String, status: HTTPResponse.Status) -> Response {
    jsonResponse(["error": message], status: status)
}

/// An `infer` request: its JSON header and, with the binary extension, the raw tensor bytes after it.
struct InferRequest {
    struct Input {
        var name: String
        var shape: [Int]
        var datatype: String
        var values: [Float]
    }
    var id: String?
    var input: Input
    /// Requested outputs (empty: all), and whether each is wanted as binary data.
    var outputs: [(name: String, binary: Bool)]
    var binaryByDefault: Bool

    static let sizes: [String: Int] = ["FP32": 4, "FP64": 8, "FP16": 2, "UINT8": 1, "UINT16": 2, "UINT32": 4, "UINT64": 8, "INT8": 1, "INT16": 2, "INT32": 4, "INT64": 8, "BOOL": 1]

    static func parse(body: ByteBuffer, headerLength: Int?) throws -> InferRequest {
        let bytes = Array(body.readableBytesView)
        let jsonLength = headerLength ?? bytes.count
        guard jsonLength >= 0, jsonLength <= bytes.count else {
            throw ServingError.badInput("Inference-Header-Content-Length \(jsonLength) is larger than the body (\(bytes.count) bytes)")
        }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: Data(bytes[0..<jsonLength])) } catch {
            let part = headerLength == nil ? "the body" : "the first \(jsonLength) bytes (Inference-Header-Content-Length)"
            throw ServingError.badInput("the inference request is not valid JSON: \(part) cannot be parsed (\(Self.reason(error)))")
        }
        guard let object = parsed as? [String: Any] else {
            throw ServingError.badInput("the inference request must be a JSON object with 'inputs'")
        }
        guard let inputs = object["inputs"] as? [[String: Any]], !inputs.isEmpty else { throw ServingError.badInput("'inputs' must be a non-empty list of tensors") }
        guard inputs.count == 1 else { throw ServingError.badInput("the model takes one input tensor ('input'); got \(inputs.count)") }
        let raw = inputs[0]
        guard let name = raw["name"] as? String else { throw ServingError.badInput("the input tensor needs a 'name' (the model's input is 'input')") }
        guard name == "input" else { throw ServingError.badInput("unknown input '\(name.prefix(100))': the model's input is 'input'") }
        guard let shape = (raw["shape"] as? [Any])?.map({ Self.wholeNumber($0) ?? -1 }), shape.allSatisfy({ $0 >= 0 }), !shape.isEmpty else {
            throw ServingError.badInput("input '\(name)': 'shape' must be a list of non-negative integers")
        }
        guard let datatype = raw["datatype"] as? String, let size = sizes[datatype] else {
            throw ServingError.badInput("input '\(name)': 'datatype' must be one of \(sizes.keys.sorted().joined(separator: ", "))")
        }
        let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        guard count <= 64 * 1024 * 1024 else { throw ServingError.tooLarge("input '\(name)': \(shape) holds too many elements") }
        var values: [Float]
        let parameters = raw["parameters"] as? [String: Any]
        if let binarySize = (parameters?["binary_data_size"] as? NSNumber)?.intValue {
            guard headerLength != nil else { throw ServingError.badInput("input '\(name)' has binary_data_size but the request has no Inference-Header-Content-Length header") }
            guard binarySize == count * size, jsonLength + binarySize <= bytes.count else {
                throw ServingError.badInput("input '\(name)': binary_data_size \(binarySize) does not match \(shape) \(datatype) (\(count * size) bytes) or the body")
            }
            guard jsonLength + binarySize == bytes.count else {
                throw ServingError.badInput("input '\(name)': \(bytes.count - jsonLength - binarySize) bytes follow its \(binarySize) bytes of binary data; the body must end there")
            }
            values = try decodeBinary(Array(bytes[jsonLength..<(jsonLength + binarySize)]), datatype: datatype, count: count)
        } else {
            guard let data = raw["data"] else { throw ServingError.badInput("input '\(name)' has neither 'data' nor binary_data_size") }
            values = []
            values.reserveCapacity(count)
            try flatten(data, into: &values, name: name, datatype: datatype)
            guard values.count == count else { throw ServingError.badInput("input '\(name)': \(values.count) values for shape \(shape) (\(count) expected)") }
            guard headerLength == nil || jsonLength == bytes.count else {
                throw ServingError.badInput("\(bytes.count - jsonLength) bytes follow the JSON header but no input declares binary_data_size")
            }
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw ServingError.badInput("input '\(name)': value \(bad) is \(values[bad]) (inputs must be finite numbers)")
        }
        var outputs: [(String, Bool)] = []
        let requestParameters = object["parameters"] as? [String: Any]
        let binaryByDefault = (requestParameters?["binary_data_output"] as? Bool) ?? false
        if let requested = object["outputs"] as? [[String: Any]] {
            for o in requested {
                guard let n = o["name"] as? String else { throw ServingError.badInput("every requested output needs a 'name'") }
                guard !outputs.contains(where: { $0.0 == n }) else { throw ServingError.badInput("output '\(n.prefix(100))' is requested twice") }
                outputs.append((n, ((o["parameters"] as? [String: Any])?["binary_data"] as? Bool) ?? binaryByDefault))
            }
        }
        return InferRequest(id: object["id"] as? String, input: Input(name: name, shape: shape, datatype: datatype, values: values),
                            outputs: outputs, binaryByDefault: binaryByDefault)
    }

    /// The integer an OIP JSON number stands for (`3`, `3.0`), nil for a fraction, a boolean or anything else.
    static func wholeNumber(_ value: Any) -> Int? {
        guard let n = value as? NSNumber, !isJSONBoolean(n) else { return nil }
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }

    /// Each datatype's range of values (integers must be whole and inside it; BOOL is 0 or 1).
    static let integerRanges: [String: ClosedRange<Double>] = [
        "UINT8": 0...255, "INT8": -128...127, "UINT16": 0...65_535, "INT16": -32_768...32_767,
        "UINT32": 0...4_294_967_295, "INT32": -2_147_483_648...2_147_483_647,
        "UINT64": 0...18_446_744_073_709_551_615, "INT64": -9_223_372_036_854_775_808...9_223_372_036_854_775_807, "BOOL": 0...1,
    ]

    static func flatten(_ value: Any, into out: inout [Float], name: String, datatype: String) throws {
        if let n = value as? NSNumber {
            if let range = integerRanges[datatype] {
                let d = n.doubleValue
                guard d == d.rounded(), range.contains(d) else {
                    throw ServingError.badInput("input '\(name)': \(n) is not a valid \(datatype) value (\(datatype == "BOOL" ? "true, false, 0 or 1" : "a whole number in \(Int64(range.lowerBound))…\(UInt64(range.upperBound))"))")
                }
            } else if isJSONBoolean(n) {
                throw ServingError.badInput("input '\(name)': \(n.boolValue) in \(datatype) data (send numbers)")
            }
            out.append(n.floatValue)
        } else if let list = value as? [Any] {
            for v in list { try flatten(v, into: &out, name: name, datatype: datatype) }
        } else {
            throw ServingError.badInput("input '\(name)': 'data' must hold numbers")
        }
    }

    /// Whether JSONSerialization made this number from `true`/`false` (its booleans are chars; its numbers never are).
    static func isJSONBoolean(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    /// A JSON parser's complaint, short.
    static func reason(_ error: Error) -> String {
        let described = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
        return String(described.prefix(160))
    }

    static func decodeBinary(_ bytes: [UInt8], datatype: String, count: Int) throws -> [Float] {
        func load<T>(_ type: T.Type, _ convert: (T) -> Float) -> [Float] {
            bytes.withUnsafeBytes { raw in (0..<count).map { convert(raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) } }
        }
        switch datatype {
        case "FP32": return load(UInt32.self) { Float(bitPattern: UInt32(littleEndian: $0)) }
        case "FP64": return load(UInt64.self) { Float(Double(bitPattern: UInt64(littleEndian: $0))) }
        case "FP16": return load(UInt16.self) { Float(Float16(bitPattern: UInt16(littleEndian: $0))) }
        case "UINT8": return bytes.prefix(count).map { Float($0) }
        case "BOOL":
            if let bad = bytes.prefix(count).firstIndex(where: { $0 > 1 }) {
                throw ServingError.badInput("BOOL byte \(bad) is \(bytes[bad]); BOOL data holds 0 or 1 per element")
            }
            return bytes.prefix(count).map { Float($0) }
        case "INT8": return bytes.prefix(count).map { Float(Int8(bitPattern: $0)) }
        case "UINT16": return load(UInt16.self) { Float(UInt16(littleEndian: $0)) }
        case "INT16": return load(UInt16.self) { Float(Int16(bitPattern: UInt16(littleEndian: $0))) }
        case "UINT32": return load(UInt32.self) { Float(UInt32(littleEndian: $0)) }
        case "INT32": return load(UInt32.self) { Float(Int32(bitPattern: UInt32(littleEndian: $0))) }
        case "UINT64": return load(UInt64.self) { Float(UInt64(littleEndian: $0)) }
        case "INT64": return load(UInt64.self) { Float(Int64(bitPattern: UInt64(littleEndian: $0))) }
        default: throw ServingError.badInput("datatype \(datatype) is not supported")
        }
    }

    /// The input as the model's planes: shape N × C × H × W (or C × H × W for one image) matching the spec.
    func planes(for spec: ModelSpec) throws -> [Plane] {
        var shape = input.shape
        if shape.count == 3 { shape.insert(1, at: 0) }
        let expected = [spec.inputChannels, spec.inputHeight, spec.inputWidth]
        guard shape.count == 4, Array(shape[1...]) == expected else {
            throw ServingError.badInput("input '\(input.name)' has shape \(input.shape); the model takes [N, \(expected.map(String.init).joined(separator: ", "))] (FP32, preprocessed; send images to /api/predict)")
        }
        guard shape[0] >= 1 else { throw ServingError.badInput("input '\(input.name)' holds no image (N = 0)") }
        let (c, h, w) = (shape[1], shape[2], shape[3])
        let per = c * h * w
        return (0..<shape[0]).map { n in
            // Channels-first (the tensor) to the plane's interleaved layout.
            var values = [Float](repeating: 0, count: per)
            let base = n * per
            for ch in 0..<c { for i in 0..<(h * w) { values[i * c + ch] = input.values[base + ch * h * w + i] } }
            return Plane(width: w, height: h, channels: c, values: values)
        }
    }

    /// The answer: the requested outputs (all when none was named), JSON or binary.
    func response(_ outcome: InferenceService.Outcome) throws -> Response {
        let spec = outcome.model.spec
        let n = outcome.predictions.count
        var available: [String: (datatype: String, shape: [Int], floats: [Float]?, ints: [Int64]?)] = [:]
        switch spec.task {
        case .classification, .multiLabel:
            available["probabilities"] = ("FP32", [n, spec.classes.count], outcome.predictions.flatMap { $0.probabilities.map(Float.init) }, nil)
            if spec.task == .classification { available["label"] = ("INT64", [n], nil, outcome.predictions.map { Int64($0.labels.first ?? 0) }) }
        case .segmentation:
            let masks = outcome.predictions.compactMap(\.mask)
            let h = masks.first?.height ?? spec.inputHeight, w = masks.first?.width ?? spec.inputWidth
            available["mask"] = ("INT32", [n, h, w], nil, masks.flatMap { $0.classes.map(Int64.init) })
        }
        let wanted = outputs.isEmpty ? available.keys.sorted().map { ($0, binaryByDefault) } : outputs
        var described: [[String: Any]] = []
        var binary: [UInt8] = []
        for (name, asBinary) in wanted {
            guard let o = available[name] else {
                throw ServingError.badInput("unknown output '\(name)'; the model gives \(available.keys.sorted().joined(separator: ", "))")
            }
            var entry: [String: Any] = ["name": name, "datatype": o.datatype, "shape": o.shape]
            if asBinary {
                var bytes: [UInt8] = []
                if let f = o.floats { for v in f { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } } }
                if let ints = o.ints {
                    if o.datatype == "INT32" { for v in ints { withUnsafeBytes(of: Int32(v).littleEndian) { bytes += $0 } } }
                    else { for v in ints { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } } }
                }
                entry["parameters"] = ["binary_data_size": bytes.count]
                binary += bytes
            } else {
                entry["data"] = o.floats.map { $0.map { Double($0) } as [Any] } ?? (o.ints ?? []).map { $0 as Any }
            }
            described.append(entry)
        }
        var object: [String: Any] = ["model_name": outcome.model.name, "model_version": String(outcome.model.version.version), "outputs": described,
                                     "parameters": ["prediction_ids": outcome.ids.joined(separator: ",")]]
        if let id { object["id"] = id }
        let json = JSONWriter.encode(object)
        var headers: HTTPFields = [.contentType: binary.isEmpty ? "application/json" : "application/octet-stream",
                                   HTTPField.Name("X-Lumen-Model-Version")!: String(outcome.model.version.version)]
        if !binary.isEmpty { headers[HTTPField.Name("Inference-Header-Content-Length")!] = String(json.count) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: json + binary)))
    }
}
