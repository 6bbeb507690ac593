import Foundation
import LumenImaging
import LumenStore
import Yams
import LumenWorkspace

/// One swept key: a list of values (grid or random), or a numeric range (random search only).
public enum SweepSpace: Sendable, Equatable {
    case values([String])
    case range(min: Double, max: Double, log: Bool, integer: Bool)
}

/// A hyper-parameter sweep (`lumen sweep sweep.yaml`): a base experiment config, the keys to vary and how.
///
///     base: exp.yaml              # experiment config, relative to the sweep file
///     method: grid                # grid (every combination) or random
///     trials: 8                   # random: how many trials
///     seed: 0                     # random: seed of the draws
///     metric: val_auc             # compared between trials (default: the base config's early-stopping metric)
///     mode: max                   # min or max (default: the base config's)
///     parameters:
///       trainer.lr: [0.0003, 0.001, 0.003]
///       model.name: [simple-cnn, resnet18]
///       trainer.weight_decay: {min: 0.00001, max: 0.01, log: true}   # random only
public struct SweepConfig: Sendable {
    public static let keys = ["base", "method", "trials", "seed", "metric", "mode", "parameters"]

    public var base: ExperimentConfig
    public var method: String
    public var trials: Int
    public var seed: UInt64
    public var metric: String
    public var mode: String
    /// Swept keys in the order written.
    public var parameters: [(key: String, space: SweepSpace)]

    /// Reads a sweep; `loadBase` returns the text of the base config named by `base:`. Every problem names its key.
    public init(yaml: String, source: String = "sweep", overrides: [String] = [], loadBase: (String) throws -> String) throws(TrainingError) {
        let node: Node?
        do { node = try Yams.compose(yaml: yaml) } catch { throw .config(path: "", reason: "\(source) is not valid YAML: \(error)") }
        guard let root = node?.mapping else { throw .config(path: "", reason: "\(source) must be a mapping with base, method and parameters") }
        var fields: [String: Node] = [:]
        var order: [(String, Node)] = []
        for (k, v) in root {
            guard let key = k.string, Self.keys.contains(key) else {
                throw .config(path: k.string ?? "\(k)", reason: "unknown sweep key; allowed: \(Self.keys.joined(separator: ", "))")
            }
            fields[key] = v
            if key == "parameters" {
                guard let mapping = v.mapping else { throw .config(path: "parameters", reason: "must map config keys to value lists or ranges") }
                order = mapping.map { ($0.key.string ?? "\($0.key)", $0.value) }
            }
        }
        guard let basePath = fields["base"]?.string else { throw .config(path: "base", reason: "required: the experiment config the trials start from") }
        let baseText: String
        do { baseText = try loadBase(basePath) } catch { throw .config(path: "base", reason: "cannot read \(basePath): \(error)") }
        base = try ExperimentConfig(yaml: baseText, source: basePath, overrides: overrides)
        method = fields["method"]?.string ?? "grid"
        guard ["grid", "random"].contains(method) else { throw .config(path: "method", reason: "'\(method)' is not one of grid, random") }
        trials = fields["trials"].flatMap { $0.int } ?? 10
        seed = UInt64(max(0, fields["seed"].flatMap { $0.int } ?? 0))
        metric = fields["metric"]?.string ?? base.monitor
        mode = fields["mode"]?.string ?? (fields["metric"] == nil ? base.monitorMode.rawValue : (metric.contains("loss") ? "min" : "max"))
        guard ["min", "max"].contains(mode) else { throw .config(path: "mode", reason: "'\(mode)' is not one of min, max") }
        guard trials >= 1 else { throw .config(path: "trials", reason: "must be ≥ 1") }
        guard !order.isEmpty else { throw .config(path: "parameters", reason: "required: at least one config key to vary") }
        parameters = []
        for (key, value) in order {
            let path = "parameters.\(key)"
            guard ExperimentConfig.schema.contains(where: { $0.path == key }) else {
                throw .config(path: path, reason: "'\(key)' is not an experiment config key (lumen train --help lists them)")
            }
            if let list = value.sequence {
                var budget = ConfigTree.nodeBudget, values: [String] = []
                for item in list { values.append(try Self.text(item, path: path, budget: &budget)) }
                guard !values.isEmpty else { throw .config(path: path, reason: "an empty list of values") }
                parameters.append((key, .values(values)))
            } else if let range = value.mapping {
                var lo: Double?, hi: Double?, log = false, integer = false
                for (k, v) in range {
                    switch k.string {
                    case "min": lo = v.float
                    case "max": hi = v.float
                    case "log": log = v.bool ?? false
                    case "int": integer = v.bool ?? false
                    default: throw .config(path: "\(path).\(k.string ?? "?")", reason: "unknown range key; allowed: min, max, log, int")
                    }
                }
                guard let lo, let hi, lo <= hi else { throw .config(path: path, reason: "a range needs numbers min ≤ max") }
                // Finite bounds whose width is finite too (uniform draws over an infinite span are undefined), and
                // integer ranges that fit an Int exactly.
                guard lo.isFinite, hi.isFinite, (hi - lo).isFinite else { throw .config(path: path, reason: "a range needs finite min and max, got \(lo)…\(hi)") }
                guard !integer || (abs(lo) <= 9.0e15 && abs(hi) <= 9.0e15) else { throw .config(path: path, reason: "an int range must lie within ±9e15, got \(lo)…\(hi)") }
                guard !log || lo > 0 else { throw .config(path: path, reason: "a log range needs min > 0") }
                guard method == "random" else { throw .config(path: path, reason: "ranges need method: random (grid takes value lists)") }
                parameters.append((key, .range(min: lo, max: hi, log: log, integer: integer)))
            } else {
                var budget = ConfigTree.nodeBudget
                parameters.append((key, .values([try Self.text(value, path: path, budget: &budget)])))
            }
        }
        // Every value must make a valid experiment config: checked before the first trial trains.
        for (key, space) in parameters {
            if case .values(let values) = space {
                for v in values {
                    do { _ = try ExperimentConfig(yaml: baseText, source: basePath, overrides: overrides + ["\(key)=\(v)"]) } catch {
                        throw .config(path: "parameters.\(key)", reason: "value '\(v)': \(error)")
                    }
                }
            }
        }
    }

