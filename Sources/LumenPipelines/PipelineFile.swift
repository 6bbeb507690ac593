import Foundation
import Yams

/// A pipeline file's mistake, with the line it is on.
public struct PipelineError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ path: String, line: Int?, _ message: String) {
        description = line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)"
    }
    public init(_ message: String) { description = message }
}

/// A pipeline: named steps (`lumen` commands or shell commands) with their inputs and outputs, the steps
/// they need first (a DAG), parameters, retries with back-off and timeouts.
///
/// ```yaml
/// name: retrain-cxr
/// params:
///   dataset: chest_xray
///   epochs: 10
/// steps:
///   train:
///     lumen: train exp.yaml trainer.epochs={{epochs}} --register cxr
///     inputs: ["file:exp.yaml", "dataset:{{dataset}}"]
///     retries: 2            # attempts after the first, waiting retry_delay, doubling each time
///     retry_delay: 10s
///     timeout: 2h
///   report:
///     shell: lumen evaluate cxr@latest --data {{dataset}} > report.txt
///     needs: [train]
///     outputs: [file:report.txt]
/// ```
public struct PipelineFile: Sendable, Equatable {
    public enum Reference: Sendable, Equatable, Hashable, CustomStringConvertible {
        /// A file or folder, relative to the pipeline file's folder.
        case file(String)
        /// A dataset (`NAME` = its newest version, or `NAME:VERSION`).
        case dataset(String)
        /// A registered model version (`NAME@ALIAS`, `NAME/VERSION`, `NAME`).
        case model(String)

        public var description: String {
            switch self {
            case .file(let p): "file:" + p
            case .dataset(let d): "dataset:" + d
            case .model(let m): "model:" + m
            }
        }

        static func parse(_ text: String) -> Reference? {
            if text.hasPrefix("file:"), text.count > 5 { return .file(String(text.dropFirst(5))) }
            if text.hasPrefix("dataset:"), text.count > 8 { return .dataset(String(text.dropFirst(8))) }
            if text.hasPrefix("model:"), text.count > 6 { return .model(String(text.dropFirst(6))) }
            return nil
        }
    }

    public enum Command: Sendable, Equatable {
        /// Arguments of the `lumen` executable that runs the pipeline.
        case lumen([String])
        /// A `/bin/sh -c` command line.
        case shell(String)
    }

    public struct Step: Sendable, Equatable {
        public var name: String
        public var command: Command
        public var needs: [String]
        public var inputs: [Reference]
        public var outputs: [Reference]
        /// Attempts after the first.
        public var retries: Int
        /// Seconds before the first retry (doubling after each).
        public var retryDelay: Double
        /// Seconds an attempt may run.
        public var timeout: Double?
        /// Where the step is in the file.
        public var line: Int
    }

    public var name: String
    /// Parameters and their defaults (`{{name}}` in commands and references).
    public var params: [String: String]
    /// In the file's order.
    public var steps: [Step]
    /// The file's path (for messages) and the folder steps run in.
    public var path: String
    /// What starts the pipeline under `lumen scheduler`.
    public var triggers: [PipelineTrigger] = []

    public var folder: URL { URL(fileURLWithPath: path).deletingLastPathComponent() }

    static let topKeys = ["name", "params", "steps", "triggers"]
    static let stepKeys = ["lumen", "shell", "needs", "inputs", "outputs", "retries", "retry_delay", "timeout"]

