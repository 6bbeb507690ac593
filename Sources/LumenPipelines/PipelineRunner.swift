import Crypto
import Foundation
import LumenStore
import LumenWorkspace

/// Runs a pipeline's steps in dependency order, one at a time, each in its own process, recording the run
/// and every step in the store (status, attempts, exit code, timing, the step's output in the artifact
/// store, what its outputs were).
///
/// **Caching.** A step's cache key is the SHA-256 of its definition (command, inputs, outputs, after the
/// parameters are substituted), of what its inputs are now (a file's or folder's content, a dataset's
/// version, a model reference's version) and of what the steps it needs produced. When an earlier step
/// with the same key succeeded and its file outputs are still there (or can be restored from the artifact
/// store, where they are kept), the step is skipped and its recorded outputs reused; `force` reruns all.
///
/// **Resuming.** A run killed mid-step stays `running` in the store; `resume` reruns it from its first
/// unfinished step: the steps it finished are reused as they are.
public struct PipelineRunner: Sendable {
    public let store: any Store
    public let workspace: Workspace
    /// The `lumen` executable that `lumen:` steps run.
    public let lumen: URL
    /// Where the live view goes (one line per event).
    public let say: @Sendable (String) -> Void
    /// File outputs up to this size are kept in the artifact store (to restore them on a cache hit).
    public var keepOutputsUpTo = 256 * 1024 * 1024
    /// More environment for the steps (the scheduler names itself and the trigger).
    public var extraEnvironment: [String: String] = [:]

    public init(store: any Store, workspace: Workspace, lumen: URL, say: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.store = store
        self.workspace = workspace
        self.lumen = lumen
        self.say = say
    }

    var artifacts: ArtifactStore { ArtifactStore(root: workspace.artifactRoot) }

    // MARK: Runs

    /// Runs `file` (its text is `source`) with `overrides`; returns the run as recorded.
    public func run(_ file: PipelineFile, source: String, overrides: [String: String] = [:], force: Bool = false) async throws -> PipelineRunRecord {
        let resolved = try file.resolved(overrides)
        let (sha, _) = try artifacts.put(Data(source.utf8))
        let params = String(decoding: try JSONSerialization.data(withJSONObject: resolved.params, options: [.sortedKeys]), as: UTF8.self)
        let record = PipelineRunRecord(pipeline: file.name, path: file.path, sourceSHA256: sha, params: params)
        try await store.createPipelineRun(record)
        say("pipeline \(file.name): run \(record.id.prefix(8)) (\(resolved.steps.count) steps\(force ? ", --force" : ""))")
        return try await execute(resolved, run: record, force: force, finished: [:])
    }

    /// Reruns a run from its first unfinished step.
    public func resume(_ runID: String) async throws -> PipelineRunRecord {
        let run = try await store.pipelineRun(id: runID)
        guard run.status != .succeeded else { throw PipelineError("run \(run.id.prefix(8)) of \(run.pipeline) succeeded already; nothing to resume") }
        let source = String(decoding: try Data(contentsOf: artifacts.url(for: run.sourceSHA256)), as: UTF8.self)
        let params = (try JSONSerialization.jsonObject(with: Data(run.params.utf8)) as? [String: String]) ?? [:]
        let file = try PipelineFile.parse(source, path: run.path)
        let resolved = try file.resolved(params.filter { file.params[$0.key] != nil })
        let steps = try await store.pipelineSteps(runID: run.id)
        let finished = Dictionary(steps.filter { $0.status == .succeeded || $0.status == .cached }.map { ($0.step, $0) }, uniquingKeysWith: { a, _ in a })
        try await store.reopenPipelineRun(id: run.id)
        say("pipeline \(run.pipeline): resuming run \(run.id.prefix(8)) (\(finished.count) of \(resolved.steps.count) steps finished)")
        return try await execute(resolved, run: run, force: false, finished: finished)
    }

