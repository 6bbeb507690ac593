import Foundation
import Testing

@Suite struct PipelineCLITests {
    func lines(_ dir: URL, _ name: String) -> Int {
        ((try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// `lumen pipeline run` killed with SIGKILL in the middle of a step: the run stays RUNNING in the store;
    /// `lumen pipeline resume RUN` reruns from that step (the finished one is not run again) to the end, and
    /// a `lumen:` step reaches the same workspace.
    @Test func aKilledRunResumesFromItsUnfinishedStep() async throws {
        let dir = try temporaryFolder()
        #expect(try lumen(["init", dir.path]).status == 0)
        try """
        name: resumable
        params: {pause: "30"}
        steps:
          one: {shell: "echo run >> one.runs; echo 1 > one.txt", outputs: [file:one.txt]}
          two:
            shell: "echo run >> two.runs; if [ ! -f fast ]; then sleep {{pause}}; fi; cat one.txt > two.txt"
            needs: [one]
            inputs: [file:one.txt]
            outputs: [file:two.txt]
          three: {lumen: pipeline runs --pipeline resumable, needs: [two]}
        """.write(to: dir.appendingPathComponent("p.yaml"), atomically: true, encoding: .utf8)
        let valid = try lumen(["pipeline", "validate", "p.yaml"], in: dir)
        #expect(valid.status == 0 && valid.output.contains("one → two → three"), "\(valid.output)")

        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lumen")
        let process = Process()
        process.executableURL = binary
        process.arguments = ["pipeline", "run", "p.yaml"]
        process.currentDirectoryURL = dir
        process.environment = cleanEnvironment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Polled with a blocking sleep: the wait must not depend on a free thread of the cooperative pool.
        for _ in 0..<300 where lines(dir, "two.runs") == 0 { usleep(100_000) }
        #expect(lines(dir, "two.runs") == 1, "step two started")
        // SIGKILL: no chance to record anything. The step's shell is killed too (it would finish later otherwise).
        let children = ((try? String(contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children", encoding: .utf8)) ?? "")
            .split(separator: " ").compactMap { Int32($0) }
        kill(process.processIdentifier, SIGKILL)
        for child in children { kill(child, SIGKILL) }
        process.waitUntilExit()

        let runs = try lumen(["pipeline", "runs", "--json"], in: dir)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(runs.output.utf8)) as? [[String: Any]], "\(runs.output)")
        #expect(list.count == 1 && list[0]["status"] as? String == "running", "\(list)")
        let id = try #require(list[0]["id"] as? String)
        try "".write(to: dir.appendingPathComponent("fast"), atomically: true, encoding: .utf8)
        let resumed = try lumen(["pipeline", "resume", String(id.prefix(8))], in: dir)
        #expect(resumed.status == 0 && resumed.output.contains("one: finished before the interruption") && resumed.output.contains("succeeded"), "\(resumed.output)")
        #expect(lines(dir, "one.runs") == 1 && lines(dir, "two.runs") == 2, "the finished step is not run again")
        #expect(try String(contentsOf: dir.appendingPathComponent("two.txt"), encoding: .utf8) == "1\n")
        let shown = try lumen(["pipeline", "show", id], in: dir)
        #expect(shown.status == 0 && shown.output.contains("succeeded") && shown.output.contains("three"), "\(shown.output)")
        let log = try lumen(["pipeline", "show", id, "--log", "three"], in: dir)
        #expect(log.output.contains("resumable") && log.output.contains("RUNNING"), "the lumen step listed the run it belongs to: \(log.output)")
        #expect(try lumen(["pipeline", "resume", id], in: dir).status != 0, "a succeeded run has nothing to resume")

        // A second run: everything cached; a bad parameter and a bad file are refused with their place.
        let again = try lumen(["pipeline", "run", "p.yaml", "pause=30"], in: dir)
        #expect(again.status == 0 && again.output.contains("one: cached") && again.output.contains("two: cached"), "\(again.output)")
        #expect(try lumen(["pipeline", "run", "p.yaml", "paus=1"], in: dir).output.contains("'paus' is not a parameter"))
        try "steps:\n  a: {shell: echo, needs: [b]}\n".write(to: dir.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        let bad = try lumen(["pipeline", "validate", "bad.yaml"], in: dir)
        #expect(bad.status != 0 && bad.output.contains("bad.yaml:2: step 'a' needs 'b', which is not a step"), "\(bad.output)")
    }
}

@Suite struct BatchPredictCLITests {
    /// `lumen predict NAME FOLDER --out results.csv`: one row per image with the same probabilities as
    /// `lumen predict NAME FILE --json`; an unreadable file gets its error, not a crash; a second run resumes
    /// (nothing predicted twice); a dataset split and JSON Lines work; the predictions are logged (route batch).
    @Test func aFolderAndADatasetIntoCSVAndJSONLines() async throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ws = ["--workspace", dir.path]
        #expect(try lumen(["init", dir.path]).status == 0)
        #expect(try lumen(["data", "synth", "ct", dir.appendingPathComponent("ct").path, "--patients", "4", "--slices", "3", "--size", "32"]).status == 0)
        #expect(try lumen(["data", "import", dir.appendingPathComponent("ct").path, "--name", "ct", "--split", "0.5,0.25,0.25", "--seed", "1", "--no-deidentify"] + ws).status == 0)
        try "data:\n  dataset: ct\n  image_size: 24\n  window: lung\nmodel:\n  name: simple-cnn\ntrainer:\n  batch_size: 8\n  epochs: 1\n  threads: 1\n"
            .write(to: dir.appendingPathComponent("exp.yaml"), atomically: true, encoding: .utf8)
        try #require(try lumen(["train", dir.appendingPathComponent("exp.yaml").path, "--register", "ctm"] + ws).status == 0)
        let folder = dir.appendingPathComponent("ct")
        try Data("not an image".utf8).write(to: folder.appendingPathComponent("broken.dcm"))
        let out = dir.appendingPathComponent("results.csv")
        let first = try lumen(["predict", "ctm", folder.path, "--out", out.path, "--batch-size", "5"] + ws)
        #expect(first.status == 0 && first.output.contains("1 could not be read") && first.output.contains("logged for monitoring"), "\(first.output)")
        let rows = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = rows[0]
        #expect(header.prefix(3) == ["path", "label", "probability"] && header.last == "error", "\(header)")
        let images = try FileManager.default.subpathsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".dcm") }
        #expect(rows.count - 1 == images.count, "one row per file, the broken one included")
        let broken = try #require(rows.first { $0[0] == "broken.dcm" })
        #expect(broken[1].isEmpty && !broken.last!.isEmpty, "\(broken)")
        // The same probabilities as a single-file prediction.
        let sample = try #require(rows.dropFirst().first { $0[0] != "broken.dcm" })
        let single = try lumen(["predict", "ctm", folder.appendingPathComponent(sample[0]).path, "--json"] + ws)
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(single.output.utf8)) as? [String: Any])
        let probabilities = try #require(((answer["predictions"] as? [[String: Any]])?.first?["probabilities"] as? [String: Double]))
        let pIndex = try #require(header.firstIndex(of: "p_lesion"))
        #expect(abs(Double(sample[pIndex])! - probabilities["lesion"]!) < 1e-5, "\(sample) vs \(probabilities)")
        // Resume: an interrupted file (the last rows gone) is completed; nothing is predicted twice.
        let kept = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").prefix(4).joined(separator: "\n") + "\n"
        try kept.write(to: out, atomically: true, encoding: .utf8)
        let resumed = try lumen(["predict", "ctm", folder.path, "--out", out.path] + ws)
        #expect(resumed.status == 0 && resumed.output.contains("3 already there (resumed)"), "\(resumed.output)")
        let after = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[0]) }
        #expect(after.count == images.count && Set(after).count == after.count, "every file once")
        // A dataset split, as JSON Lines.
        let jsonl = dir.appendingPathComponent("test.jsonl")
        let byDataset = try lumen(["predict", "ctm", "ct", "--split", "train", "--out", jsonl.path, "--no-log"] + ws)
        #expect(byDataset.status == 0, "\(byDataset.output)")
        let lines = try String(contentsOf: jsonl, encoding: .utf8).split(separator: "\n").compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(!lines.isEmpty && lines.allSatisfy { ($0["probabilities"] as? [String: Double])?.count == 2 && $0["label"] is String && $0["prediction_id"] is String })
        // Parquet goes through pyarrow: written when the Python has it (interop/test_batch_parquet.py checks the file), else refused before predicting.
        let parquet = try lumen(["predict", "ctm", "ct", "--out", dir.appendingPathComponent("r.parquet").path, "--no-log"] + ws)
        #expect((parquet.status == 0 && FileManager.default.fileExists(atPath: dir.appendingPathComponent("r.parquet").path))
                || (parquet.status != 0 && parquet.output.contains("pip install pyarrow")), "\(parquet.output)")
        #expect(try lumen(["predict", "ctm", "nothing-here", "--out", out.path] + ws).output.contains("neither a folder nor a dataset"))
        // The folder's predictions (not the --no-log ones) are in the prediction log.
        let monitored = try lumen(["monitor", "anomalies", "ctm", "--window", "1h", "--bucket", "5m", "--json"] + ws)
        #expect(monitored.status == 0, "\(monitored.output)")
    }
}

