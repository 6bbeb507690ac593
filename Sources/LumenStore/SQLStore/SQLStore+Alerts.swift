import Foundation
import SQLKit

extension SQLStore {
    static let alertColumns = "id, rule, model, severity, state, metric, comparison, threshold, value, started, fired, resolved, updated, evidence, deliveries"

    func alert(_ row: any SQLRow) throws -> AlertRecord {
        AlertRecord(id: try row.decode(column: "id", as: String.self), rule: try row.decode(column: "rule", as: String.self),
                    model: try row.decode(column: "model", as: String.self), severity: try row.decode(column: "severity", as: String.self),
                    state: AlertRecord.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .resolved,
                    metric: try row.decode(column: "metric", as: String.self), comparison: try row.decode(column: "comparison", as: String.self),
                    threshold: try row.decode(column: "threshold", as: Double.self), value: try row.decode(column: "value", as: Double?.self),
                    started: try row.decode(column: "started", as: Int64.self), fired: try row.decode(column: "fired", as: Int64?.self),
                    resolved: try row.decode(column: "resolved", as: Int64?.self), updated: try row.decode(column: "updated", as: Int64.self),
                    evidence: try row.decode(column: "evidence", as: String.self), deliveries: try row.decode(column: "deliveries", as: String.self))
    }

    static func openKey(rule: String, model: String) -> String { rule + "|" + model }

    public func openAlert(rule: String, model: String) async throws -> AlertRecord? {
        try await db.raw("SELECT \(unsafeRaw: Self.alertColumns) FROM alerts WHERE open_key = \(bind: Self.openKey(rule: rule, model: model))").first().map(alert)
    }

    public func insertAlert(_ a: AlertRecord) async throws -> Bool {
        guard a.state != .resolved else { throw StoreError.invalidParameter("a new alert is pending or firing") }
        guard a.rule.count <= 200, a.model.count <= 500, !a.rule.isEmpty else { throw StoreError.invalidParameter("an alert needs a rule name (at most 200 characters) and a model") }
        // ON CONFLICT DO NOTHING: a replica that finds the alert open already records nothing.
        let rows = try await db.raw("""
            INSERT INTO alerts (id, rule, model, severity, state, metric, comparison, threshold, value, started, fired, resolved, updated, evidence, deliveries, open_key)
            VALUES (\(bind: a.id), \(bind: a.rule), \(bind: a.model), \(bind: a.severity), \(bind: a.state.rawValue), \(bind: a.metric), \(bind: a.comparison),
                    \(bind: a.threshold), \(bind: a.value), \(bind: a.started), \(bind: a.fired), \(bind: a.resolved), \(bind: a.updated), \(bind: a.evidence),
                    \(bind: a.deliveries), \(bind: Self.openKey(rule: a.rule, model: a.model)))
            ON CONFLICT DO NOTHING RETURNING id
            """).all()
        return !rows.isEmpty
    }

    public func transitionAlert(_ a: AlertRecord, from: AlertRecord.State) async throws -> Bool {
        let openKey: String? = a.state == .resolved ? nil : Self.openKey(rule: a.rule, model: a.model)
        let rows = try await db.raw("""
            UPDATE alerts SET state = \(bind: a.state.rawValue), value = \(bind: a.value), fired = \(bind: a.fired), resolved = \(bind: a.resolved),
              updated = \(bind: a.updated), evidence = \(bind: a.evidence), open_key = \(bind: openKey)
            WHERE id = \(bind: a.id) AND state = \(bind: from.rawValue) RETURNING id
            """).all()
        return !rows.isEmpty
    }

    public func dropPendingAlert(id: String) async throws {
        try await db.raw("DELETE FROM alerts WHERE id = \(bind: id) AND state = 'pending'").run()
    }

    public func setAlertDeliveries(id: String, _ deliveries: String) async throws {
        try await db.raw("UPDATE alerts SET deliveries = \(bind: deliveries) WHERE id = \(bind: id)").run()
    }

    public func alerts(openOnly: Bool, since: Int64, limit: Int) async throws -> [AlertRecord] {
        guard (1...100_000).contains(limit) else { throw StoreError.invalidParameter("limit must be 1…100000") }
        let condition: SQLQueryString = openOnly ? "open_key IS NOT NULL AND state = 'firing'" : "(started >= \(bind: since) OR open_key IS NOT NULL)"
        return try await db.raw("SELECT \(unsafeRaw: Self.alertColumns) FROM alerts WHERE " + condition + " ORDER BY started DESC, id LIMIT \(bind: limit)").all().map(alert)
    }
}
