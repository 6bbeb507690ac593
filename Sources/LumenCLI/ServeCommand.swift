import ArgumentParser
import Foundation
import LumenData
import LumenImaging
import LumenMonitoring
import LumenServing
import LumenTensor
import LumenStore
import LumenWorkspace
import Yams

/// `lumen serve`: the tracking server (MLflow's REST API) and, with `--model`, the models' inference API.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the tracking API (MLflow-compatible) and registered models (Open Inference Protocol, image upload) on one port.",
        discussion: """
        Tracking: MLFLOW_TRACKING_URI=http://HOST:PORT. Models: --model NAME@ALIAS (repeatable) or --models all loads each version with \
        its preprocessing, warms it up and answers /v2/models/NAME/infer (KServe V2, JSON or binary tensors) and /api/predict/NAME \
        (multipart image upload). A moved alias is picked up without a restart (every --poll seconds, or POST /api/models/NAME/reload). \
        /metrics is Prometheus's text format. SIGTERM drains requests in flight and writes every pending prediction log.
        """)

    @OptionGroup var options: WorkspaceOptions
    @Option(name: .long, help: "Interface to listen on.") var host = "127.0.0.1"
    @Option(name: .shortAndLong, help: "TCP port.") var port = 5000
    @Option(name: .long, help: "Largest artifact upload in MiB.") var maxArtifactMb = 8192
    @Flag(inversion: .prefixedNo, help: "Require API tokens (default: on when --host is not loopback): reader tokens read and predict, writer tokens also log, admin tokens also move aliases and reload models; /v2/health/* and /metrics stay open.") var auth: Bool?
    @Flag(name: .long, help: "With auth on, reads and predictions need no token (MLflow's old behaviour); writes still do.") var publicRead = false
    @Option(name: .long, help: ArgumentHelp("A registered model to serve: NAME@ALIAS, NAME/VERSION or NAME (latest); repeatable.", valueName: "reference")) var model: [String] = []
    @Option(name: .long, help: ArgumentHelp("'all': serve every registered model (its 'champion' alias when set, else its latest version).", valueName: "all")) var models: String?
    @Option(name: .long, help: "Dedicated inference threads (default: 1 per 2 cores, at least 1).") var computeThreads: Int?
    @Option(name: .long, help: "Milliseconds the first request of a batch waits for others.") var batchWindowMs = 5.0
    @Option(name: .long, help: "Most images per batch (default: 8 on CPU, where bigger batches add memory and no throughput; 32 with a CUDA device).") var maxBatch: Int?
    @Option(name: .long, help: "Most images waiting per model before requests get 503 with Retry-After.") var queueCapacity = 256
    @Option(name: .long, help: "Seconds a request may wait for its model before a 503.") var requestTimeout = 30.0
    @Option(name: .long, help: "Seconds between checks of the registry for moved aliases (0: never).") var poll = 10.0
    @Option(name: .long, help: "Largest prediction upload in MiB.") var maxUploadMb = 64
    @Option(name: .long, help: "Seconds a connection may stay idle between requests, or a request's body go without new bytes, before the connection is closed.") var idleTimeout = 60.0
    @Flag(name: .long, help: "Do not log predictions to the store (and compute nothing for monitoring: no embeddings, no alerts).") var noPredictionLog = false
    @Flag(name: .long, help: "Keep every uploaded image in the artifact store (DICOM de-identified first, keyed by the store's secret; other images as sent); the prediction log names it.") var keepInputs = false
    @Option(name: .long, help: ArgumentHelp("Write a JSON access log, one line per request, to this file ('-': standard output).", valueName: "path")) var accessLog: String?
    @Option(name: .long, help: ArgumentHelp("Server config file (YAML): 'traffic:' maps a model name to its policy (split, canary, shadow, sticky_header; docs/serving.md); 'alerts:' holds alert rules and channels (docs/monitoring.md).", valueName: "file")) var config: String?

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1…65535") }
        guard maxArtifactMb > 0 else { throw ValidationError("--max-artifact-mb must be positive") }
        guard models == nil || models == "all" else { throw ValidationError("--models takes only 'all' (use --model NAME@ALIAS for one model)") }
        guard computeThreads.map({ (1...256).contains($0) }) ?? true else { throw ValidationError("--compute-threads must be 1…256") }
        guard batchWindowMs >= 0, batchWindowMs <= 10_000 else { throw ValidationError("--batch-window-ms must be 0…10000") }
        if let maxBatch { guard (1...4096).contains(maxBatch) else { throw ValidationError("--max-batch must be 1…4096") } }
        guard queueCapacity >= 1 else { throw ValidationError("--queue-capacity must be positive") }
        guard requestTimeout > 0 else { throw ValidationError("--request-timeout must be positive") }
        guard idleTimeout > 0, idleTimeout <= 86_400 else { throw ValidationError("--idle-timeout must be positive (at most 86400 seconds)") }
        guard poll >= 0 else { throw ValidationError("--poll must be 0 (off) or positive") }
        guard (1...65536).contains(maxUploadMb) else { throw ValidationError("--max-upload-mb must be 1…65536") }
        for m in model { _ = try ModelReference(parsing: m) }
    }

    func run() async throws {
        let threadCount = computeThreads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
        // Before the server's threads start: one malloc arena per compute thread plus one shared by the rest
        // (glibc's default of 8 per core keeps freed upload and activation blocks resident in each of them).
        Runtime.limitAllocatorArenas(to: threadCount + 1)
        // A missing or malformed config file is reported before any model is loaded and warmed up.
        if let config { _ = try Self.serverConfig(config) }
        let workspace = try options.open()
        let store = try await workspace.openStore()
        let artifacts = ArtifactStore(root: workspace.artifactRoot)
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.maxArtifactBytes = Int64(maxArtifactMb) * 1024 * 1024
        configuration.requireTokens = auth
        configuration.publicRead = publicRead
        configuration.idleTimeout = idleTimeout
        if let accessLog {
            do { configuration.accessLog = try AccessLog(path: accessLog) } catch { throw CLIError("\(error)") }
        }
        let metrics = ServingMetrics()
        configuration.metrics = metrics

        var references = try model.map { try ModelReference(parsing: $0) }
        if models == "all" {
            for m in try await store.registeredModels(nameLike: nil) where m.latestVersion != nil {
                references.append(m.aliases["champion"] != nil ? .alias(name: m.name, alias: "champion") : .latest(name: m.name))
            }
        }
        var hostRef: ModelHost?
        var logger: PredictionLogger?
        var alerts: AlertConfig?
        if !references.isEmpty {
            var batching = BatchingOptions()
            batching.window = batchWindowMs / 1000
            batching.maxBatch = maxBatch ?? (Runtime.cudaAvailable ? 32 : 8)
            batching.queueCapacity = queueCapacity
            batching.timeout = requestTimeout
            let pool = ComputePool(threads: threadCount)
            let modelHost = ModelHost(store: store, artifacts: artifacts, pool: pool, options: batching, metrics: metrics, monitoring: !noPredictionLog)
            // Every model is loaded and warmed up before the port opens: "ready" means ready.
            for reference in references {
                let started = Date()
                do {
                    let (served, _) = try await modelHost.load(reference)
                    print("loaded \(served.name) version \(served.version.version) (\(reference), \(served.spec.architecture.name.rawValue), \(served.spec.classes.count) classes) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
                } catch {
                    throw CLIError("cannot serve \(reference): \(error)")
                }
            }
            if let config {
                alerts = try Self.alertConfig(config)
                for (name, policy) in try Self.trafficPolicies(config) {
                    do { try await modelHost.setPolicy(policy, for: name) } catch { throw CLIError("\(config): traffic of '\(name)': \(error)") }
                    print("\(name): traffic \(await modelHost.routeTable(name))")
                }
            }
            if !noPredictionLog {
                let l = PredictionLogger(store: store)
                await l.start()
                logger = l
            }
            var limits = UploadLimits()
            limits.maxBytes = maxUploadMb * 1024 * 1024
            var keeper: InputKeeper?
            if keepInputs {
                let secret = try await store.deidentificationSecret()
                keeper = InputKeeper(artifacts: artifacts, deidentifier: DeIdentifier(key: WorkspaceKey(secret)))
            }
            configuration.inference = InferenceService(host: modelHost, logger: logger, metrics: metrics, limits: limits, keeper: keeper)
            hostRef = modelHost
        }
        let servedHost = hostRef
        var banner = "lumen serve: http://\(host):\(port)  (store \(SQLStore.redacted(workspace.storeURI)), artifacts \(workspace.artifactRoot.path))\n"
            + (configuration.authEnabled ? (publicRead ? "  writes need an API token (lumen token create --role writer); reads are public" : "  every request needs an API token (lumen token create --role reader|writer|admin)")
                : "  open (loopback); --auth requires tokens")
        if servedHost != nil {
            banner += "\n  models: /v2/models/NAME/infer, /api/predict/NAME; metrics: /metrics; ready"
        }
        let finalBanner = banner
        // The banner is printed once the port is really listened on.
        let app = makeServer(store: store, artifacts: artifacts, configuration: configuration) { print(finalBanner) }
        let poller: Task<Void, Never>? = servedHost.flatMap { modelHost in
            poll > 0 ? Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(poll))
                    let moved = await modelHost.poll { name, error in
                        guard !(error is CancellationError) else { return }
                        FileHandle.standardError.write(Data("lumen serve: cannot reload \(name): \(error)\n".utf8))
                    }
                    for name in moved {
                        if let m = try? await modelHost.model(name) { print("\(name): now serving version \(m.version.version) (\(m.reference))") }
                    }
                }
            } : nil
        }
        // Alert rules are evaluated every interval against the store (every replica may run them: the store
        // keeps one open alert per rule and model, and only the evaluation that moves it notifies).
        let alertRules = alerts
        let watcher: Task<Void, Never>? = servedHost.flatMap { modelHost in
            alertRules.map { config in
                Task {
                    let engine = AlertEngine(config: config, store: store, artifacts: artifacts)
                    var reported = Set<String>()
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(config.interval))
                        if Task.isCancelled { break }
                        let (events, errors) = await engine.evaluate(models: await modelHost.all.map(\.name))
                        for e in events where e.change == "firing" || e.change == "resolved" { print(AlertNotifier.summary(e.alert)) }
                        for e in errors where reported.insert(e).inserted { FileHandle.standardError.write(Data("lumen serve: alerts: \(e)\n".utf8)) }
                    }
                }
            }
        }
        if let alertRules { print("alerts: \(alertRules.rules.count) rule(s) evaluated every \(Int(alertRules.interval)) s") }
        do {
            // runService stops on SIGTERM/SIGINT after the requests in flight are answered.
            try await app.runService()
        } catch {
            poller?.cancel()
            watcher?.cancel()
            await logger?.close()
            try? await store.close()
            if let reason = listenFailure(error, host: host, port: port) { throw CLIError(reason) }
            throw error
        }
        poller?.cancel()
        watcher?.cancel()
        await logger?.close()
        try? await store.close()
    }

    /// The traffic policies of a server config file; an unknown key or a malformed policy is an error naming it.
    static func trafficPolicies(_ path: String) throws -> [(String, TrafficPolicy)] {
        guard let traffic = try serverConfig(path)["traffic"] else { return [] }
        guard let map = traffic as? [String: Any] else { throw CLIError("\(path): 'traffic' must map model names to policies") }
        return try map.keys.sorted().map { name in
            do { return (name, try TrafficPolicy.parse(map[name]!, model: name)) } catch { throw CLIError("\(path): \(error)") }
        }
    }

    /// The alert rules and channels of a server config file (nil when it has no 'alerts:').
    static func alertConfig(_ path: String) throws -> AlertConfig? {
        guard let alerts = try serverConfig(path)["alerts"] else { return nil }
        do { return try AlertConfig.parse(alerts) } catch { throw CLIError("\(path): \(error)") }
    }

    /// The top-level mapping of a server config file: 'traffic' and 'alerts', nothing else.
    static func serverConfig(_ path: String) throws -> [String: Any] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? (error as NSError).localizedDescription : "no such file"
            throw CLIError("\(path): cannot read the server config (\(reason))")
        }
        let object: Any?
        do { object = try Yams.load(yaml: text) } catch { throw CLIError("\(path): not YAML: \(error)") }
        guard let top = object as? [String: Any] else { throw CLIError("\(path): the server config must be a mapping with 'traffic:' and/or 'alerts:'") }
        if let unknown = top.keys.sorted().first(where: { !["traffic", "alerts"].contains($0) }) { throw CLIError("\(path): unknown key '\(unknown)' (keys: traffic, alerts)") }
        return top
    }
}
