import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LumenImaging
import LumenInference
@testable import LumenServing
import LumenStore
import LumenTensor
import NIOCore
import Testing

@Suite("Serving: Open Inference Protocol, image upload, batching, reload", .serialized)
struct ServingTests {
    @Test func healthMetadataAndReadiness() async throws {
        let fixture = try await ServingFixture.make()
        defer { Task { await fixture.close() } }
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/v2/health/live", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v2/health/ready", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v2", method: .get) { response in
                let body = json(response.body)
                #expect(body["name"] as? String == "lumen" && (body["extensions"] as? [String])?.contains("binary_tensor_data") == true)
            }
            try await client.execute(uri: "/v2/models/m", method: .get) { response in
                let body = json(response.body)
                #expect(response.status == .ok && body["versions"] as? [String] == ["1"])
                let input = (body["inputs"] as? [[String: Any]])?.first
                #expect(input?["shape"] as? [Int] == [-1, 1, 32, 32] && input?["datatype"] as? String == "FP32")
                #expect((body["parameters"] as? [String: Any])?["classes"] as? [String] == ["normal", "pneumonia"])
            }
            try await client.execute(uri: "/v2/models/m/versions/1/ready", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v2/models/m/versions/2", method: .get) { response in
                #expect(response.status == .notFound && (json(response.body)["error"] as? String)?.contains("served: 1") == true)
            }
            try await client.execute(uri: "/v2/models/nope/ready", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/v2/models/m/versions/x", method: .get) { #expect($0.status == .badRequest) }
        }
    }

    /// JSON and binary tensors give the network's own output on the same input, as an independently built predictor computes it.
    @Test func inferJSONAndBinaryEqualThePredictor() async throws {
        let fixture = try await ServingFixture.make()
        defer { Task { await fixture.close() } }
        var rng = SeededGenerator(seed: 9)
        let values = (0..<(2 * 32 * 32)).map { _ in Float.random(in: 0...1, using: &rng) }
        let expected = try fixture.reference(1).predict(batch: Tensor(values, shape: [2, 1, 32, 32])).predictions
        let request: [String: Any] = ["id": "r1", "inputs": [["name": "input", "shape": [2, 1, 32, 32], "datatype": "FP32", "data": values.map(Double.init)]]]
        let requestBody = try JSONSerialization.data(withJSONObject: request)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/v2/models/m/infer", method: .post, body: ByteBuffer(data: requestBody)) { response in
                #expect(response.status == .ok)
                let body = json(response.body)
                #expect(body["model_name"] as? String == "m" && body["model_version"] as? String == "1" && body["id"] as? String == "r1")
                let outputs = try #require(body["outputs"] as? [[String: Any]])
                let probabilities = try #require(outputs.first { $0["name"] as? String == "probabilities" })
                #expect(probabilities["shape"] as? [Int] == [2, 2])
                let got = try #require(probabilities["data"] as? [Double])
                let want = expected.flatMap(\.probabilities)
                #expect(zip(got, want).allSatisfy { abs($0 - $1) < 1e-6 }, "\(got) vs \(want)")
                let labels = outputs.first { $0["name"] as? String == "label" }?["data"] as? [Int]
                #expect(labels == expected.map { $0.labels[0] })
            }
            // The binary tensor extension: the JSON header, then the raw little-endian tensor; binary outputs back.
            var header: [String: Any] = ["inputs": [["name": "input", "shape": [2, 1, 32, 32], "datatype": "FP32", "parameters": ["binary_data_size": values.count * 4]]],
                                         "outputs": [["name": "probabilities", "parameters": ["binary_data": true]]]]
            var headerBytes = try JSONSerialization.data(withJSONObject: header)
            var body = [UInt8](headerBytes)
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { body += $0 } }
            try await client.execute(uri: "/v2/models/m/versions/1/infer", method: .post,
                                     headers: [HTTPField.Name("Inference-Header-Content-Length")!: String(headerBytes.count)], body: ByteBuffer(bytes: body)) { response in
                #expect(response.status == .ok)
                let length = try #require(response.headers[HTTPField.Name("Inference-Header-Content-Length")!].flatMap { Int($0) })
                let bytes = Array(response.body.readableBytesView)
                let head = try #require(try JSONSerialization.jsonObject(with: Data(bytes[0..<length])) as? [String: Any])
                let output = try #require((head["outputs"] as? [[String: Any]])?.first)
                #expect((output["parameters"] as? [String: Any])?["binary_data_size"] as? Int == 16 && output["data"] == nil)
                let floats = (0..<4).map { i in Float(bitPattern: UInt32(bytes[length + 4 * i]) | UInt32(bytes[length + 4 * i + 1]) << 8 | UInt32(bytes[length + 4 * i + 2]) << 16 | UInt32(bytes[length + 4 * i + 3]) << 24) }
                #expect(zip(floats, expected.flatMap(\.probabilities)).allSatisfy { abs(Double($0) - $1) < 1e-6 })
            }
            // UINT8 data are converted to the network's float input.
            let bytes = values.prefix(32 * 32).map { UInt8($0 * 255) }
            header = ["inputs": [["name": "input", "shape": [1, 1, 32, 32], "datatype": "UINT8", "parameters": ["binary_data_size": bytes.count]]]]
            headerBytes = try JSONSerialization.data(withJSONObject: header)
            let uint8Expected = try fixture.reference(1).predict(batch: Tensor(bytes.map(Float.init), shape: [1, 1, 32, 32])).predictions[0].probabilities
            try await client.execute(uri: "/v2/models/m/infer", method: .post,
                                     headers: [HTTPField.Name("Inference-Header-Content-Length")!: String(headerBytes.count)], body: ByteBuffer(bytes: [UInt8](headerBytes) + bytes)) { response in
                #expect(response.status == .ok)
                let data = (json(response.body)["outputs"] as? [[String: Any]])?.first { $0["name"] as? String == "probabilities" }?["data"] as? [Double]
                #expect(data.map { zip($0, uint8Expected).allSatisfy { abs($0 - $1) < 1e-6 } } == true)
            }
        }
    }

    @Test func inferRefusesWhatDoesNotFitWithA4xx() async throws {
        let fixture = try await ServingFixture.make()
        defer { Task { await fixture.close() } }
        let cases: [(String, HTTPFields, [UInt8], HTTPResponse.Status, String)] = [
            ("/v2/models/m/infer", [:], Array("not json".utf8), .badRequest, "not valid JSON"),
            ("/v2/models/m/infer", [:], Array("[1, 2]".utf8), .badRequest, "must be a JSON object"),
            ("/v2/models/m/infer", [:], Array("{\"inputs\": [{\"name\": \"x\", \"shape\": [1, 1, 32, 32], \"datatype\": \"FP32\", \"data\": [0]}]}".utf8), .badRequest, "unknown input 'x'"),
            ("/v2/models/m/infer", [:], Array("{\"inputs\": [{\"shape\": [1, 1, 32, 32], \"datatype\": \"FP32\", \"data\": [0]}]}".utf8), .badRequest, "needs a 'name'"),
            ("/v2/models/m/infer", [:], Array("{\"inputs\": [{\"name\": \"input\", \"shape\": [1.5, 1, 32, 32], \"datatype\": \"FP32\", \"data\": [0]}]}".utf8), .badRequest, "non-negative integers"),
            ("/v2/models/m/infer", [:], Array("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 1, 32, 32], \"datatype\": \"UINT8\", \"data\": [300\(String(repeating: ", 0", count: 1023))]}]}".utf8), .badRequest, "300 is not a valid UINT8 value"),
            ("/v2/models/m/infer", [:], Array("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 1, 32, 32], \"datatype\": \"INT32\", \"data\": [0.5\(String(repeating: ", 0", count: 1023))]}]}".utf8), .badRequest, "0.5 is not a valid INT32 value"),
            ("/v2/models/m/infer", [:], Array("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 1, 32, 32], \"datatype\": \"FP32\", \"data\": [true\(String(repeating: ", 0", count: 1023))]}]}".utf8), .badRequest, "true in FP32 data"),
            ("/v2/models/m/infer", [HTTPField.Name("Inference-Header-Content-Length")!: "-1"], Array("{}".utf8), .badRequest, "not a non-negative whole number"),
            ("/v2/models/m/infer", [HTTPField.Name("Inference-Header-Content-Length")!: "abc"], Array("{}".utf8), .badRequest, "not a non-negative whole number"),
            ("/v2/models/m/infer", [.contentEncoding: "gzip"], Array("{}".utf8), .unsupportedMediaType, "Content-Encoding 'gzip'"),
            ("/v2/models/m/infer", [:], Array("{\"inputs\": []}".utf8), .badRequest, "non-empty list"),
            ("/v2/models/m/infer", [:], Array("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 1, 8, 8], \"datatype\": \"FP32\", \"data\": \(Array(repeating: 0, count: 64))}]}".utf8), .badRequest, "the model takes [N, 1, 32, 32]"),
            ("/v2/models/m/infer", [:], Array("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 1, 32, 32], \"datatype\": \"FP32\", \"data\": [1, 2]}]}".utf8), .badRequest, "2 values for shape"),
            ("/v2/models/m/infer", [:], Array("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 1, 32, 32], \"datatype\": \"COMPLEX\", \"data\": [1]}]}".utf8), .badRequest, "'datatype' must be one of"),
            ("/v2/models/m/infer", [:], Array("{\"inputs\": [{\"name\": \"input\", \"shape\": [-1, 1, 32, 32], \"datatype\": \"FP32\", \"data\": [1]}]}".utf8), .badRequest, "non-negative"),
            ("/v2/models/m/infer", [:], Array("{\"inputs\": [{\"name\": \"input\", \"shape\": [100000, 100000, 32, 32], \"datatype\": \"FP32\", \"data\": [1]}]}".utf8), .contentTooLarge, "too many elements"),
            ("/v2/models/m/infer", [HTTPField.Name("Inference-Header-Content-Length")!: "5000"], Array("{}".utf8), .badRequest, "larger than the body"),
            ("/v2/models/m/infer", [HTTPField.Name("Inference-Header-Content-Length")!: "100"],
             Array("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 1, 32, 32], \"datatype\": \"FP32\", \"parameters\": {\"binary_data_size\": 12}}]}".utf8).prefix(100) + [UInt8](repeating: 0, count: 12), .badRequest, ""),
            ("/v2/models/nope/infer", [:], Array("{}".utf8), .notFound, "no model named 'nope'"),
            ("/v2/models/m/versions/9/infer", [:], Array("{}".utf8), .badRequest, ""),
        ]
        try await fixture.app().test(.router) { client in
            for (uri, headers, body, status, fragment) in cases {
                try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
                    let message = json(response.body)["error"] as? String ?? ""
                    #expect(response.status.code >= 400 && response.status.code < 500, "\(uri) \(String(decoding: body.prefix(80), as: UTF8.self)): \(response.status) \(message)")
                    if status != .badRequest || !fragment.isEmpty { #expect(response.status == status, "\(message)") }
                    #expect(fragment.isEmpty || message.contains(fragment), "'\(message)' should say '\(fragment)'")
                }
            }
            let unknownOutput: [String: Any] = ["inputs": [["name": "input", "shape": [1, 1, 32, 32], "datatype": "FP32", "data": [Double](repeating: 0, count: 1024)]],
                                                "outputs": [["name": "logits"]]]
            try await client.execute(uri: "/v2/models/m/infer", method: .post, body: ByteBuffer(data: try JSONSerialization.data(withJSONObject: unknownOutput))) { response in
                #expect(response.status == .badRequest && (json(response.body)["error"] as? String)?.contains("unknown output 'logits'") == true)
            }
            var twice = unknownOutput
            twice["outputs"] = [["name": "label"], ["name": "label"]]
            try await client.execute(uri: "/v2/models/m/infer", method: .post, body: ByteBuffer(data: try JSONSerialization.data(withJSONObject: twice))) { response in
                #expect(response.status == .badRequest && (json(response.body)["error"] as? String)?.contains("requested twice") == true)
            }
            // The binary extension: bytes after the tensor, a NaN, a BOOL byte that is neither 0 nor 1.
            func binary(_ datatype: String, _ tensor: [UInt8], extra: [UInt8] = []) -> (ByteBuffer, HTTPFields) {
                let header = Array("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 1, 32, 32], \"datatype\": \"\(datatype)\", \"parameters\": {\"binary_data_size\": \(tensor.count)}}]}".utf8)
                return (ByteBuffer(bytes: header + tensor + extra), [HTTPField.Name("Inference-Header-Content-Length")!: String(header.count)])
            }
            var floats = [Float](repeating: 0.25, count: 1024)
            let good = floats.withUnsafeBytes { Array($0) }
            floats[5] = .nan
            let withNaN = floats.withUnsafeBytes { Array($0) }
            for (label, (body, headers), fragment) in [("ok", binary("FP32", good), ""), ("trailing", binary("FP32", good, extra: [1, 2]), "2 bytes follow"),
                                                       ("nan", binary("FP32", withNaN), "value 5 is nan"),
                                                       ("bool", binary("BOOL", [UInt8](repeating: 0, count: 1023) + [2]), "BOOL byte 1023 is 2")] {
                try await client.execute(uri: "/v2/models/m/infer", method: .post, headers: headers, body: body) { response in
                    if fragment.isEmpty { #expect(response.status == .ok, "\(label)") } else {
                        #expect(response.status == .badRequest && (json(response.body)["error"] as? String)?.contains(fragment) == true, "\(label): \(json(response.body))")
                    }
                }
            }
        }
    }

    /// An upload is read and preprocessed as at training: the answer equals the predictor's own `predict` on the decoded image.
    @Test func uploadAnswersLikeThePredictor() async throws {
        let fixture = try await ServingFixture.make()
        defer { Task { await fixture.close() } }
        let pngs = try (0..<3).map { try testPNG(seed: $0) }
        let reference = try fixture.reference(1)
        let expected = try reference.predict(try pngs.enumerated().map { try ImageReader.read($0.element, source: "\($0.offset).png") })
        try await fixture.app().test(.router) { client in
            let (body, headers) = multipart(pngs.enumerated().map { ("scan\($0.offset).png", $0.element) })
            try await client.execute(uri: "/api/predict/m", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("X-Lumen-Model-Version")!] == "1")
                let answer = json(response.body)
                #expect(answer["model"] as? String == "m" && answer["version"] as? Int == 1 && answer["served_as"] as? String == "m@champion")
                #expect((answer["gate"] as? [String: Any])?["verdict"] as? String == "accepted" && answer["latency_ms"] is Double)
                let predictions = try #require(answer["predictions"] as? [[String: Any]])
                #expect(predictions.map { $0["file"] as? String } == ["scan0.png", "scan1.png", "scan2.png"])
                for (p, e) in zip(predictions, expected) {
                    let probabilities = try #require(p["probabilities"] as? [String: Double])
                    #expect(abs(probabilities["normal"]! - e.probabilities[0]) < 1e-6 && abs(probabilities["pneumonia"]! - e.probabilities[1]) < 1e-6)
                    #expect(p["label"] as? String == ["normal", "pneumonia"][e.labels[0]] && p["positive_class"] as? String == "pneumonia")
                }
            }
            // One file as the raw body, and Grad-CAM as a PNG.
            try await client.execute(uri: "/api/predict/m?explain=gradcam&filename=one.png", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: pngs[0])) { response in
                #expect(response.status == .ok)
                let p = try #require((json(response.body)["predictions"] as? [[String: Any]])?.first)
                #expect(p["file"] as? String == "one.png")
                let cam = try #require((p["gradcam_png_base64"] as? String).flatMap { Data(base64Encoded: $0) })
                #expect(Array(cam.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
                #expect(try ImageReader.read([UInt8](cam), source: "cam.png").width == 32)
            }
            try await client.execute(uri: "/api/predict/m?version=2", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: pngs[0])) { response in
                #expect(response.status == .notFound, "version 2 is not served")
            }
        }
    }

    @Test func uploadsThatCannotBeReadGetA4xxNamingTheFile() async throws {
        var limits = UploadLimits()
        limits.maxBytes = 200_000
        limits.maxFiles = 4
        let fixture = try await ServingFixture.make(limits: limits)
        defer { Task { await fixture.close() } }
        let png = try testPNG(seed: 1)
        try await fixture.app().test(.router) { client in
            let (truncated, h1) = multipart([("good.png", png), ("cut.png", Array(png.prefix(30)))])
            try await client.execute(uri: "/api/predict/m", method: .post, headers: h1, body: truncated) { response in
                #expect(response.status == .badRequest && (json(response.body)["error"] as? String)?.contains("cut.png") == true, "\(json(response.body))")
            }
            let (many, h2) = multipart((0..<6).map { ("f\($0).png", png) })
            try await client.execute(uri: "/api/predict/m", method: .post, headers: h2, body: many) { #expect($0.status == .contentTooLarge) }
            try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: [UInt8](repeating: 1, count: 300_000))) { response in
                #expect(response.status == .contentTooLarge && (json(response.body)["error"] as? String)?.contains("--max-upload-mb") == true, "\(response.status) \(json(response.body))")
            }
            try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "multipart/form-data"], body: ByteBuffer(string: "x")) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"]) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/api/predict/m?explain=shap", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: png)) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/api/predict/nope", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: png)) { #expect($0.status == .notFound) }
            // The model is looked up before the upload is decoded: not an image, but first of all no such model.
            try await client.execute(uri: "/api/predict/nope", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(string: "not an image")) {
                #expect($0.status == .notFound)
            }
            // An empty file beside a good one is named, not dropped.
            let (withEmpty, h4) = multipart([("good.png", png), ("empty.png", [])])
            try await client.execute(uri: "/api/predict/m", method: .post, headers: h4, body: withEmpty) { response in
                #expect(response.status == .badRequest && (json(response.body)["error"] as? String) == "empty.png: the file is empty", "\(json(response.body))")
            }
            // A body cut before its closing boundary, and one under another boundary than its Content-Type's.
            var cut = multipart([("good.png", png), ("second.png", png)]).0
            cut = cut.getSlice(at: 0, length: cut.readableBytes - 40)!
            try await client.execute(uri: "/api/predict/m", method: .post, headers: h4, body: cut) { response in
                #expect(response.status == .badRequest && (json(response.body)["error"] as? String)?.contains("truncated") == true, "\(json(response.body))")
            }
            let (other, _) = multipart([("good.png", png)], boundary: "another-boundary")
            try await client.execute(uri: "/api/predict/m", method: .post, headers: h4, body: other) { response in
                #expect(response.status == .badRequest && (json(response.body)["error"] as? String)?.contains("lumen-test-boundary") == true, "\(json(response.body))")
            }
            // Form fields count apart from files.
            var fields: [UInt8] = []
            for i in 0..<5 { fields += Array("--lumen-test-boundary\r\nContent-Disposition: form-data; name=\"note\(i)\"\r\n\r\nhello\r\n".utf8) }
            let (oneFile, _) = multipart([("good.png", png)])
            try await client.execute(uri: "/api/predict/m", method: .post, headers: h4, body: ByteBuffer(bytes: fields + Array(oneFile.readableBytesView))) { response in
                #expect(response.status == .contentTooLarge && (json(response.body)["error"] as? String)?.contains("form fields") == true, "\(json(response.body))")
            }
            // Pixels that are NaN or infinite (a float NIfTI) are refused, whichever of them the monitoring would sample.
            for bad in [Float.nan, .infinity] {
                var values = [Float](repeating: 0.5, count: 40 * 40)
                values[41] = bad
                let nifti = try ImageWriter.nifti(MedicalImage(width: 40, height: 40, floats: values, format: .nifti), gzip: false)
                let (body, headers) = multipart([("bad.nii", nifti)])
                try await client.execute(uri: "/api/predict/m", method: .post, headers: headers, body: body) { response in
                    #expect(response.status == .badRequest && (json(response.body)["error"] as? String)?.contains("bad.nii: 1 pixel value(s) of the image are NaN or infinite") == true,
                            "\(json(response.body))")
                }
            }
            let (ok, h3) = multipart([("good.png", png)])
            try await client.execute(uri: "/api/predict/m", method: .post, headers: h3, body: ok) { #expect($0.status == .ok, "the server still answers") }
        }
    }

    /// Concurrent requests within the window run as one batch, and batching changes no answer.
    @Test func concurrentRequestsRunAsOneBatch() async throws {
        var batching = BatchingOptions()
        batching.window = 0.2
        batching.maxBatch = 8
        let fixture = try await ServingFixture.make(batching: batching)
        defer { Task { await fixture.close() } }
        let pngs = try (0..<12).map { try testPNG(seed: $0) }
        let expected = try fixture.reference(1).predict(try pngs.map { try ImageReader.read($0, source: "x.png") })
        let app = fixture.app()
        // The network is busy for a moment (as under load), so that the 12 requests queue together.
        let busy = try await fixture.occupyNetwork(seconds: 20, untilQueued: 12)
        defer { busy.cancel() }
        try await app.test(.router) { client in
            let answers = try await withThrowingTaskGroup(of: (Int, Int?, Double?).self) { group in
                for (i, png) in pngs.enumerated() {
                    group.addTask {
                        try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: png)) { response in
                            let answer = json(response.body)
                            let p = (answer["predictions"] as? [[String: Any]])?.first?["probabilities"] as? [String: Double]
                            return (i, answer["batch_size"] as? Int, p?["pneumonia"])
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let sizes = answers.compactMap(\.1)
            #expect(sizes.count == 12 && sizes.sorted() == [4, 4, 4, 4] + [Int](repeating: 8, count: 8), "two batches, of 8 and 4: \(sizes)")
            for (i, _, p) in answers {
                #expect(p.map { abs($0 - expected[i].probabilities[1]) < 1e-5 } == true, "image \(i) answered as if alone")
            }
        }
        let exposition = String(decoding: fixture.metrics.exposition(), as: UTF8.self)
        #expect(exposition.contains("lumen_batch_size_bucket{model=\"m\",version=\"1\",le=\"8.0\"}"))
        #expect(exposition.contains("lumen_predictions_total{model=\"m\",version=\"1\",status=\"200\"} 12"))
        #expect(exposition.contains("process_resident_memory_bytes"))
    }

    /// A full queue answers 503 with Retry-After at once instead of growing.
    @Test func fullQueueAnswers503WithRetryAfter() async throws {
        var batching = BatchingOptions()
        batching.maxBatch = 64
        batching.queueCapacity = 3
        let fixture = try await ServingFixture.make(batching: batching)
        defer { Task { await fixture.close() } }
        let png = try testPNG(seed: 3)
        // The network is busy with a slow job, so that requests queue behind it.
        let slow = try await fixture.occupyNetwork(seconds: 4)  // long enough for all 8 requests to arrive, even on a loaded machine
        defer { slow.cancel() }
        try await fixture.app().test(.router) { client in
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: png)) {
                            (Int($0.status.code), $0.headers[.retryAfter])
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0.0 == 200 }.count == 3, "\(statuses)")
            #expect(statuses.filter { $0.0 == 503 }.allSatisfy { $0.1 == "1" } && statuses.filter { $0.0 == 503 }.count == 5, "\(statuses)")
        }
        #expect(String(decoding: fixture.metrics.exposition(), as: UTF8.self).contains("lumen_rejections_total{model=\"m\",reason=\"queue_full\"} 5"))
    }

    /// Moving the alias and reloading under load: the new version answers after the swap, and no request fails.
    @Test func aliasMoveUnderLoadFailsNoRequest() async throws {
        var batching = BatchingOptions()
        batching.window = 0.002
        let fixture = try await ServingFixture.make(batching: batching)
        defer { Task { await fixture.close() } }
        let png = try testPNG(seed: 5)
        let image = try ImageReader.read(png, source: "x.png")
        let v2 = try fixture.reference(2).predict([image])[0].probabilities
        try await fixture.app().test(.router) { client in
            let results = try await withThrowingTaskGroup(of: [(Int, Int)].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        // Until the new version has answered a few times (or 400 requests).
                        var seen: [(Int, Int)] = []
                        for _ in 0..<400 where seen.filter({ $0.1 == 2 }).count < 3 {
                            try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: png)) { response in
                                seen.append((Int(response.status.code), json(response.body)["version"] as? Int ?? 0))
                            }
                        }
                        return seen
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(30))
                    try await fixture.store.setAlias(name: "m", alias: "champion", version: 2)
                    var out: [(Int, Int)] = []
                    try await client.execute(uri: "/api/models/m/reload", method: .post) { response in
                        let body = json(response.body)
                        out.append((Int(response.status.code), body["version"] as? Int ?? 0))
                        #expect(body["replaced"] as? Int == 1 && body["changed"] as? Bool == true)
                    }
                    return out
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(results.allSatisfy { $0.0 == 200 }, "\(results.filter { $0.0 != 200 })")
            #expect(Set(results.map(\.1)) == [1, 2], "both versions answered, one after the other")
            try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: png)) { response in
                let answer = json(response.body)
                #expect(answer["version"] as? Int == 2)
                let p = (answer["predictions"] as? [[String: Any]])?.first?["probabilities"] as? [String: Double]
                #expect(p.map { abs($0["pneumonia"]! - v2[1]) < 1e-6 } == true, "version 2's weights answer")
            }
        }
        // The poll finds nothing more to move.
        #expect(await fixture.host.poll().isEmpty)
    }

    /// Answers carry a prediction id; ground truth sent for it later is stored against the logged prediction.
    @Test func feedbackRoundTrip() async throws {
        let fixture = try await ServingFixture.make(versions: 1)
        defer { Task { await fixture.close() } }
        try await fixture.app().test(.router) { client in
            let (body, headers) = multipart([("a.png", try testPNG(seed: 1)), ("b.png", try testPNG(seed: 2))])
            let ids = try await client.execute(uri: "/api/predict/m", method: .post, headers: headers, body: body) { response in
                (json(response.body)["predictions"] as? [[String: Any]] ?? []).compactMap { $0["prediction_id"] as? String }
            }
            #expect(ids.count == 2 && Set(ids).count == 2)
            await fixture.logger.close()
            let feedback = try JSONSerialization.data(withJSONObject: ["feedback": [["prediction_id": ids[0], "label": "pneumonia"], ["prediction_id": ids[1], "label": "normal"],
                                                                                     ["prediction_id": "unknown-id", "label": "normal"]]])
            try await client.execute(uri: "/api/feedback", method: .post, body: ByteBuffer(data: feedback)) { response in
                let answer = json(response.body)
                #expect(response.status == .ok && answer["recorded"] as? Int == 2 && answer["unknown"] as? [String] == ["unknown-id"], "\(answer)")
            }
            try await client.execute(uri: "/api/feedback", method: .post, body: ByteBuffer(string: "{\"feedback\": [{\"label\": 1}]}")) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/api/feedback", method: .post, body: ByteBuffer(string: "[]")) { #expect($0.status == .ok) }
        }
        let truth = try await fixture.store.feedback(for: try await fixture.store.predictions(modelName: "m", version: 1, since: 0, limit: 10).compactMap(\.id))
        #expect(Set(truth.values.map(\.label)) == ["pneumonia", "normal"])
    }

    /// Every answered prediction reaches the store's log (version, input hash, outputs; no pixels).
    @Test func predictionsAreLoggedWithoutPixels() async throws {
        let fixture = try await ServingFixture.make()
        defer { Task { await fixture.close() } }
        let pngs = try (0..<5).map { try testPNG(seed: $0) }
        try await fixture.app().test(.router) { client in
            for png in pngs {
                try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: png)) { #expect($0.status == .ok) }
            }
        }
        await fixture.logger.close()
        let logs = try await fixture.store.predictions(modelName: "m", version: 1, since: 0, limit: 100)
        #expect(logs.count == 5)
        let features = logs.compactMap { try? JSONSerialization.jsonObject(with: Data($0.features.utf8)) as? [String: String] }
        #expect(features.count == 5 && features.allSatisfy { ($0["input_sha256"]?.count ?? 0) == 64 })
        #expect(logs.allSatisfy { $0.features.count < 600 && $0.features.contains("intensity_p95") }, "monitoring features, no pixels, in the log")
        #expect(Set(features.compactMap { $0["input_sha256"] }).count == 5)
    }

    /// `--no-prediction-log` (no logger): the same answers, nothing written to the store, over both routes.
    @Test func withoutAPredictionLogAnswersAreTheSameAndNothingIsLogged() async throws {
        let fixture = try await ServingFixture.make()
        defer { Task { await fixture.close() } }
        let png = try testPNG(seed: 2)
        var configuration = ServerConfiguration()
        configuration.inference = InferenceService(host: fixture.host, logger: nil, metrics: fixture.metrics)
        #expect(configuration.inference?.logsPredictions == false && fixture.service.logsPredictions)
        func ask(_ app: some ApplicationProtocol) async throws -> [String: Double]? {
            try await app.test(.router) { client in
                let answer = try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: png)) { response -> [String: Double]? in
                    #expect(response.status == .ok)
                    return (json(response.body)["predictions"] as? [[String: Any]])?.first?["probabilities"] as? [String: Double]
                }
                let tensor: [String: Any] = ["inputs": [["name": "input", "shape": [1, 1, 32, 32], "datatype": "FP32", "data": [Double](repeating: 0.5, count: 1024)]]]
                try await client.execute(uri: "/v2/models/m/infer", method: .post, body: ByteBuffer(data: try JSONSerialization.data(withJSONObject: tensor))) { #expect($0.status == .ok) }
                return answer
            }
        }
        let logged = try await ask(fixture.app())
        let unlogged = try await ask(makeServer(store: fixture.store, artifacts: fixture.artifacts, configuration: configuration))
        #expect(logged != nil && logged == unlogged)
        await fixture.logger.close()
        #expect(try await fixture.store.predictions(modelName: "m", version: nil, since: 0, limit: 100).count == 2, "only the logging server's two answers")
    }
}

