import Foundation
@testable import LumenPipelines
import Yams
import LumenStore
import LumenWorkspace
import Testing

@Suite("Pipeline files")
struct PipelineFileTests {
    func error(_ yaml: String) -> String {
        do { _ = try PipelineFile.parse(yaml, path: "p.yaml"); return "" } catch { return "\(error)" }
    }

    /// Steps come after what they need; file order among equals.
    @Test func orderFollowsTheDependencies() throws {
        let file = try PipelineFile.parse("""
            name: loop
            steps:
              report: {shell: echo report, needs: [evaluate]}
              fetch: {shell: echo fetch}
              train: {lumen: train exp.yaml, needs: [fetch]}
              evaluate: {lumen: "evaluate cxr@latest --data 'chest xray'", needs: [train, fetch]}
            """, path: "p.yaml")
        #expect(try file.order().map(\.name) == ["fetch", "train", "evaluate", "report"])
        #expect(file.steps.first { $0.name == "evaluate" }?.command == .lumen(["evaluate", "cxr@latest", "--data", "chest xray"]))
        #expect(file.upstream(of: "report") == ["evaluate", "train", "fetch"])
    }

    /// Each mistake is named with its line.
    @Test func mistakesAreNamedWithTheirLine() {
        #expect(error("name: x\nsteps:\n  a: {shell: echo}\n  b: {shell: echo, needs: [c]}\n") == "p.yaml:4: step 'b' needs 'c', which is not a step (steps: a, b)")
        #expect(error("name: x\nsteps:\n  a: {shell: echo, needs: [b]}\n  b: {shell: echo, needs: [a]}\n").contains("the steps form a cycle: a → b → a"))
        #expect(error("name: x\nsteps:\n  a:\n    shell: echo\n    retires: 2\n") == "p.yaml:5: step 'a': unknown key 'retires' (keys: lumen, shell, needs, inputs, outputs, retries, retry_delay, timeout)")
        #expect(error("name: x\nstep:\n  a: {shell: echo}\n") == "p.yaml:2: unknown key 'step' (keys: name, params, steps, triggers)")
        #expect(error("steps:\n  a: {shell: 'echo {{who}}'}\n") == "p.yaml:2: step 'a' uses {{who}}, which is not in params")
        #expect(error("steps:\n  a: {needs: []}\n") == "p.yaml:2: step 'a': needs 'lumen: COMMAND' or 'shell: COMMAND'")
        #expect(error("steps:\n  a: {shell: echo, lumen: train}\n").contains("either 'lumen' or 'shell', not both"))
        #expect(error("steps:\n  a: {shell: echo, inputs: [data.csv]}\n").contains("'data.csv' is not file:PATH, dataset:NAME[:VERSION] or model:NAME@ALIAS"))
        #expect(error("steps:\n  a: {shell: echo, timeout: soon}\n").hasPrefix("p.yaml:2: step 'a'.timeout"))
        #expect(error("steps: [a, b]\n").contains("steps: a mapping of step names"))
        #expect(error("a: [").contains("not YAML"))
    }

    /// Parameters: defaults, overrides, unknown overrides refused; a file input must exist or come from an upstream step.
    @Test func parametersAndInputs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-pipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("p.yaml").path
        let file = try PipelineFile.parse("""
            params: {epochs: 3, data: cxr}
            steps:
              make: {shell: "echo {{epochs}} > made.txt", outputs: [file:made.txt]}
              use: {shell: cat made.txt, inputs: ["file:made.txt", "dataset:{{data}}"], needs: [make]}
              raw: {shell: cat given.txt, inputs: [file:given.txt]}
            """, path: path)
        #expect(throws: PipelineError.self) { try file.resolved() }   // given.txt is missing and no step makes it
        try "x".write(to: dir.appendingPathComponent("given.txt"), atomically: true, encoding: .utf8)
        let resolved = try file.resolved(["epochs": "7"])
        #expect(resolved.steps[0].command == .shell("echo 7 > made.txt") && resolved.steps[1].inputs.last == .dataset("cxr"))
        #expect(throws: PipelineError.self) { try file.resolved(["epoch": "7"]) }
    }
}