@Suite struct SchedulerCLITests {
    func start(_ arguments: [String], in dir: URL, log: URL) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lumen")
        p.arguments = arguments
        p.currentDirectoryURL = dir
        p.environment = cleanEnvironment()
        FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: log)
        p.standardError = p.standardOutput
        try p.run()
        return p
    }

    /// Two schedulers on one store: only the leader runs the pipeline; killed with SIGKILL, it is replaced by
    /// the other one within its lease, and the pipeline goes on being run (by the new leader only).
    @Test func twoSchedulersOneLeaderAndATakeover() async throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try lumen(["init", dir.path]).status == 0)
        try "start\n".write(to: dir.appendingPathComponent("fired.txt"), atomically: true, encoding: .utf8)
        try """
        name: heartbeat
        triggers:
          - every: 1s
        steps:
          beat: {shell: "echo $LUMEN_SCHEDULER >> fired.txt", inputs: [file:fired.txt]}
        """.write(to: dir.appendingPathComponent("beat.yaml"), atomically: true, encoding: .utf8)
        let args = ["scheduler", "beat.yaml", "--interval", "0.5s", "--lease", "3s"]
        let a = try start(args, in: dir, log: dir.appendingPathComponent("a.log"))
        try await Task.sleep(for: .seconds(1))
        let b = try start(args, in: dir, log: dir.appendingPathComponent("b.log"))
        defer { for p in [a, b] where p.isRunning { p.terminate(); p.waitUntilExit() } }
        func holders() -> [String] {
            ((try? String(contentsOf: dir.appendingPathComponent("fired.txt"), encoding: .utf8)) ?? "").split(separator: "\n").dropFirst().map(String.init)
        }
        for _ in 0..<100 where holders().count < 3 { usleep(100_000) }
        usleep(2_000_000)
        let before = holders()
        #expect(before.count >= 3 && Set(before) == ["\(ProcessInfo.processInfo.hostName):\(a.processIdentifier)"], "only the first scheduler runs it: \(before)")
        let standby = (try? String(contentsOf: dir.appendingPathComponent("b.log"), encoding: .utf8)) ?? ""
        #expect(standby.contains("standby"), "\(standby)")
        kill(a.processIdentifier, SIGKILL)
        a.waitUntilExit()
        let killedAt = Date()
        let bName = "\(ProcessInfo.processInfo.hostName):\(b.processIdentifier)"
        for _ in 0..<100 where !holders().contains(bName) { usleep(100_000) }
        let tookOver = Date().timeIntervalSince(killedAt)
        #expect(holders().contains(bName) && tookOver < 6, "the standby took over after \(tookOver) s (lease 3 s)")
        let after = holders().drop { $0 != bName }
        #expect(!after.isEmpty && after.allSatisfy { $0 == bName }, "after the takeover only the new leader runs it: \(Array(after))")
        let log = (try? String(contentsOf: dir.appendingPathComponent("b.log"), encoding: .utf8)) ?? ""
        #expect(log.contains("leader"), "\(log)")
        b.terminate()
        b.waitUntilExit()
        #expect(try lumen(["pipeline", "runs", "--pipeline", "heartbeat"], in: dir).output.contains("SUCCEEDED"))
    }
}