    /// Parses and checks a pipeline file: every key, every reference, every dependency (unknown steps and
    /// cycles), each error with its line.
    public static func parse(_ text: String, path: String) throws -> PipelineFile {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch { throw PipelineError(path, line: nil, "not YAML: \(error)") }
        guard let top = root?.mapping else { throw PipelineError(path, line: root?.mark?.line, "a pipeline is a mapping with 'name', 'params' and 'steps'") }
        func line(_ n: Node) -> Int? { n.mark?.line }
        var name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        var params: [String: String] = [:], steps: [Step] = []
        var stepsNode: Node?
        var triggers: [PipelineTrigger] = []
        for (key, value) in top {
            switch key.string ?? "" {
            case "triggers":
                guard let seq = value.sequence else { throw PipelineError(path, line: line(value), "triggers: a list such as [{cron: '0 3 * * *'}, {dataset: chest_xray}]") }
                for item in seq {
                    guard let m = item.mapping, m.count == 1, let pair = m.first, let v = pair.value.string, !v.isEmpty else {
                        throw PipelineError(path, line: line(item), "triggers: each one is cron:, every:, dataset:, model: or alert: with a value")
                    }
                    let k = pair.key.string ?? ""
                    switch k {
                    case "cron":
                        do { triggers.append(.cron(try CronSchedule(v))) } catch { throw PipelineError(path, line: line(item), "\(error)") }
                    case "every":
                        guard let d = duration(v), d >= 1 else { throw PipelineError(path, line: line(item), "triggers: every: a duration of at least 1s") }
                        triggers.append(.every(d))
                    case "dataset": triggers.append(.dataset(v))
                    case "model": triggers.append(.model(v))
                    case "alert": triggers.append(.alert(v))
                    default: throw PipelineError(path, line: line(item), "triggers: unknown trigger '\(k)' (cron, every, dataset, model, alert)")
                    }
                }
            case "name":
                guard let n = value.string, !n.isEmpty, n.count <= 200 else { throw PipelineError(path, line: line(value), "name: a name of at most 200 characters") }
                name = n
            case "params":
                guard let map = value.mapping else { throw PipelineError(path, line: line(value), "params: a mapping of names to default values") }
                for (k, v) in map {
                    guard let pk = k.string, pk.range(of: #"^[A-Za-z_][A-Za-z0-9_.]*$"#, options: .regularExpression) != nil else {
                        throw PipelineError(path, line: line(k), "params: '\(k.string ?? "?")' is not a parameter name (letters, digits, _ and .)")
                    }
                    guard let pv = v.string else { throw PipelineError(path, line: line(v), "params.\(pk): a single value (text or number)") }
                    params[pk] = pv
                }
            case "steps": stepsNode = value
            default:
                throw PipelineError(path, line: line(key), "unknown key '\(key.string ?? "?")' (keys: \(topKeys.joined(separator: ", ")))")
            }
        }
        guard let stepsNode, let stepsMap = stepsNode.mapping, !stepsMap.isEmpty else {
            throw PipelineError(path, line: stepsNode.flatMap(line), "steps: a mapping of step names to steps, at least one")
        }
        for (key, value) in stepsMap {
            guard let stepName = key.string, stepName.range(of: #"^[A-Za-z0-9_.-]{1,100}$"#, options: .regularExpression) != nil else {
                throw PipelineError(path, line: line(key), "'\(key.string ?? "?")' is not a step name (letters, digits, _ . -; at most 100)")
            }
            guard !steps.contains(where: { $0.name == stepName }) else { throw PipelineError(path, line: line(key), "step '\(stepName)' is defined twice") }
            steps.append(try parseStep(stepName, value, path: path, line: line(key) ?? 0))
        }
        var file = PipelineFile(name: name, params: params, steps: steps, path: path)
        file.triggers = triggers
        try file.check()
        return file
    }