@Suite("Serving: segmentation, timeouts", .serialized)
struct ServingMoreTests {
    /// A U-Net answers a mask PNG (upload) and an INT32 mask tensor (OIP), both equal to its predictor's mask.
    @Test func segmentationAnswersAMask() async throws {
        let fixture = try await ServingFixture.make(versions: 1)
        defer { Task { await fixture.close() } }
        Runtime.manualSeed(7)
        var spec = ModelSpec(task: .segmentation, architecture: .unet(width: 8, depth: 2), inputChannels: 1, inputHeight: 32, inputWidth: 32,
                             classes: ["background", "cell"], preprocessing: Pipeline([.resize(width: 32, height: 32), .channels(1), .normalize(.minMax)]),
                             checkpoint: .init(path: "unet.safetensors", sha256: String(repeating: "0", count: 64)), libtorchVersion: Runtime.libtorchVersion, lumenVersion: "test")
        let network = try spec.architecture.makeNetwork(inChannels: 1, outputs: 2)
        let file = fixture.folder.appendingPathComponent("unet.safetensors")
        try network.save(to: file)
        let (sha, _) = try fixture.artifacts.put(try Data(contentsOf: file))
        spec.checkpoint = .init(path: "unet.safetensors", sha256: sha)
        _ = try await fixture.store.createRegisteredModel(name: "cells", description: "", tags: [:])
        _ = try await fixture.store.createModelVersion(name: "cells", source: "test", runID: nil, description: "", tags: [:], signature: nil, preprocessing: nil, spec: try spec.json())
        try await fixture.host.load(ModelReference(parsing: "cells/1"))
        let reference = try Predictor(spec: spec, weights: file)
        let png = try testPNG(seed: 2)
        let expected = try #require(try reference.predict([ImageReader.read(png, source: "x.png")])[0].mask)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/api/predict/cells", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: png)) { response in
                #expect(response.status == .ok)
                let p = try #require((json(response.body)["predictions"] as? [[String: Any]])?.first)
                let mask = try #require(p["mask"] as? [String: Any])
                let decoded = try ImageReader.read([UInt8](try #require(Data(base64Encoded: mask["png_base64"] as? String ?? ""))), source: "mask.png")
                #expect(decoded.width == 32 && decoded.height == 32)
                #expect(decoded.floats().map { Int($0) } == expected.classes, "the PNG holds the predictor's class per pixel")
                let pixels = try #require(mask["pixels"] as? [String: Int])
                #expect(pixels.values.reduce(0, +) == 1024 && pixels["cell"] == expected.classes.filter { $0 == 1 }.count)
            }
            var rng = SeededGenerator(seed: 5)
            let values = (0..<1024).map { _ in Float.random(in: 0...1, using: &rng) }
            let tensorMask = try reference.predict(batch: Tensor(values, shape: [1, 1, 32, 32])).predictions[0].mask!.classes
            let body = try JSONSerialization.data(withJSONObject: ["inputs": [["name": "input", "shape": [1, 1, 32, 32], "datatype": "FP32", "data": values.map(Double.init)]]])
            try await client.execute(uri: "/v2/models/cells/infer", method: .post, body: ByteBuffer(data: body)) { response in
                let output = try #require((json(response.body)["outputs"] as? [[String: Any]])?.first)
                #expect(output["name"] as? String == "mask" && output["datatype"] as? String == "INT32" && output["shape"] as? [Int] == [1, 32, 32])
                #expect(output["data"] as? [Int] == tensorMask)
            }
        }
    }

