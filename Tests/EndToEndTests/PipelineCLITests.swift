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
        for _ in 0..<300 where lines(dir, "two.runs") == 0 { try await Task.sleep(for: .milliseconds(100)) }
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
