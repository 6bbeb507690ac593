import Foundation

/// MLflow 3's logged-model filter language, parsed and evaluated: comparisons joined by `AND`, on
/// attributes (`name`, `model_id`, `model_type`, `status`, `source_run_id`, `creation_timestamp`,
/// `last_updated_timestamp`, bare or as `attributes.NAME`), `metrics.KEY` (the latest value),
/// `params.KEY` and `tags.KEY`, e.g. `metrics.val_auc >= 0.9 AND params.arch = 'resnet18' AND status = 'READY'`.
struct LoggedModelFilter: Sendable {
    typealias Comparator = RunFilter.Comparator
    enum Entity: Sendable, Equatable { case attribute, metric, param, tag }
    struct Clause: Sendable {
        var entity: Entity
        var key: String
        var comparator: Comparator
        var value: RunFilter.Value
    }

    let clauses: [Clause]

    static let stringAttributes: Set<String> = ["name", "model_id", "model_type", "status", "source_run_id", "artifact_location"]
    static let numericAttributes: [String: String] = [
        "creation_timestamp": "creation_timestamp", "creation_timestamp_ms": "creation_timestamp", "creation_time": "creation_timestamp",
        "last_updated_timestamp": "last_updated_timestamp", "last_updated_timestamp_ms": "last_updated_timestamp",
    ]

    init(parsing text: String) throws {
        var lexer = Lexer(text)
        var out: [Clause] = []
        if try lexer.peek() != nil {
            while true {
                out.append(try Self.clause(&lexer))
                guard let token = try lexer.next() else { break }
                guard case let .word(w) = token, w.uppercased() == "AND" else {
                    throw StoreError.invalidParameter("filter: expected AND between comparisons, found \(token) (only AND is supported, as in MLflow)")
                }
            }
        }
        clauses = out
    }

    private static func clause(_ lexer: inout Lexer) throws -> Clause {
        guard case let .word(identifier)? = try lexer.next() else { throw StoreError.invalidParameter("filter: expected a name such as metrics.accuracy or status") }
        var entity = Entity.attribute
        var key = identifier
        if let dot = identifier.firstIndex(of: ".") {
            switch identifier[..<dot].lowercased() {
            case "attributes", "attribute": entity = .attribute
            case "metrics", "metric": entity = .metric
            case "params", "param": entity = .param
            case "tags", "tag": entity = .tag
            default: throw StoreError.invalidParameter("filter: unknown entity in '\(identifier.prefix(80))' (metrics., params., tags. or an attribute)")
            }
            key = String(identifier[identifier.index(after: dot)...])
        }
        if key.isEmpty, case let .quoted(q)? = try lexer.peek() { _ = try lexer.next(); key = q }
        guard !key.isEmpty else { throw StoreError.invalidParameter("filter: '\(identifier.prefix(80))' has no key") }
        if entity == .attribute {
            key = numericAttributes[key] ?? key
            guard stringAttributes.contains(key) || numericAttributes.values.contains(key) else {
                throw StoreError.invalidParameter("filter: unknown attribute '\(key.prefix(80))' (name, model_id, model_type, status, source_run_id, creation_timestamp, last_updated_timestamp)")
            }
        }
        let comparator: Comparator
        switch try lexer.next() {
        case let .op(o)?: comparator = Comparator(rawValue: o == "==" ? "=" : o) ?? .eq
        case let .word(w)? where w.uppercased() == "NOT":
            guard case let .word(w2)? = try lexer.next(), w2.uppercased() == "IN" else { throw StoreError.invalidParameter("filter: expected IN after NOT") }
            comparator = .notIn
        case let .word(w)?:
            guard let c = Comparator(rawValue: w.uppercased()) else { throw StoreError.invalidParameter("filter: '\(w.prefix(40))' is not a comparator") }
            comparator = c
        default: throw StoreError.invalidParameter("filter: expected a comparator after \(identifier.prefix(80))")
        }
        let value: RunFilter.Value
        switch try lexer.next() {
        case let .number(n)?: value = .number(n)
        case let .quoted(s)?: value = .string(s)
        case let .list(items)?: value = .list(items)
        default: throw StoreError.invalidParameter("filter: expected a number, a quoted string or a list after \(comparator.rawValue)")
        }
        let numeric = entity == .metric || (entity == .attribute && numericAttributes.values.contains(key))
        switch (numeric, value, comparator) {
        case (true, .number, .eq), (true, .number, .ne), (true, .number, .gt), (true, .number, .ge), (true, .number, .lt), (true, .number, .le): break
        case (true, _, _): throw StoreError.invalidParameter("filter: \(key.prefix(80)) must be compared with a number using =, !=, <, <=, >, >=")
        case (false, .string, .eq), (false, .string, .ne), (false, .string, .like), (false, .string, .ilike),
             (false, .list, .inList), (false, .list, .notIn): break
        default: throw StoreError.invalidParameter("filter: \(key.prefix(80)) takes =, !=, LIKE, ILIKE with a quoted string, or IN / NOT IN with a list")
        }
        if entity == .attribute && key == "status" {
            let names: [String]
            switch value { case let .string(s): names = [s]; case let .list(l): names = l; default: names = [] }
            for name in names where LoggedModelStatus(mlflow: name) == nil {
                throw StoreError.invalidParameter("filter: unknown model status '\(name.prefix(40))' (PENDING, READY, UPLOAD_FAILED)")
            }
        }
        return Clause(entity: entity, key: key, comparator: comparator, value: value)
    }