    func execute(_ file: PipelineFile, run: PipelineRunRecord, force: Bool, finished: [String: PipelineStepRecord]) async throws -> PipelineRunRecord {
        let started = Date()
        var outputsByStep: [String: String] = [:]
        var failure: String?
        for step in try file.order() {
            if let failure {
                try await store.recordPipelineStep(PipelineStepRecord(runID: run.id, step: step.name, status: .skipped, cacheKey: "", message: "not run: \(failure)"))
                say("  ○ \(step.name): not run (an earlier step failed)")
                continue
            }
            let key = try await cacheKey(step, file: file, upstream: step.needs.map { outputsByStep[$0] ?? "" })
            // A resumed run keeps what it finished.
            if let done = finished[step.name], done.cacheKey == key, try restoreOutputs(done, folder: file.folder) {
                outputsByStep[step.name] = done.outputs
                say("  ✓ \(step.name): finished before the interruption")
                continue
            }
            if !force, let cached = try await store.cachedPipelineStep(cacheKey: key), try restoreOutputs(cached, folder: file.folder) {
                let origin = cached.cachedFrom ?? cached.runID
                try await store.recordPipelineStep(PipelineStepRecord(runID: run.id, step: step.name, status: .cached, attempts: 0, started: Clock.nowMillis(),
                                                                      finished: Clock.nowMillis(), cacheKey: key, cachedFrom: origin, exitCode: cached.exitCode,
                                                                      logSHA256: cached.logSHA256, outputs: cached.outputs, message: "inputs and definition unchanged"))
                outputsByStep[step.name] = cached.outputs
                say("  ↷ \(step.name): cached (inputs and definition unchanged since run \(origin.prefix(8)))")
                continue
            }
            let record = try await runStep(step, file: file, run: run, key: key)
            if record.status == .succeeded {
                outputsByStep[step.name] = record.outputs
            } else {
                failure = "step \(step.name) failed: \(record.message)"
            }
        }
        let status: PipelineRunRecord.Status = failure == nil ? .succeeded : .failed
        try await store.finishPipelineRun(id: run.id, status: status, message: failure ?? "")
        say("pipeline \(file.name): run \(run.id.prefix(8)) \(status.rawValue) in \(Self.seconds(Date().timeIntervalSince(started)))" + (failure.map { " — \($0)" } ?? ""))
        return try await store.pipelineRun(id: run.id)
    }

    // MARK: One step

    func runStep(_ step: PipelineFile.Step, file: PipelineFile, run: PipelineRunRecord, key: String) async throws -> PipelineStepRecord {
        var record = PipelineStepRecord(runID: run.id, step: step.name, status: .running, attempts: 0, started: Clock.nowMillis(), cacheKey: key)
        var delay = step.retryDelay
        var log = Data()
        for attempt in 1...(step.retries + 1) {
            record.attempts = attempt
            record.status = .running
            try await store.recordPipelineStep(record)
            say("  ▶ \(step.name)\(attempt > 1 ? " (attempt \(attempt) of \(step.retries + 1))" : "") …")
            let began = Date()
            let outcome = await StepProcess.run(step.command, lumen: lumen, folder: file.folder, environment: environment(run, file: file), timeout: step.timeout)
            log.append(Data("── attempt \(attempt) ──\n".utf8))
            log.append(outcome.output)
            record.exitCode = outcome.exitCode
            if outcome.exitCode == 0 && !outcome.timedOut {
                do {
                    record.outputs = try await fingerprintOutputs(step, folder: file.folder)
                    record.status = .succeeded
                    record.message = ""
                } catch {
                    record.status = .failed
                    record.message = "\(error)"
                }
            } else {
                record.status = .failed
                record.message = outcome.timedOut ? "timed out after \(Self.seconds(step.timeout ?? 0))" : "exit status \(outcome.exitCode)"
            }
            record.logSHA256 = try? artifacts.put(log).sha256
            record.finished = Clock.nowMillis()
            try await store.recordPipelineStep(record)
            if record.status == .succeeded {
                say("  ✔ \(step.name): \(Self.seconds(Date().timeIntervalSince(began)))")
                return record
            }
            let tail = String(decoding: outcome.output.suffix(600), as: UTF8.self).split(separator: "\n").suffix(4).map { "    │ " + $0 }.joined(separator: "\n")
            say("  ✘ \(step.name): \(record.message)" + (tail.isEmpty ? "" : "\n" + tail))
            if attempt <= step.retries {
                say("    retrying in \(Self.seconds(delay))")
                try? await Task.sleep(for: .seconds(delay))
                delay *= 2
            }
        }
        return record
    }