    /// A request still queued after its timeout (here behind a slow job) is answered 503 without running, and counted.
    @Test func requestsPastTheirTimeoutAreRefused() async throws {
        var batching = BatchingOptions()
        batching.timeout = 0.1
        let fixture = try await ServingFixture.make(versions: 1, batching: batching)
        defer { Task { await fixture.close() } }
        let slow = try await fixture.occupyNetwork(seconds: 0.5)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: try testPNG(seed: 1))) { response in
                #expect(response.status == .serviceUnavailable && (json(response.body)["error"] as? String)?.contains("waited more than 0.1 s") == true)
            }
        }
        _ = try await slow.value
        #expect(String(decoding: fixture.metrics.exposition(), as: UTF8.self).contains("lumen_rejections_total{model=\"m\",reason=\"timeout\"} 1"))
    }

    /// One client pays no batching window: with no other request on its way, a request runs at once.
    @Test func aLoneRequestDoesNotWaitTheWindow() async throws {
        var batching = BatchingOptions()
        batching.window = 2
        let fixture = try await ServingFixture.make(versions: 1, batching: batching)
        defer { Task { await fixture.close() } }
        let started = Date()
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: try testPNG(seed: 1))) { #expect($0.status == .ok) }
        }
        #expect(Date().timeIntervalSince(started) < 1.5, "answered without waiting the 2 s window")
    }
}

