import Foundation
import LumenStore
import LumenWorkspace

/// Evaluates the alert rules against the store and moves each (rule, model) through its life:
///
///     condition seen ─▶ pending ─(held for `for`)─▶ firing ─(condition gone)─▶ resolved
///                          └─(condition gone before)─▶ forgotten
///
/// Every state lives in the store's `alerts` table, so a restart or another replica continues where the
/// last evaluation stopped; an alert is open at most once per rule and model (a unique key), and only
/// the evaluation that moves it notifies, so several replicas send one message, not one each. A firing
/// alert is notified once when it fires and once when it resolves, not at every evaluation.
public struct AlertEngine: Sendable {
    public let config: AlertConfig
    public let store: any Store
    public let artifacts: ArtifactStore
    public let notifier: AlertNotifier

    public init(config: AlertConfig, store: any Store, artifacts: ArtifactStore, notifier: AlertNotifier = AlertNotifier()) {
        self.config = config
        self.store = store
        self.artifacts = artifacts
        self.notifier = notifier
    }

    /// What one evaluation did to one alert.
    public struct Event: Sendable, Equatable {
        /// `pending`, `firing`, `resolved` or `dropped`.
        public var change: String
        public var alert: AlertRecord
    }

    /// One evaluation of every rule on every model it names (`*`: each of `models`), at `now` (ms).
    /// A rule that cannot be computed (an unknown class, a model without logs) is reported in `errors`, not thrown.
    public func evaluate(models: [String], now: Int64 = Clock.nowMillis()) async -> (events: [Event], errors: [String]) {
        var events: [Event] = [], errors: [String] = []
        for rule in config.rules {
            for model in rule.model == "*" ? models : [rule.model] {
                do {
                    let (value, evidence) = try await AlertMetrics.value(rule, model: model, store: store, artifacts: artifacts, now: now)
                    var details = evidence
                    details["value"] = value
                    details["threshold"] = rule.threshold
                    details["comparison"] = rule.comparison
                    let evidenceJSON = String(decoding: (try? JSONSerialization.data(withJSONObject: details, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
                    if let event = try await step(rule, model: model, value: value, evidence: evidenceJSON, now: now) { events.append(event) }
                } catch {
                    errors.append("rule \(rule.name) on \(model): \(error)")
                }
            }
        }
        return (events, errors)
    }

    /// Moves one (rule, model) by its new value; notifies when it fires or resolves.
    func step(_ rule: AlertRule, model: String, value: Double?, evidence: String, now: Int64) async throws -> Event? {
        let open = try await store.openAlert(rule: rule.name, model: model)
        let breached = rule.breached(by: value)
        switch (open, breached) {
        case (nil, true):
            let firing = rule.holdFor <= 0
            let alert = AlertRecord(rule: rule.name, model: model, severity: rule.severity, state: firing ? .firing : .pending, metric: rule.metric.description,
                                    comparison: rule.comparison, threshold: rule.threshold, value: value, started: now, fired: firing ? now : nil,
                                    updated: now, evidence: evidence)
            guard try await store.insertAlert(alert) else { return nil }
            if firing { await notify(alert, rule: rule) }
            return Event(change: firing ? "firing" : "pending", alert: alert)
        case (var alert?, true):
            alert.value = value
            alert.evidence = evidence
            alert.updated = now
            if alert.state == .pending && Double(now - alert.started) >= rule.holdFor * 1000 {
                alert.state = .firing
                alert.fired = now
                guard try await store.transitionAlert(alert, from: .pending) else { return nil }
                await notify(alert, rule: rule)
                return Event(change: "firing", alert: alert)
            }
            _ = try await store.transitionAlert(alert, from: alert.state)
            return nil
        case (var alert?, false):
            if alert.state == .pending {
                try await store.dropPendingAlert(id: alert.id)
                return Event(change: "dropped", alert: alert)
            }
            alert.state = .resolved
            alert.resolved = now
            alert.updated = now
            alert.value = value
            alert.evidence = evidence
            guard try await store.transitionAlert(alert, from: .firing) else { return nil }
            await notify(alert, rule: rule)
            return Event(change: "resolved", alert: alert)
        case (nil, false):
            return nil
        }
    }

    func notify(_ alert: AlertRecord, rule: AlertRule) async {
        let channels = rule.channels.compactMap { name in config.channels[name].map { (name, $0) } }
        guard !channels.isEmpty else { return }
        let lines = await notifier.deliver(alert, channels: channels)
        try? await store.setAlertDeliveries(id: alert.id, (alert.deliveries.isEmpty ? "" : alert.deliveries + "\n") + lines.joined(separator: "\n"))
    }
}