    static func parseStep(_ name: String, _ node: Node, path: String, line stepLine: Int) throws -> Step {
        guard let map = node.mapping else { throw PipelineError(path, line: node.mark?.line, "step '\(name)': a mapping with 'lumen' or 'shell'") }
        var command: Command?, needs: [String] = [], inputs: [Reference] = [], outputs: [Reference] = []
        var retries = 0, retryDelay = 5.0, timeout: Double?
        func strings(_ v: Node, _ field: String) throws -> [String] {
            if let s = v.string { return [s] }
            guard let seq = v.sequence, seq.allSatisfy({ $0.string != nil }) else { throw PipelineError(path, line: v.mark?.line, "step '\(name)'.\(field): a list of text") }
            return seq.map { $0.string! }
        }
        for (k, v) in map {
            let key = k.string ?? ""
            switch key {
            case "lumen":
                guard command == nil else { throw PipelineError(path, line: k.mark?.line, "step '\(name)': either 'lumen' or 'shell', not both") }
                let args = v.sequence != nil ? try strings(v, key) : try splitArguments(v.string ?? "", path: path, line: v.mark?.line)
                guard !args.isEmpty else { throw PipelineError(path, line: v.mark?.line, "step '\(name)'.lumen: the command's arguments (e.g. train exp.yaml)") }
                command = .lumen(args.first == "lumen" ? Array(args.dropFirst()) : args)
            case "shell":
                guard command == nil else { throw PipelineError(path, line: k.mark?.line, "step '\(name)': either 'lumen' or 'shell', not both") }
                guard let s = v.string, !s.trimmingCharacters(in: .whitespaces).isEmpty else { throw PipelineError(path, line: v.mark?.line, "step '\(name)'.shell: a command line") }
                command = .shell(s)
            case "needs": needs = try strings(v, key)
            case "inputs", "outputs":
                let refs = try strings(v, key).map { text -> Reference in
                    guard let r = Reference.parse(text) else {
                        throw PipelineError(path, line: v.mark?.line, "step '\(name)'.\(key): '\(text)' is not file:PATH, dataset:NAME[:VERSION] or model:NAME@ALIAS")
                    }
                    return r
                }
                if key == "inputs" { inputs = refs } else { outputs = refs }
            case "retries":
                guard let n = v.int, (0...20).contains(n) else { throw PipelineError(path, line: v.mark?.line, "step '\(name)'.retries: 0…20") }
                retries = n
            case "retry_delay":
                guard let s = v.string, let d = duration(s) else { throw PipelineError(path, line: v.mark?.line, "step '\(name)'.retry_delay: a duration such as 10s or 2m") }
                retryDelay = d
            case "timeout":
                guard let s = v.string, let d = duration(s), d > 0 else { throw PipelineError(path, line: v.mark?.line, "step '\(name)'.timeout: a duration such as 30m or 2h") }
                timeout = d
            default:
                throw PipelineError(path, line: k.mark?.line, "step '\(name)': unknown key '\(key)' (keys: \(stepKeys.joined(separator: ", ")))")
            }
        }
        guard let command else { throw PipelineError(path, line: stepLine, "step '\(name)': needs 'lumen: COMMAND' or 'shell: COMMAND'") }
        return Step(name: name, command: command, needs: needs, inputs: inputs, outputs: outputs, retries: retries, retryDelay: retryDelay, timeout: timeout, line: stepLine)
    }

    /// Seconds of `90`, `30s`, `5m`, `2h`, `1d`.
    public static func duration(_ text: String) -> Double? {
        if let n = Double(text), n >= 0 { return n }
        guard let unit = text.last, let n = Double(text.dropLast()), n >= 0 else { return nil }
        switch unit {
        case "s": return n
        case "m": return n * 60
        case "h": return n * 3600
        case "d": return n * 86400
        default: return nil
        }
    }

    /// Splits a command line into arguments as a POSIX shell would for words, single and double quotes and backslashes (no expansion).
    static func splitArguments(_ text: String, path: String, line: Int?) throws -> [String] {
        var args: [String] = [], current = "", inWord = false, quote: Character?
        var escaped = false
        for c in text {
            if escaped { current.append(c); escaped = false; inWord = true; continue }
            if let q = quote {
                if c == q { quote = nil } else if c == "\\" && q == "\"" { escaped = true } else { current.append(c) }
                continue
            }
            switch c {
            case "\\": escaped = true
            case "\"", "'": quote = c; inWord = true
            case " ", "\t":
                if inWord { args.append(current); current = ""; inWord = false }
            default: current.append(c); inWord = true
            }
        }
        if quote != nil { throw PipelineError(path, line: line, "an unclosed quote in '\(text)'") }
        if inWord { args.append(current) }
        return args
    }

    // MARK: Checks

    /// Unknown steps in `needs`, cycles, `{{params}}` no one defines, file inputs that neither exist nor come from an earlier step.
    func check() throws {
        let names = Set(steps.map(\.name))
        for s in steps {
            for n in s.needs where !names.contains(n) {
                throw PipelineError(path, line: s.line, "step '\(s.name)' needs '\(n)', which is not a step (steps: \(steps.map(\.name).joined(separator: ", ")))")
            }
            for text in s.texts {
                for p in Self.placeholders(text) where params[p] == nil {
                    throw PipelineError(path, line: s.line, "step '\(s.name)' uses {{\(p)}}, which is not in params")
                }
            }
        }
        _ = try order()
    }

