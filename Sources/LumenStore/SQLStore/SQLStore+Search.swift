import Foundation
import SQLKit

extension SQLStore {
    public func searchRuns(_ query: RunQuery) async throws -> RunPage {
        guard (1...50_000).contains(query.maxResults) else {
            throw StoreError.invalidParameter("max_results must be between 1 and 50000, got \(query.maxResults)")
        }
        let experimentIDs = try query.experimentIDs.map(Validation.experimentID)
        guard !experimentIDs.isEmpty else { return RunPage(runs: [], nextPageToken: nil) }
        let filter = try RunFilter(parsing: query.filter)
        let offset = try Self.decodePageToken(query.pageToken)

        var conditions: [SQLQueryString] = ["r.experiment_id IN (\(binds: experimentIDs))"]
        switch query.lifecycle {
        case .activeOnly: conditions.append("r.lifecycle_stage = 'active'")
        case .deletedOnly: conditions.append("r.lifecycle_stage = 'deleted'")
        case .all: break
        }
        conditions += try filter.clauses.map(sql(for:))

        var joins: [SQLQueryString] = []
        var orders: [SQLQueryString] = []
        for (i, term) in query.orderBy.enumerated() {
            let (entity, key, ascending) = try Self.parseOrder(term)
            let direction: SQLQueryString = ascending ? "ASC" : "DESC"
            switch entity {
            case .attribute:
                let column = RunFilter.attributes[key]!
                orders.append("(r.\(unsafeRaw: column) IS NULL), r.\(unsafeRaw: column) " + direction)
            case .metric:
                joins.append("LEFT JOIN latest_metrics o\(unsafeRaw: String(i)) ON o\(unsafeRaw: String(i)).run_uuid = r.run_uuid AND o\(unsafeRaw: String(i)).key = \(bind: key)")
                orders.append("(o\(unsafeRaw: String(i)).value IS NULL), o\(unsafeRaw: String(i)).value " + direction)
            case .param, .tag:
                let table = entity == .param ? "params" : "tags"
                joins.append("LEFT JOIN \(unsafeRaw: table) o\(unsafeRaw: String(i)) ON o\(unsafeRaw: String(i)).run_uuid = r.run_uuid AND o\(unsafeRaw: String(i)).key = \(bind: key)")
                orders.append("(o\(unsafeRaw: String(i)).value IS NULL), o\(unsafeRaw: String(i)).value " + direction)
            }
        }
        orders.append("r.start_time DESC")
        orders.append("r.run_uuid")

        let sql: SQLQueryString = "SELECT r.run_uuid FROM runs r " + joins.joined(separator: " ") + " WHERE "
            + conditions.joined(separator: " AND ") + " ORDER BY " + orders.joined(separator: ", ")
            + " LIMIT \(bind: query.maxResults + 1) OFFSET \(bind: offset)"
        let ids = try await db.raw(sql).all().map { try $0.decode(column: "run_uuid", as: String.self) }
        let page = Array(ids.prefix(query.maxResults))
        let next = ids.count > query.maxResults ? Self.encodePageToken(offset + query.maxResults) : nil
        return RunPage(runs: try await runs(ids: page), nextPageToken: next)
    }

    private func sql(for clause: RunFilter.Clause) throws -> SQLQueryString {
        let op = try comparatorSQL(clause.comparator)
        switch clause.entity {
        case .metric:
            guard case let .number(v) = clause.value else { throw StoreError.invalidParameter("metrics compare to numbers") }
            return "r.run_uuid IN (SELECT f.run_uuid FROM latest_metrics f WHERE f.key = \(bind: clause.key) AND f.is_nan = 0 AND f.value " + op + " \(bind: v))"
        case .param, .tag:
            guard case let .string(v) = clause.value else { throw StoreError.invalidParameter("params and tags compare to strings") }
            let table = clause.entity == .param ? "params" : "tags"
            if clause.comparator == .ne {
                // MLflow: a run without the key does not match `!=`.
                return "r.run_uuid IN (SELECT f.run_uuid FROM \(unsafeRaw: table) f WHERE f.key = \(bind: clause.key) AND f.value <> \(bind: v))"
            }
            return "r.run_uuid IN (SELECT f.run_uuid FROM \(unsafeRaw: table) f WHERE f.key = \(bind: clause.key) AND " + valueComparison("f.value", clause.comparator, v) + ")"
        case .attribute:
            let column = "r." + RunFilter.attributes[clause.key]!
            switch clause.value {
            case let .number(v): return "\(unsafeRaw: column) " + op + " \(bind: Int64(v))"
            case let .string(v):
                if clause.key == "experiment_id" { return "\(unsafeRaw: column) " + op + " \(bind: try Validation.experimentID(v))" }
                return valueComparison(column, clause.comparator, v)
            case let .list(items):
                let list: SQLQueryString = clause.key == "experiment_id" ? "\(binds: try items.map(Validation.experimentID))" : "\(binds: items)"
                return "\(unsafeRaw: column) " + (clause.comparator == .inList ? "IN (" : "NOT IN (") + list + ")"
            }
        }
    }

