import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LumenImaging
import LumenInference
import LumenServing
import LumenStore
import LumenTensor
import NIOCore
import Testing

@Suite("Input gate", .serialized)
struct GateTests {
    /// A grey PNG of uniform noise.
    static func noisePNG(seed: UInt64) throws -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        return try ImageWriter.encode(".png", data: (0..<(40 * 40)).map { _ in UInt8.random(in: 0...255, using: &rng) }, width: 40, height: 40, channels: 1, type: .uint8)
    }

    /// A colour "photo": smooth gradients and stripes, nothing like the dark frames with one bright square.
    static func photoPNG(seed: Int) throws -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: 64 * 48 * 3)
        for y in 0..<48 { for x in 0..<64 {
            let i = (y * 64 + x) * 3
            rgb[i] = UInt8((x * 4 + seed * 9) % 256); rgb[i + 1] = UInt8((y * 5 + (x / 8) * 40) % 256); rgb[i + 2] = UInt8(((x + y) * 3 + seed) % 256)
        } }
        return try ImageWriter.encode(".png", data: rgb, width: 64, height: 48, channels: 3, type: .uint8)
    }

    /// Stores `gate` with version `v` of `m` and serves that version.
    func serve(_ fixture: ServingFixture, gate: InputGate, version v: Int64) async throws {
        let (sha, _) = try fixture.artifacts.put(try gate.json())
        try await fixture.store.setModelVersionTag(name: "m", version: v, key: InputGate.tag, value: sha)
        try await fixture.store.setAlias(name: "m", alias: "champion", version: v)
        _ = try await fixture.host.reload("m")
    }

    /// Fitted on in-domain images for a 10 % false-rejection rate: unseen in-domain images pass at about
    /// that rate; noise and colour photos are refused with a 422 that says why, and the refusals are logged.
    @Test func mahalanobisGateRefusesWhatTheModelWasNotMadeFor() async throws {
        let fixture = try await ServingFixture.make(versions: 2)
        defer { Task { await fixture.close() } }
        let reference = try fixture.reference(2)
        let decode = { (png: [UInt8]) throws -> MedicalImage in try ImageReader.read(png, source: "x.png") }
        let fit = try (0..<60).map { try reference.embed([decode(testPNG(seed: $0))])[0] }
        var gate = InputGate(method: .mahalanobis, falseRejectionRate: 0.1, calibratedOn: "synthetic [val]")
        (gate.mean, gate.variance) = InputGate.statistics(fit)
        let held = try (60..<100).map { try gate.mahalanobis(reference.embed([decode(testPNG(seed: $0))])[0]) }
        gate.threshold = InputGate.threshold(held, falseRejectionRate: 0.1)
        #expect(held.filter { $0 > gate.threshold! }.count == 4, "the threshold refuses 10 % of the held-out images")
        try await serve(fixture, gate: gate, version: 2)

        try await fixture.app().test(.router) { client in
            var accepted = 0
            for seed in 100..<140 {
                try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: try testPNG(seed: seed))) { response in
                    if response.status == .ok {
                        accepted += 1
                        let gateAnswer = json(response.body)["gate"] as? [String: Any]
                        #expect(gateAnswer?["verdict"] as? String == "accepted" && ((gateAnswer?["images"] as? [[String: Any]])?.first?["score"] as? Double) != nil)
                    } else {
                        #expect(response.status == .unprocessableContent)
                    }
                }
            }
            #expect(accepted >= 30, "unseen in-domain images pass at about 90 % (\(accepted) of 40)")
            for (kind, png) in try (0..<10).map({ ("noise", try Self.noisePNG(seed: UInt64($0))) }) + (0..<10).map({ ("photo", try Self.photoPNG(seed: $0)) }) {
                try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: png)) { response in
                    #expect(response.status == .unprocessableContent, "\(kind) passed the gate")
                    let body = json(response.body)
                    #expect((body["error"] as? String)?.contains("unlike the data the model was trained on") == true)
                    #expect(((body["gate"] as? [String: Any])?["images"] as? [[String: Any]])?.first?["verdict"] as? String == "rejected")
                }
            }
            // A CT slice (16-bit DICOM: a body disc in air, HU-like values) sent to this model of grey frames with one square.
            var hu = [UInt16](repeating: 0, count: 64 * 64)
            for y in 0..<64 { for x in 0..<64 {
                let r = (Double((x - 32) * (x - 32) + (y - 30) * (y - 30))).squareRoot()
                hu[y * 64 + x] = r < 26 ? UInt16(1000 + (r < 8 ? 400 : 40) + (x * 7 + y * 3) % 30) : 24
            } }
            let ct = try ImageWriter.dicom(attributes: [("SOPClassUID", "1.2.840.10008.5.1.4.1.1.2"), ("SOPInstanceUID", "1.2.3.9"), ("Modality", "CT"),
                                                        ("RescaleSlope", "1"), ("RescaleIntercept", "-1024")],
                                           data: hu.withUnsafeBytes { Array($0) }, width: 64, height: 64, type: .uint16)
            try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "application/dicom"], body: ByteBuffer(bytes: ct)) { response in
                #expect(response.status == .unprocessableContent, "a CT slice passed a gate fitted on other images: \(json(response.body))")
            }
            // The binary route is gated the same way.
            var rng = SeededGenerator(seed: 3)
            let noise = (0..<1024).map { _ in Double.random(in: 0...1, using: &rng) }
            let body = try JSONSerialization.data(withJSONObject: ["inputs": [["name": "input", "shape": [1, 1, 32, 32], "datatype": "FP32", "data": noise]]])
            try await client.execute(uri: "/v2/models/m/infer", method: .post, body: ByteBuffer(data: body)) { #expect($0.status == .unprocessableContent) }
        }
        await fixture.logger.close()
        let logs = try await fixture.store.predictions(modelName: "m", version: 2, since: 0, limit: 1000)
        let gated = logs.filter { $0.outputs.contains("\"gated\"") }
        #expect(gated.count >= 21 && gated.allSatisfy { $0.outputs.contains("reason") && !$0.outputs.contains("probabilities") }, "every refusal is logged, without outputs")
        #expect(String(decoding: fixture.metrics.exposition(), as: UTF8.self).contains("lumen_rejections_total{model=\"m\",reason=\"gate\"}"))
    }

    /// A gate classifier runs first; the server lets through exactly the images it puts in an accepted class.
    @Test func gateClassifierDecidesWhatReachesTheModel() async throws {
        let fixture = try await ServingFixture.make(versions: 2)
        defer { Task { await fixture.close() } }
        // The gate: another registered model (version 2's weights under the name "gatekeeper").
        _ = try await fixture.store.createRegisteredModel(name: "gatekeeper", description: "", tags: [:])
        let (sha, _) = try fixture.artifacts.put(try Data(contentsOf: fixture.weights[2]!))
        _ = try await fixture.store.createModelVersion(name: "gatekeeper", source: "test", runID: nil, description: "", tags: [:], signature: nil,
                                                      preprocessing: nil, spec: try ServingFixture.spec(sha: sha).json())
        try await fixture.store.setAlias(name: "gatekeeper", alias: "champion", version: 1)
        let keeper = try fixture.reference(2)
        let pngs = try (0..<30).map { try testPNG(seed: $0, size: 24 + $0) } + (0..<6).map { try Self.photoPNG(seed: $0) }
        let answers = try pngs.map { try keeper.predict([ImageReader.read($0, source: "x.png")])[0] }
        // Accept the class the keeper gives most often, at its median probability: about half pass.
        let top = answers.map { $0.labels[0] }
        let accepted = top.filter { $0 == 0 }.count >= top.count / 2 ? 0 : 1
        let probabilities = answers.filter { $0.labels[0] == accepted }.map { $0.probabilities[accepted] }.sorted()
        let minimum = probabilities[probabilities.count / 2]
        let className = ["normal", "pneumonia"][accepted]
        let expected = answers.map { $0.labels[0] == accepted && $0.probabilities[accepted] >= minimum }
        #expect(Set(expected).count == 2, "the gate classifier both accepts and refuses some of these images")
        try await serve(fixture, gate: InputGate(classifier: "gatekeeper@champion", accept: [className], minProbability: minimum), version: 1)
        try await fixture.app().test(.router) { client in
            for (png, pass) in zip(pngs, expected) {
                try await client.execute(uri: "/api/predict/m", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: png)) { response in
                    #expect((response.status == .ok) == pass, "\(response.status): \(json(response.body)["error"] ?? "")")
                    if !pass { #expect((json(response.body)["error"] as? String)?.contains("gate classifier gatekeeper@champion says") == true) }
                }
            }
        }
    }
}