@Suite("Serving: kept inputs", .serialized)
struct KeptInputTests {
    /// With --keep-inputs, a DICOM upload is kept de-identified (no name or ID left, same pixels) and a PNG as sent;
    /// the prediction log names each kept file.
    @Test func uploadsAreKeptDeidentified() async throws {
        let fixture = try await ServingFixture.make(versions: 1, keepInputs: true)
        defer { Task { await fixture.close() } }
        let pixels = (0..<(40 * 40)).map { UInt8(($0 * 3) % 200) }
        let dicom = try ImageWriter.dicom(attributes: [("SOPClassUID", "1.2.840.10008.5.1.4.1.1.7"), ("SOPInstanceUID", "1.2.826.0.1.99.7"), ("Modality", "CR"),
                                                       ("PatientName", "Doe^Jane"), ("PatientID", "MRN-0047110"), ("PatientBirthDate", "19700101"),
                                                       ("InstitutionName", "Springfield General")],
                                          data: pixels, width: 40, height: 40, type: .uint8)
        let png = try testPNG(seed: 6)
        try await fixture.app().test(.router) { client in
            let (body, headers) = multipart([("chest.dcm", dicom), ("other.png", png)])
            try await client.execute(uri: "/api/predict/m", method: .post, headers: headers, body: body) { #expect($0.status == .ok) }
        }
        await fixture.logger.close()
        let logs = try await fixture.store.predictions(modelName: "m", version: 1, since: 0, limit: 10)
        let kept = logs.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.features.utf8)) as? [String: String])?["input_artifact"] }
        #expect(kept.count == 2)
        let files = try kept.map { try Data(contentsOf: fixture.artifacts.url(for: $0)) }
        let keptDICOM = try #require(files.first { $0.count > 132 && $0[128..<132] == Data("DICM".utf8) })
        for secret in ["Doe^Jane", "MRN-0047110", "19700101", "Springfield General", "1.2.826.0.1.99.7"] {
            #expect(keptDICOM.range(of: Data(secret.utf8)) == nil, "\(secret) was kept")
        }
        #expect(try ImageReader.read([UInt8](keptDICOM), source: "kept.dcm").floats() == ImageReader.read(dicom, source: "sent.dcm").floats(), "same pixels")
        #expect(files.contains(Data(png)), "the PNG is kept as sent")
    }
}
