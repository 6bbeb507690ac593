import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LumenImaging
import Testing

/// The serving path as a user runs it: train → register → `lumen predict` → `lumen serve --model` →
/// `lumen load` → gate → SIGTERM under load, each checked by its effect (answers, logs in the store,
/// the access log), not by its messages.
@Suite struct ServeCLITests {
    func start(_ arguments: [String], output: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lumen")
        process.arguments = arguments
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    func freePort() -> Int { Int.random(in: 20_000..<60_000) }

    func waitReady(_ port: Int, log: URL) async throws {
        for _ in 0..<300 {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/v2/health/ready")!),
               (response as? HTTPURLResponse)?.statusCode == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("lumen serve did not get ready: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }

    func upload(_ file: URL, port: Int, model: String) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/predict/\(model)?filename=\(file.lastPathComponent)")!)
        request.httpMethod = "POST"
        request.setValue("application/dicom", forHTTPHeaderField: "Content-Type")
        request.httpBody = try Data(contentsOf: file)
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    @Test func trainServePredictLoadGateAndStop() async throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ws = ["--workspace", dir.path]
        #expect(try lumen(["init", dir.path]).status == 0)
        #expect(try lumen(["data", "synth", "ct", dir.appendingPathComponent("ct").path, "--patients", "10", "--slices", "4", "--size", "48"]).status == 0)
        #expect(try lumen(["data", "import", dir.appendingPathComponent("ct").path, "--name", "ct", "--split", "0.5,0.35,0.15", "--seed", "2"] + ws).status == 0)
        let config = dir.appendingPathComponent("exp.yaml")
        try "data:\n  dataset: ct\n  image_size: 24\n  window: lung\nmodel:\n  name: simple-cnn\ntrainer:\n  batch_size: 8\n  epochs: 2\n  threads: 1\n".write(to: config, atomically: true, encoding: .utf8)
        let trained = try lumen(["train", config.path, "--register", "phantom"] + ws)
        try #require(trained.status == 0, "\(trained.output)")
        #expect(try lumen(["models", "alias", "phantom", "champion", "--version", "1"] + ws).status == 0)
        let slice = dir.appendingPathComponent("ct/lesion/SYN00000_000.dcm")

        // lumen predict and the server give the same answer.
        let predicted = try lumen(["predict", "phantom@champion", slice.path, "--json"] + ws)
        try #require(predicted.status == 0, "\(predicted.output)")
        let local = try #require(try JSONSerialization.jsonObject(with: Data(predicted.output.utf8)) as? [String: Any])
        let localP = try #require((local["predictions"] as? [[String: Any]])?.first?["probabilities"] as? [String: Double])
        #expect(try lumen(["predict", "phantom@champion", dir.appendingPathComponent("nope.dcm").path] + ws).status != 0)
        // Options that would do nothing are refused: a heat map with no JSON to carry it, a split with no batch.
        let silentCAM = try lumen(["predict", "phantom@champion", slice.path, "--gradcam"] + ws)
        #expect(silentCAM.status != 0 && silentCAM.output.contains("--json"), "\(silentCAM.output)")
        #expect(try lumen(["predict", "phantom@champion", slice.path, "--split", "val"] + ws).status != 0)

        let port = freePort()
        let serveLog = dir.appendingPathComponent("serve.log"), accessLog = dir.appendingPathComponent("access.jsonl")
        let server = try start(["serve", "--port", String(port), "--model", "phantom@champion", "--access-log", accessLog.path, "--poll", "1"] + ws, output: serveLog)
        defer { if server.isRunning { server.terminate() } }
        try await waitReady(port, log: serveLog)
        let (status, answer) = try await upload(slice, port: port, model: "phantom")
        #expect(status == 200 && answer["version"] as? Int == 1)
        let remoteP = try #require((answer["predictions"] as? [[String: Any]])?.first?["probabilities"] as? [String: Double])
        #expect(localP.keys.sorted() == remoteP.keys.sorted() && localP.allSatisfy { abs($0.value - remoteP[$0.key]!) < 1e-6 }, "\(localP) vs \(remoteP)")

        // A gate fitted on the training data; the poll picks it up without a restart, and it refuses noise.
        let gated = try lumen(["models", "gate", "phantom/1", "--data", "ct", "--fit-split", "train", "--split", "val", "--false-rejection", "0.1"] + ws)
        #expect(gated.status == 0 && gated.output.contains("threshold"), "\(gated.output)")
        #expect(try lumen(["models", "gate", "phantom/1"] + ws).output.contains("mahalanobis score ≤"))
        var noise = [UInt8](repeating: 0, count: 48 * 48)
        for i in noise.indices { noise[i] = UInt8((i * 7919) % 251) }
        let noisePNG = dir.appendingPathComponent("noise.png")
        try Data(try ImageWriter.encode(".png", data: noise, width: 48, height: 48, channels: 1, type: .uint8)).write(to: noisePNG)
        var refusedNoise = false
        for _ in 0..<40 where !refusedNoise {
            try await Task.sleep(for: .milliseconds(250))
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/predict/phantom")!)
            request.httpMethod = "POST"
            request.setValue("image/png", forHTTPHeaderField: "Content-Type")
            request.httpBody = try Data(contentsOf: noisePNG)
            let (_, response) = try await URLSession.shared.data(for: request)
            refusedNoise = (response as? HTTPURLResponse)?.statusCode == 422
        }
        #expect(refusedNoise, "the gate took effect without a restart and refused noise")
        // lumen predict applies the same gate.
        let refusedLocally = try lumen(["predict", "phantom@champion", noisePNG.path, "--json"] + ws)
        #expect(refusedLocally.status == 2 && refusedLocally.output.contains("\"verdict\":\"rejected\""), "\(refusedLocally.output)")
        let refusedTable = try lumen(["predict", "phantom@champion", noisePNG.path] + ws)
        #expect(refusedTable.status == 2 && refusedTable.output.contains("refused"), "the same exit status without --json: \(refusedTable.output)")
        let forced = try lumen(["predict", "phantom@champion", noisePNG.path, "--no-gate"] + ws)
        #expect(forced.status == 0 && forced.output.contains("noise.png"), "\(forced.output)")
        // A training slice the gate lets through (it refuses about 10 % of in-domain images), for the load runs.
        var accepted: URL?
        for file in try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("ct/lesion").path).sorted().prefix(12) where accepted == nil {
            let url = dir.appendingPathComponent("ct/lesion/\(file)")
            let (code, _) = try await upload(url, port: port, model: "phantom")
            #expect(code == 200 || code == 422)
            if code == 200 { accepted = url }
        }
        let image = try #require(accepted, "the gate accepts some training slices")

        // lumen load: every request answered; then SIGTERM in the middle of a load run.
        let load = try lumen(["load", "http://127.0.0.1:\(port)/api/predict/phantom", "--image", image.path, "-c", "4", "-r", "40", "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(load.output.split(separator: "\n").drop { !$0.hasPrefix("{") }.joined(separator: "\n").utf8)) as? [String: Any], "\(load.output)")
        let loadStatuses = report["statuses"] as? [String: Int] ?? [:]
        #expect(report["requests"] as? Int == 40 && loadStatuses.values.reduce(0, +) == 40, "\(load.output)")
        #expect(loadStatuses == ["200": 40], "\(loadStatuses)")
        try await Task.sleep(for: .seconds(1.5))  // the logger writes every 0.5 s
        let before = try loggedCount(ws)
        let loadLog = dir.appendingPathComponent("load.json")
        let background = try start(["load", "http://127.0.0.1:\(port)/api/predict/phantom", "--image", image.path, "-c", "8", "-d", "4s", "--json"], output: loadLog)
        try await Task.sleep(for: .seconds(1.5))
        server.terminate()  // SIGTERM
        server.waitUntilExit()
        background.waitUntilExit()
        #expect(server.terminationStatus == 0, "lumen serve stops cleanly on SIGTERM: \((try? String(contentsOf: serveLog, encoding: .utf8)) ?? "")")
        let loadText = try String(contentsOf: loadLog, encoding: .utf8)
        let during = try #require(try JSONSerialization.jsonObject(with: Data(loadText.split(separator: "\n").drop { !$0.hasPrefix("{") }.joined(separator: "\n").utf8)) as? [String: Any], "\(loadText)")
        let acknowledged = (during["statuses"] as? [String: Int])?["200"] ?? 0
        #expect(acknowledged > 0, "\(loadText)")
        // Every prediction the server acknowledged (a 200) is in the store's log: none lost on SIGTERM.
        let after = try loggedCount(ws)
        #expect(after - before == acknowledged, "logged \(after - before) new predictions for \(acknowledged) acknowledged ones")

        // The access log: one JSON object per request.
        let lines = try String(contentsOf: accessLog, encoding: .utf8).split(separator: "\n")
        let entries = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(entries.count == lines.count && entries.count >= 40 + acknowledged)
        #expect(entries.contains { $0["path"] as? String == "/api/predict/phantom" && $0["status"] as? Int == 200 && $0["model_version"] as? String == "1" && $0["duration_ms"] is Double })
        #expect(entries.contains { $0["status"] as? Int == 422 })

        // The versions compared on their logged traffic.
        let compared = try lumen(["models", "compare", "phantom", "--from-log"] + ws)
        #expect(compared.status == 0 && compared.output.contains("logged predictions"), "\(compared.output)")
    }

    /// Predictions in the store's log, counted through `lumen models compare --json`.
    func loggedCount(_ ws: [String]) throws -> Int {
        let out = try lumen(["models", "compare", "phantom", "--from-log", "--json"] + ws)
        guard out.status == 0, let object = try JSONSerialization.jsonObject(with: Data(out.output.utf8)) as? [String: Any],
              let versions = object["versions"] as? [[String: Any]] else { return 0 }
        return versions.reduce(0) { $0 + (($1["routes"] as? [String: Int])?.filter { $0.key != "gated" }.values.reduce(0, +) ?? 0) }
    }
}

/// Monitoring a served model: a reference profile of its training split, then the logged traffic
/// compared with it — the training images themselves show no drift, noise images mixed in do.
@Suite struct MonitorCLITests {
    @Test func referenceThenDriftOfServedTraffic() async throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ws = ["--workspace", dir.path]
        #expect(try lumen(["init", dir.path]).status == 0)
        #expect(try lumen(["data", "synth", "ct", dir.appendingPathComponent("ct").path, "--patients", "8", "--slices", "4", "--size", "48"]).status == 0)
        #expect(try lumen(["data", "import", dir.appendingPathComponent("ct").path, "--name", "ct", "--split", "0.6,0.2,0.2", "--seed", "3", "--no-deidentify"] + ws).status == 0)
        let config = dir.appendingPathComponent("exp.yaml")
        try "data:\n  dataset: ct\n  image_size: 24\n  window: lung\nmodel:\n  name: simple-cnn\ntrainer:\n  batch_size: 8\n  epochs: 1\n  threads: 1\n".write(to: config, atomically: true, encoding: .utf8)
        let trained = try lumen(["train", config.path, "--register", "phantom"] + ws)
        try #require(trained.status == 0)
        // Registration makes the monitoring reference; with nothing served yet, the report says so.
        #expect(trained.output.contains("monitoring reference:"), "\(trained.output)")
        #expect(try lumen(["models", "alias", "phantom", "champion", "--version", "1"] + ws).status == 0)
        let nothingServed = try lumen(["monitor", "phantom@champion"] + ws)
        #expect(nothingServed.status != 0 && nothingServed.output.contains("no predictions of phantom version 1 are logged"), "\(nothingServed.output)")
        #expect(try lumen(["monitor", "phantom/1", "--window", "1h", "--json"] + ws).status != 0)
        let profiled = try lumen(["monitor", "reference", "phantom@champion", "--data", "ct", "--split", "train"] + ws)
        #expect(profiled.status == 0 && profiled.output.contains("reference of"), "\(profiled.output)")

        let shown = try lumen(["data", "show", "ct", "--json"] + ws).output
        let entries = try #require((try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any])?["entries"] as? [[String: Any]])
        let training = entries.filter { $0["split"] as? String == "train" }.compactMap { $0["path"] as? String }.map { dir.appendingPathComponent("ct").appendingPathComponent($0) }
        try #require(training.count >= 10)

        let port = Int.random(in: 20_000..<60_000)
        let serving = ServeCLITests()
        let log = dir.appendingPathComponent("serve.log")
        let server = try serving.start(["serve", "--port", String(port), "--model", "phantom@champion"] + ws, output: log)
        defer { if server.isRunning { server.terminate(); server.waitUntilExit() } }
        try await serving.waitReady(port, log: log)
        var ids: [(String, String)] = []  // prediction id, true label
        for file in training {
            let (status, answer) = try await serving.upload(file, port: port, model: "phantom")
            #expect(status == 200)
            if let id = (answer["predictions"] as? [[String: Any]])?.first?["prediction_id"] as? String { ids.append((id, file.deletingLastPathComponent().lastPathComponent)) }
        }
        try await Task.sleep(for: .seconds(1.5))
        // Ground truth for every prediction, one unknown id among them: reported, exit 3; performance with intervals.
        let csv = dir.appendingPathComponent("truth.csv")
        try (["prediction_id,label"] + ids.map { "\($0.0),\($0.1)" } + ["not-a-prediction,normal"]).joined(separator: "\n").write(to: csv, atomically: true, encoding: .utf8)
        let imported = try lumen(["feedback", "import", csv.path] + ws)
        #expect(imported.status == 3 && imported.output.contains("\(ids.count) recorded") && imported.output.contains("1 unknown"), "\(imported.output)")
        #expect(try lumen(["feedback", "import", csv.path] + ws).output.contains("\(ids.count) replaced"), "a second import replaces, not duplicates")
        let quality = try lumen(["monitor", "phantom@champion", "--window", "1h", "--performance"] + ws)
        #expect(quality.status == 0 && quality.output.contains("performance on \(ids.count) predictions with ground truth") && quality.output.contains("95 % CI"), "\(quality.output)")
        let bySubgroup = try lumen(["monitor", "phantom@champion", "--window", "1h", "--performance", "--by", "img_format,img_width"] + ws)
        #expect(bySubgroup.status == 0 && bySubgroup.output.contains("by img_format, img_width") && bySubgroup.output.contains("dicom") && bySubgroup.output.contains("48"), "\(bySubgroup.output)")
        let unknownColumn = try lumen(["monitor", "phantom@champion", "--window", "1h", "--performance", "--by", "site"] + ws)
        #expect(unknownColumn.status != 0 && unknownColumn.output.contains("no logged feature 'site'") && unknownColumn.output.contains("img_format"), "\(unknownColumn.output)")
        let perInterval = try lumen(["monitor", "phantom@champion", "--window", "1h", "--performance", "--bucket", "30m"] + ws)
        #expect(perInterval.status == 0 && perInterval.output.contains("per 30m (sensitivity") && perInterval.output.contains("with truth"), "\(perInterval.output)")
        let same = try lumen(["monitor", "phantom@champion", "--window", "1h", "--json"] + ws)
        let sameReport = try #require(try JSONSerialization.jsonObject(with: Data(same.output.utf8)) as? [String: Any], "\(same.output)")
        let sameFeatures = sameReport["features"] as? [[String: Any]] ?? []
        #expect(!sameFeatures.isEmpty && sameFeatures.allSatisfy { $0["drifted"] as? Bool == false }, "the training images themselves: \(sameFeatures.filter { $0["drifted"] as? Bool == true })")
        // The server logged each answer's embedding in the reference's PCA components: no embedding drift either.
        let sameEmbeddings = try #require(sameReport["embeddings"] as? [String: Any], "embedding drift in the report: \(same.output.prefix(400))")
        #expect(sameEmbeddings["drifted"] as? Bool == false && sameEmbeddings["currentCount"] as? Int == ids.count, "\(sameEmbeddings)")

        // Noise images join the traffic: the intensity features drift.
        for seed in 0..<training.count {
            var pixels = [UInt8](repeating: 0, count: 48 * 48)
            var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
            for i in pixels.indices { state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407; pixels[i] = UInt8(truncatingIfNeeded: state >> 56) }
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/predict/phantom")!)
            request.httpMethod = "POST"
            request.setValue("image/png", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(try ImageWriter.encode(".png", data: pixels, width: 48, height: 48, channels: 1, type: .uint8))
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
        }
        try await Task.sleep(for: .seconds(1.5))
        let mixed = try lumen(["monitor", "phantom@champion", "--window", "1h"] + ws)
        #expect(mixed.status == 0 && mixed.output.contains("dataset drift:") && mixed.output.contains("intensity_std"), "\(mixed.output)")
        let mixedJSON = try lumen(["monitor", "phantom@champion", "--window", "1h", "--json"] + ws)
        let drifted = ((try JSONSerialization.jsonObject(with: Data(mixedJSON.output.utf8)) as? [String: Any])?["features"] as? [[String: Any]] ?? [])
            .filter { $0["drifted"] as? Bool == true }.compactMap { $0["feature"] as? String }
        #expect(drifted.contains("intensity_std") && drifted.contains("intensity_entropy"), "\(drifted)")
        let mixedEmbeddings = (try JSONSerialization.jsonObject(with: Data(mixedJSON.output.utf8)) as? [String: Any])?["embeddings"] as? [String: Any]
        #expect(mixedEmbeddings?["drifted"] as? Bool == true, "noise images move the embeddings: \(mixedEmbeddings ?? [:])")
        let page = dir.appendingPathComponent("drift.html")
        #expect(try lumen(["monitor", "phantom@champion", "--window", "1h", "--html", page.path, "--performance", "--bucket", "30m", "--by", "img_format"] + ws).status == 0)
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(html.contains("Dataset drift") && html.components(separatedBy: "<svg").count - 1 >= 6 && html.contains("intensity_std"), "a table and a chart per feature")
        #expect(html.contains("<h2>Embeddings</h2>") && html.components(separatedBy: "<circle").count - 1 >= 2 * ids.count, "the embedding scatter: reference and window points")
        #expect(html.contains("<h2>Performance over time</h2>") && html.contains("<h2>Subgroups</h2>") && html.contains("dicom") && html.contains("<h2>Alerts</h2>"), "performance, subgroups and alerts sections")
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"), "self-contained")
        let anomalies = try lumen(["monitor", "anomalies", "phantom@champion", "--window", "10m", "--bucket", "30s"] + ws)
        #expect(anomalies.status == 0 && anomalies.output.contains("intervals of 30s"), "\(anomalies.output)")
        #expect(try lumen(["monitor", "anomalies", "phantom@champion", "--window", "1m", "--bucket", "30s"] + ws).status != 0, "too few intervals is refused")
    }
}