    /// Whether `model` passes every clause; `latest` gives a model's latest value of a metric key.
    func matches(_ model: LoggedModel, latest: (LoggedModel, String) -> Double?) -> Bool {
        clauses.allSatisfy { c in
            switch c.entity {
            case .metric:
                guard case let .number(v) = c.value, let x = latest(model, c.key), !x.isNaN else { return false }
                return Self.compare(x, c.comparator, v)
            case .param: return Self.compare(model.params[c.key], c)
            case .tag: return Self.compare(model.tags[c.key], c)
            case .attribute:
                switch c.key {
                case "creation_timestamp", "last_updated_timestamp":
                    guard case let .number(v) = c.value else { return false }
                    return Self.compare(Double(c.key == "creation_timestamp" ? model.creationTime : model.lastUpdatedTime), c.comparator, v)
                case "status":
                    let wanted: [LoggedModelStatus?]
                    switch c.value {
                    case let .string(s): wanted = [LoggedModelStatus(mlflow: s)]
                    case let .list(l): wanted = l.map(LoggedModelStatus.init(mlflow:))
                    default: return false
                    }
                    let hit = wanted.contains(model.status)
                    return [.ne, .notIn].contains(c.comparator) ? !hit : hit
                default: return Self.compare(Self.attribute(model, c.key), c)
                }
            }
        }
    }

    static func attribute(_ m: LoggedModel, _ key: String) -> String? {
        switch key {
        case "name": return m.name
        case "model_id": return m.id
        case "model_type": return m.modelType
        case "source_run_id": return m.sourceRunID
        case "artifact_location": return m.artifactLocation
        default: return nil
        }
    }

    private static func compare(_ x: Double, _ op: Comparator, _ v: Double) -> Bool {
        switch op {
        case .eq: return x == v
        case .ne: return x != v
        case .gt: return x > v
        case .ge: return x >= v
        case .lt: return x < v
        case .le: return x <= v
        default: return false
        }
    }

    /// String comparisons; a missing value matches nothing, not even `!=` (as a SQL join in MLflow).
    private static func compare(_ field: String?, _ c: Clause) -> Bool {
        guard let field else { return false }
        switch (c.comparator, c.value) {
        case let (.eq, .string(v)): return field == v
        case let (.ne, .string(v)): return field != v
        case let (.like, .string(v)): return like(field, v, caseInsensitive: false)
        case let (.ilike, .string(v)): return like(field, v, caseInsensitive: true)
        case let (.inList, .list(l)): return l.contains(field)
        case let (.notIn, .list(l)): return !l.contains(field)
        default: return false
        }
    }

    /// SQL LIKE: `%` any run of characters, `_` one character.
    static func like(_ s: String, _ pattern: String, caseInsensitive: Bool) -> Bool {
        var regex = "^"
        for ch in pattern {
            switch ch {
            case "%": regex += ".*"
            case "_": regex += "."
            default: regex += NSRegularExpression.escapedPattern(for: String(ch))
            }
        }
        regex += "$"
        var options: String.CompareOptions = [.regularExpression]
        if caseInsensitive { options.insert(.caseInsensitive) }
        return s.range(of: regex, options: options) != nil
    }
}
