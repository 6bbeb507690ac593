import Foundation
import LumenStore
import LumenWorkspace

/// `lumen scheduler`: watches the triggers of pipeline files and runs a pipeline when one fires. Several
/// schedulers may run against one store (replicas on one PostgreSQL, or a standby): only the holder of the
/// lease `scheduler` in the store acts; the others wait, and take over when the holder's lease runs out
/// (a killed leader is replaced within one lease period). While a pipeline runs, its scheduler keeps
/// renewing the lease.
///
/// Each trigger's last observation is kept in the store (`trigger_state`), so a restarted or a new leader
/// continues from there: `every` and `cron` remember when they last fired or looked; `dataset`, `model` and
/// `alert` remember the version or alert they last saw (a first look records it without firing).
public struct PipelineScheduler: Sendable {
    public let runner: PipelineRunner
    public var pipelines: [(file: PipelineFile, source: String)]
    /// Who this scheduler is (host, process), in the lease and in the runs' environment.
    public let holder: String
    /// Seconds between looks at the triggers, and the lease's length.
    public var interval: Double = 10
    public var lease: Double = 30
    public static let leaseName = "scheduler"

    public init(runner: PipelineRunner, pipelines: [(file: PipelineFile, source: String)], holder: String) {
        self.runner = runner
        self.pipelines = pipelines
        self.holder = holder
    }

    var store: any Store { runner.store }
    func say(_ s: String) { runner.say(s) }

    /// Runs until cancelled (or, with `once`, one look at the triggers when leader).
    public func run(once: Bool = false) async throws {
        var leading: Bool?
        while !Task.isCancelled {
            let now = try await store.acquireLease(name: Self.leaseName, holder: holder, ttl: lease)
            if now != leading {
                leading = now
                if now { say("scheduler \(holder): leader (lease \(Int(lease)) s)") } else {
                    say("scheduler \(holder): standby (leader: \(try await store.leaseHolder(name: Self.leaseName) ?? "none"))")
                }
            }
            if now { try await tick() }
            if once { break }
            try? await Task.sleep(for: .seconds(interval))
        }
        if leading == true { try? await store.releaseLease(name: Self.leaseName, holder: holder) }
    }

    /// One look at every trigger of every pipeline; a pipeline with a fired trigger runs (once per look).
    func tick() async throws {
        for (file, source) in pipelines {
            var fired: [String] = []
            for trigger in file.triggers {
                if let reason = try await check(trigger, pipeline: file.name) { fired.append(reason) }
            }
            guard !fired.isEmpty else { continue }
            say("scheduler: \(file.name): \(fired.joined(separator: "; ")) → run")
            // The lease is renewed while the pipeline runs.
            let renewal = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(max(1, lease / 3)))
                    if Task.isCancelled { break }
                    if (try? await store.acquireLease(name: Self.leaseName, holder: holder, ttl: lease)) != true {
                        say("scheduler \(holder): lost the lease while \(file.name) runs")
                    }
                }
            }
            defer { renewal.cancel() }
            do {
                var r = runner
                r.extraEnvironment["LUMEN_SCHEDULER"] = holder
                r.extraEnvironment["LUMEN_TRIGGER"] = fired.joined(separator: "; ")
                _ = try await r.run(file, source: source)
            } catch {
                say("scheduler: \(file.name): \(error)")
            }
        }
    }

    /// Whether a trigger fires now (its reason), updating what it last saw.
    func check(_ trigger: PipelineTrigger, pipeline: String) async throws -> String? {
        let last = try await store.triggerState(pipeline: pipeline, trigger: trigger.key)
        let now = Clock.nowMillis()
        func remember(_ v: String) async throws { try await store.setTriggerState(pipeline: pipeline, trigger: trigger.key, value: v) }
        switch trigger {
        case .every(let seconds):
            if let last, let t = Int64(last), now - t < Int64(seconds * 1000) { return nil }
            try await remember(String(now))
            return "every \(PipelineRunner.seconds(seconds))"
        case .cron(let schedule):
            try await remember(String(now))
            guard let last, let t = Int64(last) else { return nil }
            return schedule.due(after: Date(timeIntervalSince1970: Double(t) / 1000), through: Date(timeIntervalSince1970: Double(now) / 1000)) ? "cron \(schedule)" : nil
        case .dataset(let name):
            let newest = try await store.datasetVersions(name: name).last?.versionID ?? ""
            guard newest != last else { return nil }
            try await remember(newest)
            return last == nil || newest.isEmpty ? nil : "new version \(newest.prefix(12)) of dataset \(name)"
        case .model(let reference):
            let version = (try? await store.modelVersion(ModelReference(parsing: reference))).map { "\($0.name)/\($0.version)" } ?? ""
            guard version != last else { return nil }
            try await remember(version)
            return last == nil || version.isEmpty ? nil : "\(reference) is now \(version)"
        case .alert(let rule):
            let newest = try await store.alerts(openOnly: false, since: 0, limit: 200).filter { $0.rule == rule && $0.fired != nil }.map { $0.fired! }.max() ?? 0
            guard String(newest) != last else { return nil }
            try await remember(String(newest))
            return last == nil || newest == 0 ? nil : "alert \(rule) fired"
        }
    }
}
