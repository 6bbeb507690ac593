import Foundation

/// What an alert rule watches, over the prediction log of one model in a trailing window.
public enum AlertMetric: Sendable, Equatable, CustomStringConvertible {
    /// Answered predictions per minute.
    case requests
    /// 99th percentile and mean of the answered predictions' latency, in seconds.
    case latencyP99, latencyMean
    /// Share of requests the input gate refused.
    case gateRate
    /// Share of prediction requests that failed (bad input, full queue, timeout).
    case errorRate
    /// Share of answered predictions whose top label is this class.
    case classShare(String)
    /// Share of the monitoring features (inputs and outputs) that drift against the reference profile.
    case driftShare
    /// ROC-AUC of the domain classifier telling the window's embeddings from the reference's.
    case embeddingAUC
    /// Accuracy, and sensitivity of the positive class (binary models), on the predictions with ground truth.
    case accuracy, sensitivity

    public static let names = ["requests", "latency_p99", "latency_mean", "gate_rate", "error_rate", "class_share:LABEL", "drift_share", "embedding_auc", "accuracy", "sensitivity"]

    public init?(_ text: String) {
        switch text {
        case "requests": self = .requests
        case "latency_p99": self = .latencyP99
        case "latency_mean": self = .latencyMean
        case "gate_rate": self = .gateRate
        case "error_rate": self = .errorRate
        case "drift_share": self = .driftShare
        case "embedding_auc": self = .embeddingAUC
        case "accuracy": self = .accuracy
        case "sensitivity": self = .sensitivity
        default:
            guard text.hasPrefix("class_share:"), text.count > 12 else { return nil }
            self = .classShare(String(text.dropFirst(12)))
        }
    }

    public var description: String {
        switch self {
        case .requests: "requests"
        case .latencyP99: "latency_p99"
        case .latencyMean: "latency_mean"
        case .gateRate: "gate_rate"
        case .errorRate: "error_rate"
        case .classShare(let label): "class_share:" + label
        case .driftShare: "drift_share"
        case .embeddingAUC: "embedding_auc"
        case .accuracy: "accuracy"
        case .sensitivity: "sensitivity"
        }
    }
}

/// One alert rule of the server config: a metric of a model over a window, a threshold, how long the
/// condition must hold before the alert fires, and where it goes.
public struct AlertRule: Sendable, Equatable {
    public var name: String
    /// The model name, or `*` for every model the server serves.
    public var model: String
    public var metric: AlertMetric
    /// Trailing window, in seconds.
    public var window: Double
    /// `above` or `below`.
    public var comparison: String
    public var threshold: Double
    /// Seconds the condition must hold before the alert fires (0: at once).
    public var holdFor: Double
    public var severity: String
    public var channels: [String]
    /// Fewer predictions (with ground truth, for accuracy and sensitivity) than this in the window: no value, no alert.
    public var minSamples: Int

    public init(name: String, model: String, metric: AlertMetric, window: Double, comparison: String, threshold: Double,
                holdFor: Double = 0, severity: String = "warning", channels: [String] = [], minSamples: Int = 20) {
        self.name = name
        self.model = model
        self.metric = metric
        self.window = window
        self.comparison = comparison
        self.threshold = threshold
        self.holdFor = holdFor
        self.severity = severity
        self.channels = channels
        self.minSamples = minSamples
    }

    public func breached(by value: Double?) -> Bool {
        guard let value, !value.isNaN else { return false }
        return comparison == "above" ? value > threshold : value < threshold
    }
}

/// Where alerts are sent.
public enum AlertChannel: Sendable, Equatable {
    /// A JSON POST (Slack's incoming-webhook shape: `text`, plus the alert itself under `alert`).
    case webhook(url: URL, headers: [String: String])
    /// E-mail through an SMTP server (`smtp://` or `smtps://`); the password, if any, from an environment variable.
    case smtp(url: URL, from: String, to: [String], user: String?, passwordEnv: String?, requireTLS: Bool)
    /// A program run with the alert as JSON on its standard input and LUMEN_ALERT_* variables.
    case command([String])
}