    func environment(_ run: PipelineRunRecord, file: PipelineFile) -> [String: String] {
        var env = extraEnvironment.merging(["LUMEN_HOME": workspace.root.path, "LUMEN_PIPELINE": file.name, "LUMEN_PIPELINE_RUN": run.id]) { _, new in new }
        for (k, v) in file.params { env["LUMEN_PARAM_" + k.uppercased().replacingOccurrences(of: ".", with: "_")] = v }
        // Shell steps find the same `lumen` first on their PATH.
        env["PATH"] = lumen.deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return env
    }

    static func seconds(_ s: Double) -> String {
        s < 60 ? String(format: "%.1f s", s) : s < 3600 ? String(format: "%d min %02d s", Int(s) / 60, Int(s) % 60) : String(format: "%.1f h", s / 3600)
    }

    // MARK: Fingerprints

    func cacheKey(_ step: PipelineFile.Step, file: PipelineFile, upstream: [String]) async throws -> String {
        var text = step.definition
        for input in step.inputs { text += "\n" + input.description + "=" + (try await fingerprint(input, folder: file.folder)) }
        text += "\n" + upstream.joined(separator: "\n")
        return SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// What a reference is now: a file's (or folder's) content hash, a dataset's version id, a model's version.
    func fingerprint(_ ref: PipelineFile.Reference, folder: URL) async throws -> String {
        switch ref {
        case .file(let p):
            let url = URL(fileURLWithPath: p, relativeTo: folder).standardizedFileURL
            return try Self.contentHash(url) ?? "missing"
        case .dataset(let d):
            let parts = d.split(separator: ":", maxSplits: 1).map(String.init)
            let versions = try await store.datasetVersions(name: parts[0])
            if parts.count == 2 {
                guard versions.contains(where: { $0.versionID.hasPrefix(parts[1]) }) else { throw PipelineError("dataset:\(d): no such version of \(parts[0])") }
                return parts[1]
            }
            return versions.last?.versionID ?? "none"
        case .model(let m):
            do {
                let v = try await store.modelVersion(ModelReference(parsing: m))
                return "\(v.name)/\(v.version)"
            } catch {
                return "none"
            }
        }
    }

    /// SHA-256 of a file, or of a folder's files (relative paths and contents, sorted); nil when absent.
    static func contentHash(_ url: URL) throws -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return nil }
        if !isDirectory.boolValue { return try fileHash(url) }
        var hasher = SHA256()
        let paths = (FileManager.default.enumerator(atPath: url.path)?.allObjects as? [String] ?? []).sorted()
        for rel in paths {
            let child = url.appendingPathComponent(rel)
            var dir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: child.path, isDirectory: &dir), !dir.boolValue else { continue }
            hasher.update(data: Data((rel + "\u{0}" + (try fileHash(child)) + "\n").utf8))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func fileHash(_ url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Each output as it is after the step ran (a missing file output is an error); file outputs kept in the artifact store.
    func fingerprintOutputs(_ step: PipelineFile.Step, folder: URL) async throws -> String {
        var out: [String: String] = [:]
        for ref in step.outputs {
            if case .file(let p) = ref {
                let url = URL(fileURLWithPath: p, relativeTo: folder).standardizedFileURL
                guard let hash = try Self.contentHash(url) else { throw PipelineError("the step exited 0 but did not make its output file:\(p)") }
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                   let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue, size <= keepOutputsUpTo {
                    _ = try artifacts.put(try Data(contentsOf: url))
                }
                out[ref.description] = hash
            } else {
                out[ref.description] = try await fingerprint(ref, folder: folder)
            }
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Whether a recorded step's file outputs are (or can be put back) as recorded: a changed or missing
    /// file is restored from the artifact store when it is there; a folder must be as it was.
    func restoreOutputs(_ record: PipelineStepRecord, folder: URL) throws -> Bool {
        let outputs = (try? JSONSerialization.jsonObject(with: Data(record.outputs.utf8)) as? [String: String]) ?? [:]
        for (ref, hash) in outputs where ref.hasPrefix("file:") {
            let url = URL(fileURLWithPath: String(ref.dropFirst(5)), relativeTo: folder).standardizedFileURL
            if try Self.contentHash(url) == hash { continue }
            guard let stored = try? artifacts.url(for: hash), FileManager.default.fileExists(atPath: stored.path) else { return false }
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
            try FileManager.default.copyItem(at: stored, to: url)
        }
        return true
    }
}

/// One attempt of a step: a process with its output captured, stopped at its timeout.
enum StepProcess {
    struct Outcome: Sendable {
        var exitCode: Int
        var timedOut: Bool
        var output: Data
    }

    static func run(_ command: PipelineFile.Command, lumen: URL, folder: URL, environment: [String: String], timeout: Double?) async -> Outcome {
        await withCheckedContinuation { continuation in
            Thread {
                let process = Process()
                switch command {
                case .lumen(let args):
                    process.executableURL = lumen
                    process.arguments = args
                case .shell(let line):
                    process.executableURL = URL(fileURLWithPath: "/bin/sh")
                    process.arguments = ["-c", line]
                }
                process.currentDirectoryURL = folder
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
                let pipe = Pipe()
                process.standardOutput = pipe
                process.standardError = pipe
                process.standardInput = FileHandle.nullDevice
                let collected = Locked(Data())
                let eof = DispatchSemaphore(value: 0)
                pipe.fileHandleForReading.readabilityHandler = { handle in
                    let chunk = handle.availableData
                    if chunk.isEmpty {
                        handle.readabilityHandler = nil
                        eof.signal()
                    } else {
                        collected.withLock { $0.append(chunk) }
                    }
                }
                do { try process.run() } catch {
                    pipe.fileHandleForReading.readabilityHandler = nil
                    continuation.resume(returning: Outcome(exitCode: 127, timedOut: false, output: Data("cannot start: \(error)\n".utf8)))
                    return
                }
                let done = DispatchSemaphore(value: 0)
                DispatchQueue.global().async { process.waitUntilExit(); done.signal() }
                var timedOut = false
                if let timeout, done.wait(timeout: .now() + timeout) == .timedOut {
                    // The step and everything it started (a shell's children would keep running and hold the output open).
                    timedOut = true
                    killTree(process.processIdentifier, signal: SIGTERM)
                    if done.wait(timeout: .now() + 5) == .timedOut {
                        killTree(process.processIdentifier, signal: SIGKILL)
                        done.wait()
                    }
                } else if timeout == nil {
                    done.wait()
                }
                // The rest of the output; a background process the step left behind may hold the pipe open: 2 s at most.
                if eof.wait(timeout: .now() + 2) == .timedOut { pipe.fileHandleForReading.readabilityHandler = nil }
                continuation.resume(returning: Outcome(exitCode: Int(process.terminationStatus), timedOut: timedOut, output: collected.withLock { $0 }))
            }.start()
        }
    }
}

/// Signals a process and all its descendants (children first found through /proc, deepest first).
func killTree(_ pid: Int32, signal: Int32) {
    var all: [Int32] = [], stack = [pid]
    while let p = stack.popLast() {
        all.append(p)
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(p)/task")) ?? []
        for t in tasks {
            let children = (try? String(contentsOfFile: "/proc/\(p)/task/\(t)/children", encoding: .utf8)) ?? ""
            stack += children.split(separator: " ").compactMap { Int32($0) }
        }
    }
    for p in all.reversed() { kill(p, signal) }
}