    /// A value as override text; an alias bomb is refused once `budget` nodes are spent.
    static func text(_ node: Node, path: String, budget: inout Int) throws(TrainingError) -> String {
        budget -= 1
        guard budget >= 0 else { throw ConfigTree.tooManyNodes(path) }
        if let list = node.sequence {
            var parts: [String] = []
            for item in list { parts.append(try text(item, path: path, budget: &budget)) }
            return "[" + parts.joined(separator: ", ") + "]"
        }
        if let mapping = node.mapping {
            var parts: [String] = []
            for (k, v) in mapping { parts.append(try text(k, path: path, budget: &budget) + ": " + text(v, path: path, budget: &budget)) }
            return "{" + parts.joined(separator: ", ") + "}"
        }
        return node.string ?? ""
    }

    /// The overrides of every trial: the grid's combinations in order, or `trials` random draws.
    public func trialOverrides() -> [[String]] {
        switch method {
        case "grid":
            var combos: [[String]] = [[]]
            for (key, space) in parameters {
                guard case .values(let values) = space else { continue }
                combos = combos.flatMap { c in values.map { c + ["\(key)=\($0)"] } }
            }
            return combos
        default:
            var rng = SeededGenerator(seed: seed, stream: 0x5EE9, index: 0)
            return (0..<trials).map { _ in
                parameters.map { key, space in
                    switch space {
                    case .values(let values): return "\(key)=\(values[Int(rng.next() % UInt64(values.count))])"
                    case .range(let lo, let hi, let log, let integer):
                        var v = log ? Foundation.exp(rng.uniform(Foundation.log(lo), Foundation.log(hi))) : rng.uniform(lo, hi)
                        if integer { v = v.rounded() }
                        return integer ? "\(key)=\(Int(v))" : "\(key)=\(String(format: "%.6g", v))"
                    }
                }
            }
        }
    }
}