/// The `alerts:` part of the server config.
public struct AlertConfig: Sendable, Equatable {
    public var rules: [AlertRule]
    public var channels: [String: AlertChannel]
    /// Seconds between evaluations.
    public var interval: Double

    public init(rules: [AlertRule] = [], channels: [String: AlertChannel] = [:], interval: Double = 30) {
        self.rules = rules
        self.channels = channels
        self.interval = interval
    }

    public struct ConfigError: Error, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = d }
    }

    /// Seconds from `30s`, `5m`, `2h`, `1d` or a plain number of seconds.
    public static func seconds(_ value: Any?, _ field: String) throws -> Double {
        if let n = value as? Int { return Double(n) }
        if let n = value as? Double { return n }
        guard let text = value as? String, let unit = text.last, let number = Double(text.dropLast()), number >= 0 else {
            throw ConfigError("\(field): a duration such as 30s, 5m, 2h or 1d")
        }
        switch unit {
        case "s": return number
        case "m": return number * 60
        case "h": return number * 3600
        case "d": return number * 86400
        default: throw ConfigError("\(field): a duration such as 30s, 5m, 2h or 1d")
        }
    }

    /// The `alerts:` mapping (as YAML decodes it), every key checked: an unknown key, a missing field or a
    /// channel no rule can reach is an error naming it.
    public static func parse(_ object: Any) throws -> AlertConfig {
        guard let top = object as? [String: Any] else { throw ConfigError("alerts: a mapping with 'rules', 'channels' and 'interval'") }
        if let unknown = top.keys.sorted().first(where: { !["rules", "channels", "interval"].contains($0) }) {
            throw ConfigError("alerts: unknown key '\(unknown)' (keys: rules, channels, interval)")
        }
        var config = AlertConfig()
        if let interval = top["interval"] {
            config.interval = try seconds(interval, "alerts.interval")
            guard config.interval >= 1 else { throw ConfigError("alerts.interval: at least 1s") }
        }
        if let channels = top["channels"] {
            guard let map = channels as? [String: Any] else { throw ConfigError("alerts.channels: a mapping of channel names") }
            for (name, value) in map { config.channels[name] = try parseChannel(value, "alerts.channels.\(name)") }
        }
        guard let rules = top["rules"] as? [Any], !rules.isEmpty else { throw ConfigError("alerts.rules: a list of at least one rule") }
        var seen = Set<String>()
        for (i, item) in rules.enumerated() {
            let rule = try parseRule(item, "alerts.rules[\(i)]")
            guard seen.insert(rule.name).inserted else { throw ConfigError("alerts.rules[\(i)]: the name '\(rule.name)' is used twice") }
            for channel in rule.channels where config.channels[channel] == nil {
                throw ConfigError("alerts.rules[\(i)] (\(rule.name)): no channel named '\(channel)' (channels: \(config.channels.keys.sorted().joined(separator: ", ")))")
            }
            config.rules.append(rule)
        }
        return config
    }

    static func parseRule(_ object: Any, _ at: String) throws -> AlertRule {
        guard let r = object as? [String: Any] else { throw ConfigError("\(at): a mapping") }
        let keys = ["name", "model", "metric", "window", "above", "below", "for", "severity", "channels", "min_samples"]
        if let unknown = r.keys.sorted().first(where: { !keys.contains($0) }) { throw ConfigError("\(at): unknown key '\(unknown)' (keys: \(keys.joined(separator: ", ")))") }
        guard let name = r["name"] as? String, !name.isEmpty, name.count <= 200, !name.contains("|") else { throw ConfigError("\(at).name: a name (at most 200 characters, no '|')") }
        let here = "\(at) (\(name))"
        guard let model = r["model"] as? String, !model.isEmpty else { throw ConfigError("\(here).model: a model name, or '*' for every served model") }
        guard let metricText = r["metric"] as? String, let metric = AlertMetric(metricText) else {
            throw ConfigError("\(here).metric: one of \(AlertMetric.names.joined(separator: ", "))")
        }
        let window = try seconds(r["window"] ?? "5m", "\(here).window")
        guard window >= 10 else { throw ConfigError("\(here).window: at least 10s") }
        func number(_ v: Any?) -> Double? { (v as? Double) ?? (v as? Int).map(Double.init) }
        let comparison: String, threshold: Double
        switch (number(r["above"]), number(r["below"])) {
        case (let a?, nil): (comparison, threshold) = ("above", a)
        case (nil, let b?): (comparison, threshold) = ("below", b)
        default: throw ConfigError("\(here): exactly one of 'above' or 'below', a number")
        }
        let holdFor = try r["for"].map { try seconds($0, "\(here).for") } ?? 0
        let severity = (r["severity"] as? String) ?? "warning"
        guard ["info", "warning", "critical"].contains(severity) else { throw ConfigError("\(here).severity: info, warning or critical") }
        var channels: [String] = []
        if let c = r["channels"] {
            guard let list = c as? [Any], list.allSatisfy({ $0 is String }) else { throw ConfigError("\(here).channels: a list of channel names") }
            channels = list.map { $0 as! String }
        }
        let minSamples = (r["min_samples"] as? Int) ?? 20
        guard minSamples >= 1 else { throw ConfigError("\(here).min_samples: at least 1") }
        return AlertRule(name: name, model: model, metric: metric, window: window, comparison: comparison, threshold: threshold,
                         holdFor: holdFor, severity: severity, channels: channels, minSamples: minSamples)
    }

    static func parseChannel(_ object: Any, _ at: String) throws -> AlertChannel {
        guard let c = object as? [String: Any] else { throw ConfigError("\(at): a mapping with 'webhook', 'smtp' or 'command'") }
        if let url = c["webhook"] {
            if let unknown = c.keys.sorted().first(where: { !["webhook", "headers"].contains($0) }) { throw ConfigError("\(at): unknown key '\(unknown)' (webhook keys: webhook, headers)") }
            guard let text = url as? String, let u = URL(string: text), ["http", "https"].contains(u.scheme ?? "") else { throw ConfigError("\(at).webhook: an http(s) URL") }
            let headers = (c["headers"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
            return .webhook(url: u, headers: headers)
        }
        if let url = c["smtp"] {
            let keys = ["smtp", "from", "to", "user", "password_env", "require_tls"]
            if let unknown = c.keys.sorted().first(where: { !keys.contains($0) }) { throw ConfigError("\(at): unknown key '\(unknown)' (smtp keys: \(keys.joined(separator: ", ")))") }
            guard let text = url as? String, let u = URL(string: text), ["smtp", "smtps"].contains(u.scheme ?? ""), u.host != nil else { throw ConfigError("\(at).smtp: an smtp:// or smtps:// URL with a host") }
            guard let from = c["from"] as? String, from.contains("@") else { throw ConfigError("\(at).from: the sender's address") }
            let to = (c["to"] as? [Any])?.compactMap { $0 as? String } ?? (c["to"] as? String).map { [$0] } ?? []
            guard !to.isEmpty, to.allSatisfy({ $0.contains("@") && !$0.contains("\n") }) else { throw ConfigError("\(at).to: one or more addresses") }
            return .smtp(url: u, from: from, to: to, user: c["user"] as? String, passwordEnv: c["password_env"] as? String, requireTLS: (c["require_tls"] as? Bool) ?? false)
        }
        if let command = c["command"] {
            if let unknown = c.keys.sorted().first(where: { $0 != "command" }) { throw ConfigError("\(at): unknown key '\(unknown)' (command keys: command)") }
            guard let argv = command as? [Any], !argv.isEmpty, argv.allSatisfy({ $0 is String }) else { throw ConfigError("\(at).command: the program and its arguments, a list") }
            return .command(argv.map { $0 as! String })
        }
        throw ConfigError("\(at): one of 'webhook', 'smtp' or 'command'")
    }
}