    private func valueComparison(_ column: String, _ comparator: RunFilter.Comparator, _ value: String) -> SQLQueryString {
        switch comparator {
        case .like: return flavor == .sqlite ? "\(unsafeRaw: column) GLOB \(bind: Self.likeToGlob(value))" : "\(unsafeRaw: column) LIKE \(bind: value)"
        case .ilike: return flavor == .sqlite ? "\(unsafeRaw: column) LIKE \(bind: value)" : "\(unsafeRaw: column) ILIKE \(bind: value)"
        case .ne: return "\(unsafeRaw: column) <> \(bind: value)"
        default: return "\(unsafeRaw: column) = \(bind: value)"
        }
    }

    private func comparatorSQL(_ c: RunFilter.Comparator) throws -> SQLQueryString {
        switch c {
        case .eq: return "="
        case .ne: return "<>"
        case .gt: return ">"
        case .ge: return ">="
        case .lt: return "<"
        case .le: return "<="
        case .like, .ilike, .inList, .notIn: return "="  // handled by the callers
        }
    }

    /// SQLite's LIKE ignores case; MLflow's LIKE does not, so SQLite uses GLOB with the pattern translated.
    static func likeToGlob(_ pattern: String) -> String {
        var out = ""
        for ch in pattern {
            switch ch {
            case "%": out += "*"
            case "_": out += "?"
            case "*", "?", "[": out += "[\(ch)]"
            default: out.append(ch)
            }
        }
        return out
    }

    /// Parses `metrics.val_auc DESC`, `attributes.start_time`, `params."lr"` into (entity, key, ascending).
    static func parseOrder(_ term: String) throws -> (RunFilter.Entity, String, Bool) {
        var text = term.trimmingCharacters(in: .whitespaces)
        var ascending = true
        if text.uppercased().hasSuffix(" DESC") { ascending = false; text = String(text.dropLast(5)) }
        else if text.uppercased().hasSuffix(" ASC") { text = String(text.dropLast(4)) }
        text = text.trimmingCharacters(in: .whitespaces)
        let invalid = StoreError.invalidParameter("invalid order_by clause '\(term)': use metrics.KEY, params.KEY, tags.KEY or attributes.NAME, optionally followed by ASC or DESC")
        guard let dot = text.firstIndex(of: ".") else { throw invalid }
        var key = String(text[text.index(after: dot)...])
        if let first = key.first, "'\"`".contains(first), key.count >= 2, key.last == first { key = String(key.dropFirst().dropLast()) }
        guard !key.isEmpty else { throw invalid }
        let entity: RunFilter.Entity
        switch text[..<dot].lowercased() {
        case "metric", "metrics": entity = .metric
        case "param", "params": entity = .param
        case "tag", "tags": entity = .tag
        case "attribute", "attributes", "attr", "run": entity = .attribute
        default: throw invalid
        }
        if entity == .attribute && RunFilter.attributes[key] == nil { throw invalid }
        return (entity, key, ascending)
    }

    static func encodePageToken(_ offset: Int) -> String {
        Data("{\"offset\": \(offset)}".utf8).base64EncodedString()
    }

    static func decodePageToken(_ token: String?) throws -> Int {
        guard let token, !token.isEmpty else { return 0 }
        guard let data = Data(base64Encoded: token),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let offset = (object["offset"] as? NSNumber)?.intValue, (0...1_000_000_000).contains(offset) else {
            throw StoreError.invalidParameter("invalid page_token '\(token.prefix(40))'")
        }
        return offset
    }
}
