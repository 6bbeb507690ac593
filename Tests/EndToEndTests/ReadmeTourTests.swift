import Foundation
import Testing

/// The README's "quick tour of the CLI", run line by line: every command it shows runs, on a small
/// workspace where its placeholders (RUN, cxr, chest_xray, scan.dcm, exp.yaml, …) name real things.
/// A command the README shows that no longer exists, or an option it no longer takes, fails here.
@Suite struct ReadmeTourTests {
    static var readme: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md")
    }

    /// The tour's command lines, without their comments, split at `;`.
    static func tourCommands() throws -> [String] {
        let text = try String(contentsOf: readme, encoding: .utf8)
        guard let start = text.range(of: "## A quick tour of the CLI"), let open = text.range(of: "```sh\n", range: start.upperBound..<text.endIndex),
              let close = text.range(of: "```", range: open.upperBound..<text.endIndex) else { return [] }
        return text[open.upperBound..<close.lowerBound].split(separator: "\n").flatMap { line -> [String] in
            var code = String(line)
            if let comment = code.range(of: "  #") { code = String(code[..<comment.lowerBound]) }
            return code.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("lumen") }
        }
    }

    /// Runs a shell command line with `lumen` on the PATH, in `dir`.
    func shell(_ command: String, in dir: URL, timeout: Double = 300) throws -> (status: Int32, output: String) {
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "timeout \(Int(timeout)) \(command)"]
        process.currentDirectoryURL = dir
        var environment = cleanEnvironment()
        environment["PATH"] = bin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func everyTourCommandRuns() async throws {
        let commands = try Self.tourCommands()
        try #require(commands.count >= 30, "the tour was found in README.md (\(commands.count) commands)")
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        func must(_ command: String) throws -> String {
            let r = try shell(command, in: dir)
            try #require(r.status == 0, "setup: \(command): \(r.output)")
            return r.output
        }
        // A workspace where the tour's names exist: a Kaggle-style chest_xray/ folder with patients in file names,
        // a model cxr with versions 1–3 (champion on 1), a finished run and an interrupted one, scan.dcm and scan.png.
        _ = try must("lumen init .")
        _ = try must("lumen data synth cells cells --count 48 --size 32")
        let pngs = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("cells/images").path).filter { $0.hasSuffix(".png") }.sorted()
        for (i, png) in pngs.enumerated() {
            let target = i % 2 == 0 ? "chest_xray/NORMAL/IM-\(String(format: "%04d", i / 4))-000\(i % 4).png" : "chest_xray/PNEUMONIA/person\(i / 4)_bacteria_\(i).png"
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(target).deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: dir.appendingPathComponent("cells/images/\(png)"), to: dir.appendingPathComponent(target))
        }
        _ = try must("lumen data import chest_xray/ --split 0.4,0.4,0.2 --group-pattern 'person(\\d+)_|IM-(\\d+)-'")
        _ = try must("lumen data synth ct ct --patients 2 --slices 2 --size 48 && cp ct/lesion/SYN00000_000.dcm scan.dcm && lumen image convert scan.dcm scan.png --window lung")
        try "data:\n  dataset: chest_xray\n  image_size: 24\n  positive_class: PNEUMONIA\nmodel:\n  name: simple-cnn\ntrainer:\n  batch_size: 8\n  epochs: 1\n  threads: 1\n"
            .write(to: dir.appendingPathComponent("exp.yaml"), atomically: true, encoding: .utf8)
        try "base: exp.yaml\nmethod: grid\nmetric: val_loss\nmode: min\nparameters:\n  trainer.lr: [0.001, 0.01]\n"
            .write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
        try "traffic:\n  cxr:\n    split:\n      - {model: champion, weight: 9}\n      - {model: \"2\", weight: 1}\nalerts:\n  rules:\n    - {name: cxr-slow, model: cxr, metric: latency_p99, window: 5m, above: 5}\n"
            .write(to: dir.appendingPathComponent("serve.yaml"), atomically: true, encoding: .utf8)
        try "name: retrain\nparams: {epochs: \"1\"}\ntriggers:\n  - every: 1h\nsteps:\n  check: {lumen: data validate chest_xray}\n  note: {shell: \"echo epochs {{epochs}} > note.txt\", needs: [check], outputs: [file:note.txt]}\n"
            .write(to: dir.appendingPathComponent("retrain.yaml"), atomically: true, encoding: .utf8)
        // Ground truth for `lumen feedback import reads.csv` (the served predictions' ids are not known here: a header only).
        try "prediction_id,label\n".write(to: dir.appendingPathComponent("reads.csv"), atomically: true, encoding: .utf8)
        for _ in 0..<3 { _ = try must("lumen train exp.yaml --register cxr") }
        _ = try must("lumen models alias cxr champion --version 1")
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(try must("lumen runs list --json").utf8)) as? [[String: Any]])
        let runIDs = runs.compactMap { ($0["info"] as? [String: Any])?["runID"] as? String }
        let run = try #require(runIDs.last)
        _ = try must("lumen zoo init resnet18 --in-channels 3 --num-classes 1000 --out tv.safetensors")
        let versions = try must("lumen data list").split(separator: "\n").filter { $0.hasPrefix("chest_xray ") }.map { $0.split(separator: " ", omittingEmptySubsequences: true)[1] }
        try #require(versions.count >= 1)
        // An interrupted run, for `lumen train --resume RUN`.
        let interrupted = Process()
        interrupted.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lumen")
        interrupted.arguments = ["train", "exp.yaml", "trainer.epochs=200"]
        interrupted.currentDirectoryURL = dir
        let pipe = Pipe()
        interrupted.standardOutput = pipe
        interrupted.standardError = pipe
        try interrupted.run()
        var text = ""
        while !text.contains("epoch 1/200") {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        interrupted.interrupt()
        text += String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        interrupted.waitUntilExit()
        let pieces = text.components(separatedBy: "lumen train --resume ")
        try #require(pieces.count > 1, "the interrupted run says how to resume it: \(text)")
        let killed = String(pieces.last!.prefix(32))

        let port = Int.random(in: 20_000..<60_000)
        var servers: [Process] = []
        defer { for s in servers where s.isRunning { s.terminate(); s.waitUntilExit() } }
        var failures: [String] = []
        for original in commands {
            var command = original
                .replacingOccurrences(of: "lumen runs show RUN", with: "lumen runs show \(run)")
                .replacingOccurrences(of: "register RUN", with: "register \(run)")
                .replacingOccurrences(of: "--resume RUN", with: "--resume \(killed)")
                .replacingOccurrences(of: "chest_xray:ID1 chest_xray:ID2", with: "chest_xray:\(versions[0]) chest_xray:\(versions.last!)")
                .replacingOccurrences(of: "trainer.epochs=20", with: "trainer.epochs=2")
                .replacingOccurrences(of: "-c 64 -d 30s", with: "-c 4 -d 2s")
                .replacingOccurrences(of: "127.0.0.1:5000", with: "127.0.0.1:\(port)")
            var cwd = dir
            if command == "lumen init" {
                // In a folder of its own: init never overwrites a workspace.
                cwd = dir.appendingPathComponent("fresh")
                try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: true)
            }
            if command.hasPrefix("lumen serve") {
                // A server: started, checked for its banner, kept for the commands that talk to it.
                if command.contains("--port 5000") { command = command.replacingOccurrences(of: "--port 5000", with: "--port \(port + 1)") }
                else { command += " --port \(port)" }
                let server = Process()
                server.executableURL = URL(fileURLWithPath: "/bin/bash")
                server.arguments = ["-c", "exec " + command.replacingOccurrences(of: "lumen ", with: "\(CommandLine.arguments[0].components(separatedBy: "/").dropLast().joined(separator: "/"))/lumen ", options: .anchored)]
                server.currentDirectoryURL = dir
                let log = dir.appendingPathComponent("serve-\(servers.count).log")
                FileManager.default.createFile(atPath: log.path, contents: nil)
                server.standardOutput = try FileHandle(forWritingTo: log)
                server.standardError = server.standardOutput
                try server.run()
                servers.append(server)
                var banner = false
                for _ in 0..<200 where !banner && server.isRunning {
                    try await Task.sleep(for: .milliseconds(100))
                    banner = (try? String(contentsOf: log, encoding: .utf8))?.contains("lumen serve: http://") ?? false
                }
                if !banner { failures.append("\(original): \((try? String(contentsOf: log, encoding: .utf8)) ?? "")") }
                continue
            }
            let result = try shell(command, in: cwd)
            if command == "lumen init" { #expect(FileManager.default.fileExists(atPath: cwd.appendingPathComponent(".lumen/config.yaml").path)) }
            if result.status != 0 { failures.append("\(original) → exit \(result.status): \(result.output.suffix(400))") }
            if command.hasPrefix("lumen load") { try await Task.sleep(for: .seconds(1)) }  // the server's log writer runs every 0.5 s
        }
        #expect(failures.isEmpty, "README tour commands that failed:\n\(failures.joined(separator: "\n"))")
    }
}
