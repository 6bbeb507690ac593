import ArgumentParser
import Foundation
import LumenPipelines
import LumenStore
import LumenWorkspace

/// `lumen pipeline …`: pipelines of lumen and shell steps, run, cached, recorded and resumed.
struct PipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Pipelines: steps (lumen or shell commands) with inputs, outputs and dependencies, run in order, cached, recorded and resumable (docs/pipelines.md).",
        subcommands: [Init.self, Validate.self, Run.self, Resume.self, Runs.self, Show.self, Export.self])

    static func load(_ path: String) throws -> (PipelineFile, String) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("\(path): cannot read the pipeline file") }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        do { return (try PipelineFile.parse(text, path: absolute), text) } catch let error as PipelineError {
            throw CLIError(error.description.replacingOccurrences(of: absolute, with: path))
        }
    }

    /// KEY=VALUE arguments.
    static func overrides(_ items: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else { throw ValidationError("'\(item)' is not KEY=VALUE") }
            out[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return out
    }

    /// The running lumen executable (what `lumen:` steps run).
    static var executable: URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    }

    /// A run by id (or a unique beginning of it), or `latest`.
    static func findRun(_ id: String, _ store: any Store) async throws -> PipelineRunRecord {
        if id == "latest" {
            guard let newest = try await store.pipelineRuns(pipeline: nil, limit: 1).first else { throw CLIError("no pipeline run yet (lumen pipeline run FILE)") }
            return newest
        }
        return try await store.pipelineRun(id: id)
    }

    static func time(_ ms: Int64?) -> String {
        ms.map { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? "-"
    }

    static func duration(_ from: Int64?, _ to: Int64?) -> String {
        guard let from, let to else { return "-" }
        let s = Double(to - from) / 1000
        return s < 60 ? String(format: "%.1f s", s) : String(format: "%d min %02d s", Int(s) / 60, Int(s) % 60)
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a pipeline from a template: retrain (import → validate → train a challenger → champion/challenger gate → alias moved).")
        @Argument(help: "The template: retrain.") var template: String
        @Option(name: .shortAndLong, help: "Where to write it.") var output = "retrain.yaml"
        @Option(help: "The registered model.") var model = "cxr"
        @Option(help: "The dataset.") var data = "chest_xray"
        @Option(help: "The folder of images to import.") var incoming = "incoming"
        @Option(help: "The champion's experiment config.") var config = "exp.yaml"
        @Option(help: "The alias the server follows.") var alias = "champion"
        @Option(help: "The metric of the promotion rule.") var metric = "roc_auc"
        @Option(help: "The least improvement that promotes.") var margin = 0.0
        @Flag(help: "Overwrite an existing file.") var force = false

        func run() throws {
            guard PipelineTemplates.names.contains(template) else { throw CLIError("no template '\(template)' (templates: \(PipelineTemplates.names.joined(separator: ", ")))") }
            guard force || !FileManager.default.fileExists(atPath: output) else { throw CLIError("\(output) exists (--force overwrites it)") }
            let text = PipelineTemplates.retrain(model: model, data: data, incoming: incoming, config: config, alias: alias, metric: metric, margin: margin)
            _ = try PipelineFile.parse(text, path: output)
            do { try text.write(toFile: output, atomically: true, encoding: .utf8) } catch { throw CLIError("\(output): \(error.localizedDescription)") }
            print("wrote \(output): import → validate → train → challenge (\(metric), margin \(margin)) for \(model)@\(alias); lumen pipeline run \(output)")
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the pipeline as an Airflow DAG, a Prefect flow or an Argo Workflow that runs the same commands (dependencies, retries, timeouts, a cron trigger's schedule).")
        @Option(help: "airflow, prefect or argo.") var to: String
        @Argument(help: "The pipeline file.") var file: String
        @Argument(help: "Parameters: KEY=VALUE.") var params: [String] = []
        @Option(name: .shortAndLong, help: "Where to write it (default: standard output).") var output: String?
        @Option(help: "How the tasks call lumen (default: this lumen's absolute path).") var lumen: String?
        @Option(help: "Argo: the container image with lumen.") var image = "lumen:latest"
        @Option(help: "The folder the tasks run in (default: the pipeline file's; Argo: /work).") var folder: String?
        @Option(help: "Environment for every task: KEY=VALUE (repeatable; LUMEN_HOME defaults to this workspace when there is one).") var env: [String] = []

        func run() throws {
            guard let engine = PipelineExport.Engine(rawValue: to) else { throw CLIError("--to: airflow, prefect or argo") }
            let (pipeline, _) = try PipelineCommand.load(file)
            let resolved: PipelineFile
            do { resolved = try pipeline.resolved(try PipelineCommand.overrides(params)) } catch let error as PipelineError { throw CLIError(error.description) }
            var options = PipelineExport.Options()
            options.lumen = lumen ?? (engine == .argo ? "lumen" : PipelineCommand.executable.path)
            options.folder = folder ?? (engine == .argo ? "/work" : pipeline.folder.path)
            options.image = image
            if engine != .argo, let ws = try? Workspace.find(from: pipeline.folder) { options.environment["LUMEN_HOME"] = ws.root.path }
            for (k, v) in try PipelineCommand.overrides(env) { options.environment[k] = v }
            let text = try PipelineExport.render(resolved, engine: engine, options: options)
            try writeOrPrint(text, to: output) { output in "\(engine.rawValue): \(output) (\(resolved.steps.count) tasks)" }
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a pipeline file: keys, steps, dependencies (unknown steps, cycles), parameters and input files, each error with its line.")
        @Argument(help: "The pipeline file (YAML).") var file: String
        @Argument(help: "Parameters to check it with: KEY=VALUE.") var params: [String] = []

        func run() throws {
            let (pipeline, _) = try PipelineCommand.load(file)
            do { _ = try pipeline.resolved(try PipelineCommand.overrides(params)) } catch let error as PipelineError {
                throw CLIError(error.description.replacingOccurrences(of: pipeline.path, with: file))
            }
            let order = try pipeline.order()
            print("\(file): pipeline \(pipeline.name) is valid: \(order.count) steps in this order: \(order.map(\.name).joined(separator: " → "))")
            if !pipeline.params.isEmpty { print("params: " + pipeline.params.keys.sorted().map { "\($0)=\(pipeline.params[$0]!)" }.joined(separator: " ")) }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a pipeline: steps in dependency order, unchanged steps skipped (cached), every run and step recorded in the store.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "The pipeline file (YAML).") var file: String
        @Argument(help: "Parameters: KEY=VALUE (each one the file declares under params).") var params: [String] = []
        @Flag(help: "Rerun every step, cached or not.") var force = false

        func run() async throws {
            let (pipeline, source) = try PipelineCommand.load(file)
            let overrides = try PipelineCommand.overrides(params)
            let ws = try options.open()
            let record = try await options.withStore { store in
                do {
                    return try await PipelineRunner(store: store, workspace: ws, lumen: PipelineCommand.executable)
                        .run(pipeline, source: source, overrides: overrides, force: force)
                } catch let error as PipelineError {
                    throw CLIError(error.description.replacingOccurrences(of: pipeline.path, with: file))
                }
            }
            if record.status != .succeeded {
                print("resume with: lumen pipeline resume \(record.id.prefix(8))")
                throw ExitCode(1)
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a pipeline run that failed or was killed, from its first unfinished step (the finished ones are reused).")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "The run's id (or a unique beginning of it), or 'latest'.") var run: String

        func run() async throws {
            let ws = try options.open()
            let record = try await options.withStore { store in
                let id = try await PipelineCommand.findRun(run, store).id
                do { return try await PipelineRunner(store: store, workspace: ws, lumen: PipelineCommand.executable).resume(id) } catch let error as PipelineError {
                    throw CLIError(error.description)
                }
            }
            if record.status != .succeeded { throw ExitCode(1) }
        }
    }

    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pipeline runs, newest first.")
        @OptionGroup var options: WorkspaceOptions
        @Option(help: "Only the runs of this pipeline.") var pipeline: String?
        @Option(help: "Most runs shown.") var limit = 50
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let runs = try await options.withStore { store in try await store.pipelineRuns(pipeline: pipeline, limit: max(1, min(limit, 100_000))) }
            if json { return try printJSON(runs) }
            if runs.isEmpty { print("no pipeline run yet (lumen pipeline run FILE)"); return }
            print(table(["run", "pipeline", "status", "started", "took", "message"], runs.map { r in
                [String(r.id.prefix(8)), r.pipeline, r.status.rawValue.uppercased(), PipelineCommand.time(r.started), PipelineCommand.duration(r.started, r.finished), String(r.message.prefix(80))]
            }))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A pipeline run's steps: status, attempts, timing, cache, outputs; --log STEP prints a step's output.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "The run's id (or a unique beginning of it), or 'latest'.") var run: String
        @Option(help: "Print this step's output (every attempt).") var log: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let ws = try options.open()
            let (record, steps) = try await options.withStore { store in
                let r = try await PipelineCommand.findRun(run, store)
                return (r, try await store.pipelineSteps(runID: r.id))
            }
            if let log {
                guard let step = steps.first(where: { $0.step == log }) else { throw CLIError("run \(record.id.prefix(8)) has no step '\(log)' (steps: \(steps.map(\.step).joined(separator: ", ")))") }
                guard let sha = step.logSHA256 else { print("(\(log) wrote nothing)"); return }
                FileHandle.standardOutput.write(try Data(contentsOf: ArtifactStore(root: ws.artifactRoot).url(for: sha)))
                return
            }
            if json {
                struct Out: Encodable { var run: PipelineRunRecord; var steps: [PipelineStepRecord] }
                return try printJSON(Out(run: record, steps: steps))
            }
            print("run \(record.id) of \(record.pipeline) (\(record.path)): \(record.status.rawValue), started \(PipelineCommand.time(record.started)), took \(PipelineCommand.duration(record.started, record.finished))")
            print("params: \(record.params)")
            if !record.message.isEmpty { print(record.message) }
            print(table(["step", "status", "attempts", "took", "exit", "cache", "outputs"], steps.map { s in
                [s.step, s.status.rawValue, String(s.attempts), PipelineCommand.duration(s.started, s.finished), s.exitCode.map(String.init) ?? "-",
                 s.cachedFrom.map { "from \($0.prefix(8))" } ?? "-", s.outputs == "{}" ? "-" : String(s.outputs.prefix(100))]
            }))
        }
    }
}

/// `lumen scheduler FILE…`: runs pipelines when their triggers fire; one active scheduler per store.
struct SchedulerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler",
        abstract: "Run pipelines when their triggers fire (cron, every, a new dataset version, a model reference that moves, an alert); several schedulers on one store elect one leader through a lease in the database.")
    @OptionGroup var options: WorkspaceOptions
    @Argument(help: "Pipeline files with 'triggers:'.") var files: [String]
    @Option(help: "How often to look at the triggers (10s, 1m).") var interval = "10s"
    @Option(help: "The leader's lease: a killed leader is replaced after this long (30s).") var lease = "30s"
    @Flag(help: "Look at the triggers once (when leader) and exit.") var once = false

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one pipeline file") }
        let i = try durationSeconds(interval, option: "--interval"), l = try durationSeconds(lease, option: "--lease")
        guard i >= 0.2, l >= 1 else { throw ValidationError("--interval is at least 0.2s and --lease at least 1s") }
        guard i < l else { throw ValidationError("--interval must be shorter than --lease (the leader renews its lease every interval)") }
    }

    func run() async throws {
        var pipelines: [(file: PipelineFile, source: String)] = []
        for f in files {
            let (file, source) = try PipelineCommand.load(f)
            guard !file.triggers.isEmpty else { throw CLIError("\(f): no 'triggers:' (cron, every, dataset, model or alert); lumen pipeline run runs it now") }
            _ = try file.resolved()
            pipelines.append((file, source))
        }
        let ws = try options.open()
        let holder = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
        try await options.withStore { store in
            var scheduler = PipelineScheduler(runner: PipelineRunner(store: store, workspace: ws, lumen: PipelineCommand.executable), pipelines: pipelines, holder: holder)
            scheduler.interval = try durationSeconds(interval, option: "--interval")
            scheduler.lease = try durationSeconds(lease, option: "--lease")
            print("scheduler \(holder): \(pipelines.count) pipeline(s): " + pipelines.map { "\($0.file.name) (\($0.file.triggers.map(\.description).joined(separator: ", ")))" }.joined(separator: "; "))
            let task = Task { try await scheduler.run(once: once) }
            // SIGTERM/SIGINT: stop looking and give the lease up (a second signal quits at once).
            let interrupt = Interrupt()
            interrupt.install(message: "stopping the scheduler")
            let watcher = Task {
                while !Task.isCancelled && !interrupt.isRaised { try? await Task.sleep(for: .milliseconds(200)) }
                if interrupt.isRaised { task.cancel() }
            }
            defer { watcher.cancel() }
            try await task.value
        }
    }
}