@Suite("Pipeline runs")
struct PipelineRunTests {
    /// A workspace, its store and a runner whose live view is collected.
    func setUp() async throws -> (URL, SQLStore, PipelineRunner, Locked<[String]>) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-pipe-\(UUID().uuidString)")
        let ws = try Workspace.create(at: dir)
        let store = try await SQLStore.sqlite(path: dir.appendingPathComponent(".lumen/test.db").path)
        let lines = Locked<[String]>([])
        let runner = PipelineRunner(store: store, workspace: ws, lumen: URL(fileURLWithPath: "/bin/false")) { line in lines.withLock { $0.append(line) } }
        return (dir, store, runner, lines)
    }

    func count(_ dir: URL, _ name: String) -> Int {
        ((try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// A second run with nothing changed runs nothing; a changed input reruns its step and those after it;
    /// --force reruns all; a deleted output is restored from the artifact store on a cache hit.
    @Test func unchangedStepsAreCachedAndChangedOnesRerun() async throws {
        let (dir, store, runner, _) = try await setUp()
        defer { Task { try? await store.close() } }
        try "1\n2\n".write(to: dir.appendingPathComponent("input.txt"), atomically: true, encoding: .utf8)
        let yaml = """
            name: cache
            steps:
              double: {shell: "echo run >> double.runs; awk '{print 2*$1}' input.txt > doubled.txt", inputs: [file:input.txt], outputs: [file:doubled.txt]}
              total: {shell: "echo run >> total.runs; awk '{s+=$1} END {print s}' doubled.txt > total.txt", inputs: [file:doubled.txt], outputs: [file:total.txt], needs: [double]}
              other: {shell: "echo run >> other.runs"}
            """
        let path = dir.appendingPathComponent("cache.yaml").path
        let file = try PipelineFile.parse(yaml, path: path)
        let first = try await runner.run(file, source: yaml)
        #expect(first.status == .succeeded && count(dir, "double.runs") == 1 && count(dir, "total.runs") == 1)
        #expect(try String(contentsOf: dir.appendingPathComponent("total.txt"), encoding: .utf8) == "6\n")
        let second = try await runner.run(file, source: yaml)
        #expect(second.status == .succeeded && count(dir, "double.runs") == 1 && count(dir, "total.runs") == 1 && count(dir, "other.runs") == 1)
        let steps = try await store.pipelineSteps(runID: second.id)
        #expect(steps.allSatisfy { $0.status == .cached && $0.cachedFrom == first.id }, "\(steps.map { ($0.step, $0.status) })")
        // A changed input: both steps that depend on it rerun; the unrelated one does not.
        try "1\n2\n3\n".write(to: dir.appendingPathComponent("input.txt"), atomically: true, encoding: .utf8)
        _ = try await runner.run(file, source: yaml)
        #expect(count(dir, "double.runs") == 2 && count(dir, "total.runs") == 2 && count(dir, "other.runs") == 1)
        #expect(try String(contentsOf: dir.appendingPathComponent("total.txt"), encoding: .utf8) == "12\n")
        // A deleted output comes back from the artifact store; nothing reruns.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("total.txt"))
        _ = try await runner.run(file, source: yaml)
        #expect(try String(contentsOf: dir.appendingPathComponent("total.txt"), encoding: .utf8) == "12\n" && count(dir, "total.runs") == 2)
        _ = try await runner.run(file, source: yaml, force: true)
        #expect(count(dir, "double.runs") == 3 && count(dir, "total.runs") == 3 && count(dir, "other.runs") == 2)
        #expect(try await store.pipelineRuns(pipeline: "cache", limit: 10).count == 5)
    }

    /// A step that fails twice then succeeds with 2 retries; a step past its timeout fails and the steps after it are not run.
    @Test func retriesWithBackOffAndTimeouts() async throws {
        let (dir, store, runner, lines) = try await setUp()
        defer { Task { try? await store.close() } }
        let yaml = """
            name: flaky
            steps:
              flaky: {shell: "echo x >> tries; test $(wc -l < tries) -ge 3", retries: 2, retry_delay: 0.2}
              slow: {shell: "sleep 20", timeout: 1s, needs: [flaky]}
              after: {shell: "echo after > after.txt", needs: [slow]}
            """
        let file = try PipelineFile.parse(yaml, path: dir.appendingPathComponent("flaky.yaml").path)
        let began = Date()
        let run = try await runner.run(file, source: yaml)
        let took = Date().timeIntervalSince(began)
        #expect(run.status == .failed && run.message.contains("slow") && run.message.contains("timed out"), "\(run)")
        let steps = Dictionary(uniqueKeysWithValues: try await store.pipelineSteps(runID: run.id).map { ($0.step, $0) })
        #expect(steps["flaky"]?.status == .succeeded && steps["flaky"]?.attempts == 3)
        #expect(steps["slow"]?.status == .failed && steps["slow"]?.message == "timed out after 1.0 s")
        #expect(steps["after"]?.status == .skipped && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("after.txt").path))
        #expect(took > 0.2 + 0.4 + 1 && took < 15, "back-off 0.2 s then 0.4 s, a 1 s timeout, not the 20 s sleep: \(took)")
        #expect(lines.withLock { $0 }.contains { $0.contains("retrying in 0.4 s") })
        // The log of every attempt is kept.
        let log = try String(contentsOf: ArtifactStore(root: runner.workspace.artifactRoot).url(for: steps["flaky"]!.logSHA256!), encoding: .utf8)
        #expect(log.contains("── attempt 3 ──"))
    }
}

@Suite("Triggers")
struct TriggerTests {
    func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test func cronSchedules() throws {
        let daily = try CronSchedule("0 3 * * *")
        #expect(daily.matches(date("2026-12-05T03:00:30Z")) && !daily.matches(date("2026-12-05T03:01:00Z")) && !daily.matches(date("2026-12-05T04:00:00Z")))
        #expect(daily.due(after: date("2026-12-05T02:59:10Z"), through: date("2026-12-05T03:00:05Z")))
        #expect(!daily.due(after: date("2026-12-05T03:00:10Z"), through: date("2026-12-05T03:10:00Z")), "03:00 was already seen")
        let weekdays = try CronSchedule("*/15 8-18 * * 1-5")
        #expect(weekdays.matches(date("2026-12-04T08:45:00Z")) && !weekdays.matches(date("2026-12-05T08:45:00Z")), "Friday yes, Saturday no")
        #expect(!weekdays.matches(date("2026-12-04T08:50:00Z")) && !weekdays.matches(date("2026-12-04T19:00:00Z")))
        let sunday = try CronSchedule("0 0 * * 7")
        #expect(sunday.matches(date("2026-12-06T00:00:00Z")))
        let either = try CronSchedule("0 0 1 * 1")   // both day fields restricted: either matches
        #expect(either.matches(date("2026-12-01T00:00:00Z")) && either.matches(date("2026-12-07T00:00:00Z")) && !either.matches(date("2026-12-02T00:00:00Z")))
        #expect(throws: PipelineError.self) { try CronSchedule("0 3 * *") }
        #expect(throws: PipelineError.self) { try CronSchedule("61 * * * *") }
        #expect(throws: PipelineError.self) { try CronSchedule("*/0 * * * *") }
    }

    @Test func triggersAreParsedAndChecked() throws {
        let file = try PipelineFile.parse("""
            triggers:
              - cron: "0 3 * * *"
              - every: 30s
              - dataset: chest_xray
              - model: cxr@champion
              - alert: cxr-drift
            steps:
              a: {shell: echo}
            """, path: "p.yaml")
        #expect(file.triggers.map(\.description) == ["cron: 0 3 * * *", "every: 30.0s", "dataset: chest_xray", "model: cxr@champion", "alert: cxr-drift"])
        do { _ = try PipelineFile.parse("triggers:\n  - hourly: yes\nsteps:\n  a: {shell: echo}\n", path: "p.yaml"); Issue.record("accepted") } catch {
            #expect("\(error)" == "p.yaml:2: triggers: unknown trigger 'hourly' (cron, every, dataset, model, alert)")
        }
        do { _ = try PipelineFile.parse("triggers:\n  - cron: '99 * * * *'\nsteps:\n  a: {shell: echo}\n", path: "p.yaml"); Issue.record("accepted") } catch {
            #expect("\(error)".hasPrefix("p.yaml:2: cron '99 * * * *': minute"))
        }
    }
}

@Suite("Scheduler triggers")
struct SchedulerTriggerTests {
    /// A first look records what is there without firing; a new dataset version, a moved alias and a fired alert each fire once.
    @Test func dataModelAndAlertTriggersFireOnChange() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-sched-\(UUID().uuidString)")
        let ws = try Workspace.create(at: dir)
        let store = try await SQLStore.sqlite(path: dir.appendingPathComponent(".lumen/test.db").path)
        defer { Task { try? await store.close() } }
        let runner = PipelineRunner(store: store, workspace: ws, lumen: URL(fileURLWithPath: "/bin/false")) { _ in }
        let scheduler = PipelineScheduler(runner: runner, pipelines: [], holder: "t")
        func record(_ id: String) -> DatasetRecord {
            DatasetRecord(name: "cxr", versionID: id, created: Clock.nowMillis(), task: "classification", files: 1, classes: ["a", "b"], parent: nil, manifestPath: "m", manifestSHA256: id)
        }
        try await store.recordDatasetVersion(record("v1"))
        _ = try await store.createRegisteredModel(name: "m", description: "", tags: [:])
        for _ in 0..<2 { _ = try await store.createModelVersion(name: "m", source: "s", runID: nil, description: "", tags: [:], signature: nil, preprocessing: nil) }
        try await store.setAlias(name: "m", alias: "champion", version: 1)
        let triggers: [PipelineTrigger] = [.dataset("cxr"), .model("m@champion"), .alert("drift")]
        for t in triggers { #expect(try await scheduler.check(t, pipeline: "p") == nil, "a first look fires nothing: \(t)") }
        for t in triggers { #expect(try await scheduler.check(t, pipeline: "p") == nil, "nothing changed: \(t)") }
        try await store.recordDatasetVersion(record("v2"))
        try await store.setAlias(name: "m", alias: "champion", version: 2)
        _ = try await store.insertAlert(AlertRecord(rule: "drift", model: "m", severity: "warning", state: .firing, metric: "drift_share", comparison: "above",
                                                    threshold: 0.3, value: 0.5, started: 1000, fired: 2000, updated: 2000, evidence: "{}"))
        #expect(try await scheduler.check(.dataset("cxr"), pipeline: "p") == "new version v2 of dataset cxr")
        #expect(try await scheduler.check(.model("m@champion"), pipeline: "p") == "m@champion is now m/2")
        #expect(try await scheduler.check(.alert("drift"), pipeline: "p") == "alert drift fired")
        for t in triggers { #expect(try await scheduler.check(t, pipeline: "p") == nil, "fired once: \(t)") }
        // every: fires, then not before its period.
        #expect(try await scheduler.check(.every(60), pipeline: "p") != nil)
        #expect(try await scheduler.check(.every(60), pipeline: "p") == nil)
    }
}

@Suite("Pipeline export")
struct PipelineExportTests {
    static let yaml = """
        name: diamond
        triggers: [{cron: "30 2 * * *"}]
        steps:
          a: {shell: "echo 'a' > a.txt"}
          pre-process.v2: {lumen: data validate cxr, needs: [a], retries: 2, retry_delay: 10s}
          c: {shell: echo c, needs: [a], timeout: 1h}
          d: {lumen: [evaluate, "cxr@champion", --data, "chest xray"], needs: [pre-process.v2, c]}
        """

    /// The structure every engine needs: one task per step, the dependencies, retries, timeout, schedule, commands.
    @Test func everyEngineGetsTheStepsDependenciesAndSchedule() throws {
        let file = try PipelineFile.parse(Self.yaml, path: "/tmp/diamond.yaml")
        var options = PipelineExport.Options()
        options.lumen = "/opt/lumen/bin/lumen"
        options.folder = "/data/pipelines"
        let airflow = try PipelineExport.render(file, engine: .airflow, options: options)
        #expect(airflow.contains(#"schedule="30 2 * * *""#) && airflow.contains(#"task_id="pre-process.v2""#))
        #expect(airflow.contains("step_pre_process_v2 = BashOperator(") && airflow.contains("step_a >> step_pre_process_v2") && airflow.contains("step_c >> step_d") && airflow.contains("step_pre_process_v2 >> step_d"))
        #expect(airflow.contains("retries=2") && airflow.contains("retry_delay=timedelta(seconds=10.0)") && airflow.contains("execution_timeout=timedelta(seconds=3600.0)"))
        #expect(airflow.contains(#"/opt/lumen/bin/lumen evaluate cxr@champion --data 'chest xray'"#), "arguments are shell-quoted")
        #expect(airflow.contains(#"{% raw %}cd /data/pipelines && PATH=/opt/lumen/bin:\"$PATH\"; echo 'a' > a.txt{% endraw %}"#), "\(airflow)")
        let prefect = try PipelineExport.render(file, engine: .prefect, options: options)
        #expect(prefect.contains(#"@task(name="pre-process.v2", retries=2, retry_delay_seconds=[10.0, 20.0])"#) && prefect.contains("timeout_seconds=3600.0"))
        #expect(prefect.contains("step_d_done = step_d.submit(wait_for=[step_pre_process_v2_done, step_c_done])") && prefect.contains(", timeout=3600.0)") && prefect.contains(#"cron="30 2 * * *""#))
        let argo = try PipelineExport.render(file, engine: .argo, options: options)
        let doc = try #require(try Yams.load(yaml: argo) as? [String: Any])
        #expect(doc["kind"] as? String == "CronWorkflow")
        let spec = try #require(doc["spec"] as? [String: Any])
        #expect(spec["schedules"] as? [String] == ["30 2 * * *"])
        let templates = try #require((spec["workflowSpec"] as? [String: Any])?["templates"] as? [[String: Any]])
        let tasks = try #require(((templates.first { $0["name"] as? String == "main" })?["dag"] as? [String: Any])?["tasks"] as? [[String: Any]])
        let dependencies = Dictionary(uniqueKeysWithValues: tasks.map { ($0["name"] as! String, ($0["dependencies"] as? [String]) ?? []) })
        #expect(dependencies == ["a": [], "pre-process-v2": ["a"], "c": ["a"], "d": ["pre-process-v2", "c"]])
        let pre = try #require(templates.first { $0["name"] as? String == "pre-process-v2" })
        #expect((pre["retryStrategy"] as? [String: Any])?["limit"] as? String == "2")
        #expect((templates.first { $0["name"] as? String == "c" })?["activeDeadlineSeconds"] as? Int == 3600)
        let noCron = try PipelineFile.parse(Self.yaml.replacingOccurrences(of: #"triggers: [{cron: "30 2 * * *"}]"#, with: ""), path: "/tmp/d.yaml")
        #expect(try PipelineExport.render(noCron, engine: .argo, options: options).contains("kind: Workflow\nmetadata:\n  generateName: diamond-"))
        #expect(try PipelineExport.render(noCron, engine: .airflow, options: options).contains("schedule=None"))
        // Names that collide once made into identifiers stay distinct; a step named like an import does not shadow it.
        let clash = try PipelineFile.parse("steps:\n  a.b: {shell: echo}\n  a_b: {shell: echo}\n  timedelta: {shell: echo, needs: [a.b, a_b]}\n", path: "/tmp/c.yaml")
        let ids = PipelineExport.identifiers(try clash.order())
        #expect(Set(ids.values).count == 3 && ids["timedelta"] == "step_timedelta")
        #expect(Set(PipelineExport.argoNames(try clash.order()).values).count == 3)
    }
}