/// One finished (or failed) trial of a sweep.
public struct SweepTrial: Sendable {
    public var index: Int
    public var overrides: [String]
    public var runID: String?
    public var value: Double?
    public var result: TrainingResult?
    public var config: ExperimentConfig?
    public var error: String?
}

/// Runs a sweep: a parent run, each trial a child run trained by `Trainer`, the best trial tagged on the parent.
public struct SweepRunner {
    public let sweep: SweepConfig
    public let workspace: Workspace
    public let store: any Store
    public var shouldStop: @Sendable () -> Bool = { false }

    public init(sweep: SweepConfig, workspace: Workspace, store: any Store) {
        self.sweep = sweep
        self.workspace = workspace
        self.store = store
    }

    /// Trains every trial; a failed trial is recorded and the sweep goes on; an interrupt stops it (parent KILLED).
    public func run(parentName: String? = nil, trialStarted: (Int, Int, [String]) -> Void = { _, _, _ in },
                    events: (TrainingEvent) -> Void = { _ in }) async throws -> (parentRunID: String, trials: [SweepTrial], best: SweepTrial?) {
        let experiment = try await store.experimentCreatingIfNeeded(named: sweep.base.experiment)
        let parent = try await store.createRun(experimentID: experiment.id, name: parentName, startTime: nil,
                                               tags: ["lumen.sweep.method": sweep.method, "lumen.sweep.metric": sweep.metric, "lumen.sweep.mode": sweep.mode], parentRunID: nil)
        let parentID = parent.info.runID
        var params = sweep.parameters.map { key, space -> Param in
            switch space {
            case .values(let v): return Param(key: "sweep.\(key)", value: v.joined(separator: " | "))
            case .range(let lo, let hi, let log, let integer): return Param(key: "sweep.\(key)", value: "\(lo)…\(hi)\(log ? " log" : "")\(integer ? " int" : "")")
            }
        }
        params.append(Param(key: "sweep.method", value: sweep.method))
        try await store.logBatch(runID: parentID, metrics: [], params: params, tags: [])
        let plans = sweep.trialOverrides()
        var trials: [SweepTrial] = []
        var best: SweepTrial?
        for (i, trialOverrides) in plans.enumerated() {
            trialStarted(i, plans.count, trialOverrides)
            var trial = SweepTrial(index: i, overrides: trialOverrides)
            do {
                let config = try ExperimentConfig(yaml: sweep.base.record.yaml, source: sweep.base.record.source, overrides: sweep.base.record.overrides + trialOverrides)
                trial.config = config
                var trainer = Trainer(config: config, workspace: workspace, store: store, parentRunID: parentID)
                trainer.shouldStop = shouldStop
                let result = try await trainer.run(events: events)
                trial.runID = result.runID
                trial.result = result
                trial.value = result.best[sweep.metric] ?? result.last[sweep.metric]
                try await store.setTag(runID: result.runID, key: "lumen.sweep.trial", value: String(i))
            } catch TrainingError.interrupted(let runID, let epoch, let batch) {
                _ = try await store.updateRun(id: parentID, status: .killed, endTime: Clock.nowMillis(), name: nil)
                throw TrainingError.interrupted(runID: runID, epoch: epoch, batch: batch)
            } catch {
                trial.error = "\(error)"
            }
            if let v = trial.value {
                try await store.logMetric(runID: parentID, key: "trial_\(sweep.metric)", value: v, step: Int64(i))
                if best?.value.map({ sweep.mode == "min" ? v < $0 : v > $0 }) ?? true { best = trial }
            }
            trials.append(trial)
        }
        if let best, let runID = best.runID, let v = best.value {
            try await store.setTag(runID: parentID, key: "lumen.sweep.best_run", value: runID)
            try await store.setTag(runID: parentID, key: "lumen.sweep.best_overrides", value: best.overrides.joined(separator: " "))
            try await store.logMetric(runID: parentID, key: "best_\(sweep.metric)", value: v, step: 0)
        }
        let failed = trials.allSatisfy { $0.error != nil }
        _ = try await store.updateRun(id: parentID, status: failed ? .failed : .finished, endTime: Clock.nowMillis(), name: nil)
        return (parentID, trials, best)
    }
}