    /// The steps in an order where each comes after those it needs (file order among equals); a cycle is an error naming it.
    public func order() throws -> [Step] {
        var state: [String: Int] = [:]   // 1: visiting, 2: done
        var out: [Step] = []
        let byName = Dictionary(uniqueKeysWithValues: steps.map { ($0.name, $0) })
        func visit(_ s: Step, _ trail: [String]) throws {
            if state[s.name] == 2 { return }
            if state[s.name] == 1 {
                let cycle = trail.drop { $0 != s.name } + [s.name]
                throw PipelineError(path, line: s.line, "the steps form a cycle: \(cycle.joined(separator: " → "))")
            }
            state[s.name] = 1
            for n in s.needs { if let d = byName[n] { try visit(d, trail + [s.name]) } }
            state[s.name] = 2
            out.append(s)
        }
        for s in steps { try visit(s, []) }
        return out
    }

    /// The steps that `step` depends on, directly or not.
    public func upstream(of step: String) -> Set<String> {
        let byName = Dictionary(uniqueKeysWithValues: steps.map { ($0.name, $0) })
        var seen = Set<String>(), stack = byName[step]?.needs ?? []
        while let n = stack.popLast() {
            if seen.insert(n).inserted { stack += byName[n]?.needs ?? [] }
        }
        return seen
    }

    static func placeholders(_ text: String) -> [String] {
        var out: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{"), let close = rest.range(of: "}}", range: open.upperBound..<rest.endIndex) {
            out.append(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
            rest = rest[close.upperBound...]
        }
        return out
    }

    /// The file with `overrides` (KEY=VALUE from the command line, each a declared parameter) substituted everywhere.
    public func resolved(_ overrides: [String: String] = [:]) throws -> PipelineFile {
        for k in overrides.keys.sorted() where params[k] == nil {
            throw PipelineError(path, line: nil, "'\(k)' is not a parameter of \(name) (params: \(params.keys.sorted().joined(separator: ", ")))")
        }
        let values = params.merging(overrides) { _, new in new }
        func sub(_ text: String) -> String {
            var out = text
            for (k, v) in values { out = out.replacingOccurrences(of: "{{\(k)}}", with: v).replacingOccurrences(of: "{{ \(k) }}", with: v) }
            return out
        }
        func subRef(_ r: Reference) -> Reference {
            switch r {
            case .file(let p): .file(sub(p))
            case .dataset(let d): .dataset(sub(d))
            case .model(let m): .model(sub(m))
            }
        }
        var copy = self
        copy.params = values
        copy.steps = steps.map { s in
            var t = s
            switch s.command {
            // An argument that is only an empty parameter disappears (`{{extra}}` with extra = "").
            case .lumen(let args):
                t.command = .lumen(args.compactMap { arg in
                    let value = sub(arg)
                    return value.isEmpty && !Self.placeholders(arg).isEmpty ? nil : value
                })
            case .shell(let line): t.command = .shell(sub(line))
            }
            t.inputs = s.inputs.map(subRef)
            t.outputs = s.outputs.map(subRef)
            return t
        }
        // A file input must exist or be the output of a step this one needs (directly or not).
        for s in copy.steps {
            let produced = Set(copy.upstream(of: s.name).flatMap { n in copy.steps.first { $0.name == n }?.outputs ?? [] })
            for case .file(let p) in s.inputs where !produced.contains(.file(p)) {
                let url = URL(fileURLWithPath: p, relativeTo: folder)
                if !FileManager.default.fileExists(atPath: url.path) {
                    throw PipelineError(path, line: s.line, "step '\(s.name)': input file:\(p) does not exist and no step it needs makes it")
                }
            }
        }
        return copy
    }
}

extension PipelineFile.Step {
    /// Every text of the step that may hold `{{params}}`.
    var texts: [String] {
        var out: [String] = []
        switch command {
        case .lumen(let args): out += args
        case .shell(let line): out.append(line)
        }
        return out + (inputs + outputs).map(\.description)
    }

    /// The step's definition as canonical text (part of its cache key).
    var definition: String {
        let cmd: String
        switch command {
        case .lumen(let args): cmd = "lumen\u{1F}" + args.joined(separator: "\u{1F}")
        case .shell(let line): cmd = "shell\u{1F}" + line
        }
        return [cmd, inputs.map(\.description).joined(separator: ","), outputs.map(\.description).joined(separator: ",")].joined(separator: "\n")
    }
}
