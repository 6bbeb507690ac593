import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LumenImaging
import LumenServing
import NIOCore
import Testing

/// 1,000 fuzzed uploads and 500 fuzzed inference requests: truncated files, wrong magic, huge declared
/// sizes, random bytes, wrong content types, broken multipart bodies, many parts, mutated JSON tensors.
/// Every answer is a 200 (a mutant that still decodes) or a 4xx, never a 5xx or a crash, and the
/// server still answers a good request afterwards. Seeded; the seed is printed (LUMEN_FUZZ_SEED replays it).
@Suite("Serving fuzz", .serialized)
struct ServingFuzzTests {
    static func dicom() throws -> [UInt8] {
        let pixels = (0..<(48 * 48)).map { UInt8(($0 * 7) % 251) }
        return try ImageWriter.dicom(attributes: [("SOPClassUID", "1.2.840.10008.5.1.4.1.1.7"), ("SOPInstanceUID", "1.2.3.4"), ("Modality", "OT")],
                                     data: pixels, width: 48, height: 48, type: .uint8)
    }

    /// A mutated upload: its body and headers, and what kind of mutation it is (for the failure message).
    static func mutant(_ i: Int, originals: [[UInt8]], using rng: inout FuzzGenerator) -> (kind: String, body: ByteBuffer, headers: HTTPFields) {
        var b = originals[i % originals.count]
        switch i % 10 {
        case 0:
            b = Array(b.prefix(Int.random(in: 0..<b.count, using: &rng)))
            return ("truncated", ByteBuffer(bytes: b), [.contentType: "image/png"])
        case 1:
            for _ in 0..<Int.random(in: 1...16, using: &rng) { b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
            return ("flipped bytes", ByteBuffer(bytes: b), [.contentType: "application/octet-stream"])
        case 2:
            b[0] = UInt8.random(in: 0...255, using: &rng); b[1] ^= 0xFF
            return ("wrong magic", ByteBuffer(bytes: b), [.contentType: "image/png"])
        case 3:
            // A PNG header declaring a huge image (IHDR width and height).
            var png = originals[0]
            for offset in [16, 20] { for k in 0..<4 { png[offset + k] = k == 0 ? 0x7F : 0xFF } }
            return ("huge declared size", ByteBuffer(bytes: png), [.contentType: "image/png"])
        case 4:
            let random = (0..<Int.random(in: 0...4096, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            return ("random bytes", ByteBuffer(bytes: random), [.contentType: ["image/png", "application/dicom", "text/plain", "application/json"].randomElement(using: &rng)!])
        case 5:
            let (body, headers) = multipart([("a.png", b), ("b.dcm", Array(b.shuffled(using: &rng).prefix(200)))])
            return ("multipart with a broken part", body, headers)
        case 6:
            let (body, _) = multipart([("a.png", b)])
            var bytes = Array(body.readableBytesView)
            bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            return ("truncated multipart", ByteBuffer(bytes: bytes), [.contentType: "multipart/form-data; boundary=lumen-test-boundary"])
        case 7:
            let (body, _) = multipart([("a.png", b)])
            return ("wrong boundary", body, [.contentType: "multipart/form-data; boundary=\(["other", "", "\"\"", String(repeating: "x", count: 300)].randomElement(using: &rng)!)"])
        case 8:
            let (body, headers) = multipart((0..<Int.random(in: 5...40, using: &rng)).map { ("f\($0).png", b) })
            return ("many parts", body, headers)
        default:
            let (body, headers) = multipart([("empty.png", [])])
            return ("empty part", body, headers)
        }
    }

    @Test func thousandFuzzedUploadsAllGetA4xxOrAnAnswer() async throws {
        var limits = UploadLimits()
        limits.maxFiles = 4
        limits.maxBytes = 1 << 20
        let fixture = try await ServingFixture.make(versions: 1, limits: limits)
        defer { Task { await fixture.close() } }
        var rng = FuzzGenerator.seeded("ServingFuzzTests.uploads")
        let originals = [try testPNG(seed: 1), try Self.dicom()]
        let mutants = (0..<1_000).map { Self.mutant($0, originals: originals, using: &rng) }
        try await fixture.app().test(.router) { client in
            var statuses: [Int: Int] = [:]
            for (i, m) in mutants.enumerated() {
                try await client.execute(uri: "/api/predict/m", method: .post, headers: m.headers, body: m.body) { response in
                    let code = Int(response.status.code)
                    statuses[code, default: 0] += 1
                    #expect(code == 200 || (400..<500).contains(code), "mutant \(i) (\(m.kind)): \(response.status) \(String(buffer: response.body).prefix(200)) (seed printed above)")
                    if code != 200 { #expect(String(buffer: response.body).contains("\"error\""), "mutant \(i) (\(m.kind)): the error says why") }
                }
            }
            #expect((statuses[400] ?? 0) > 300 && (statuses[413] ?? 0) > 0, "\(statuses)")
            let (good, headers) = multipart([("ok.png", originals[0])])
            try await client.execute(uri: "/api/predict/m", method: .post, headers: headers, body: good) { #expect($0.status == .ok, "the server still answers") }
        }
    }

    @Test func fuzzedInferenceRequestsAllGetA4xxOrAnAnswer() async throws {
        let fixture = try await ServingFixture.make(versions: 1)
        defer { Task { await fixture.close() } }
        var rng = FuzzGenerator.seeded("ServingFuzzTests.infer")
        let valid = try JSONSerialization.data(withJSONObject: ["inputs": [["name": "input", "shape": [1, 1, 32, 32], "datatype": "FP32", "data": [Double](repeating: 0.5, count: 1024)]]])
        let strange: [String] = ["null", "[]", "{}", "-1", "1e400", "\"FP32\"", "[[[]]]", "{\"a\": 1}", "true", "\"\\u0000\"", "[1, 2, 3]", "[0, 1, 32, 32]", "[1e10, 1, 32, 32]"]
        var bodies: [(String, [UInt8], HTTPFields)] = []
        for i in 0..<500 {
            var text = String(decoding: valid, as: UTF8.self)
            switch i % 5 {
            case 0:
                for key in ["\"shape\":", "\"datatype\":", "\"data\":", "\"inputs\":", "\"name\":"] where Bool.random(using: &rng) {
                    if let r = text.range(of: key) {
                        let end = text[r.upperBound...].firstIndex(where: { $0 == "," || $0 == "}" }) ?? text.endIndex
                        text.replaceSubrange(r.upperBound..<end, with: strange.randomElement(using: &rng)!)
                    }
                }
                bodies.append(("retyped fields", Array(text.utf8), [:]))
            case 1:
                var b = Array(valid)
                for _ in 0..<Int.random(in: 1...8, using: &rng) { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                bodies.append(("flipped bytes", b, [:]))
            case 2:
                bodies.append(("truncated", Array(valid.prefix(Int.random(in: 0..<valid.count, using: &rng))), [:]))
            case 3:
                let header = Array("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 1, 32, 32], \"datatype\": \"\(["FP32", "UINT8", "INT64", "FP16", "BOOL"].randomElement(using: &rng)!)\", \"parameters\": {\"binary_data_size\": \(Int.random(in: -5...9000, using: &rng))}}]}".utf8)
                let tail = (0..<Int.random(in: 0...5000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let declared = [header.count, Int.random(in: -10...6000, using: &rng), 0].randomElement(using: &rng)!
                bodies.append(("binary extension", header + tail, [HTTPField.Name("Inference-Header-Content-Length")!: String(declared)]))
            default:
                bodies.append(("random bytes", (0..<Int.random(in: 0...2000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, [:]))
            }
        }
        let requests = bodies
        try await fixture.app().test(.router) { client in
            for (i, (kind, body, headers)) in requests.enumerated() {
                try await client.execute(uri: "/v2/models/m/infer", method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
                    let code = Int(response.status.code)
                    #expect(code == 200 || (400..<500).contains(code), "request \(i) (\(kind)): \(response.status) \(String(buffer: response.body).prefix(200)) (seed printed above)")
                }
            }
            try await client.execute(uri: "/v2/models/m/infer", method: .post, body: ByteBuffer(data: valid)) { #expect($0.status == .ok, "the server still answers") }
        }
    }
}