@Suite struct RetrainingLoopCLITests {
    /// `lumen pipeline init retrain`, end to end on synthetic CT: a near-untrained champion, then a trained
    /// challenger is promoted (the alias moves, the decision and its evidence are stored); then a worse
    /// challenger is refused (the alias stays); unchanged images are imported once (cached).
    @Test func theTemplatePromotesABetterChallengerAndRefusesAWorseOne() async throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try lumen(["init", dir.path]).status == 0)
        #expect(try lumen(["data", "synth", "ct", dir.appendingPathComponent("incoming").path, "--patients", "60", "--slices", "2", "--size", "32"]).status == 0)
        try "data:\n  dataset: ct\n  image_size: 24\n  window: lung\nmodel:\n  name: simple-cnn\ntrainer:\n  batch_size: 8\n  epochs: 6\n  threads: 1\n"
            .write(to: dir.appendingPathComponent("exp.yaml"), atomically: true, encoding: .utf8)
        let made = try lumen(["pipeline", "init", "retrain", "--model", "ct", "--data", "ct", "--incoming", "incoming", "--config", "exp.yaml"], in: dir)
        #expect(made.status == 0 && FileManager.default.fileExists(atPath: dir.appendingPathComponent("retrain.yaml").path), "\(made.output)")
        #expect(try lumen(["pipeline", "validate", "retrain.yaml"], in: dir).output.contains("import → validate → train → challenge"))
        // The champion: a version barely trained (a learning rate of 1e-7).
        // A large test split (40 %: about 48 images), so that the paired bootstrap can tell the two apart.
        #expect(try lumen(["data", "import", "incoming", "--name", "ct", "--split", "0.5,0.1,0.4"], in: dir).status == 0)
        #expect(try lumen(["train", "exp.yaml", "trainer.lr=0.0000001", "trainer.epochs=1", "--register", "ct"], in: dir).status == 0)
        #expect(try lumen(["models", "alias", "ct", "champion", "--version", "1"], in: dir).status == 0)

        let better = try lumen(["pipeline", "run", "retrain.yaml", "ratios=0.5,0.1,0.4"], in: dir)
        #expect(better.status == 0 && better.output.contains("challenge"), "\(better.output)")
        let decision = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("decision.json"))) as? [String: Any])
        #expect(decision["promote"] as? Bool == true && decision["aliasMoved"] as? Bool == true && decision["challenger"] as? String == "ct/2", "\(decision)")
        #expect((decision["low"] as? Double ?? 0) > 0 && (decision["challengerValue"] as? Double ?? 0) > (decision["championValue"] as? Double ?? 1))
        let shown = try lumen(["models", "show", "ct@champion"], in: dir)
        #expect(shown.output.contains("version 2") || shown.output.contains("ct/2"), "the alias moved: \(shown.output.prefix(300))")

        // A worse challenger (barely trained again): refused, the alias stays on version 2.
        let worse = try lumen(["pipeline", "run", "retrain.yaml", "ratios=0.5,0.1,0.4", "train_args=trainer.lr=0.0000001 trainer.epochs=1"], in: dir)
        #expect(worse.status == 0 && worse.output.contains("import: cached"), "\(worse.output)")
        let refused = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("decision.json"))) as? [String: Any])
        #expect(refused["promote"] as? Bool == false && refused["aliasMoved"] as? Bool == false && refused["challenger"] as? String == "ct/3", "\(refused)")
        let still = try lumen(["models", "show", "ct@champion"], in: dir)
        #expect(still.output.contains("version 2") || still.output.contains("ct/2"), "\(still.output.prefix(300))")
        let log = try lumen(["pipeline", "show", "latest", "--log", "challenge"], in: dir)
        #expect(log.output.contains("KEEP THE CHAMPION"), "\(log.output)")
    }
}
