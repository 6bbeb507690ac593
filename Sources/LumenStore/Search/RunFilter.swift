/// MLflow's run filter language, parsed: clauses joined by `and`, e.g.
/// `metrics.val_auc > 0.9 and params.model = 'resnet18' and tags."data.version" LIKE 'v1%'`.
public struct RunFilter: Sendable, Equatable {
    public enum Entity: String, Sendable { case metric = "metrics", param = "params", tag = "tags", attribute = "attributes" }
    public enum Comparator: String, Sendable, CaseIterable { case eq = "=", ne = "!=", gt = ">", ge = ">=", lt = "<", le = "<=", like = "LIKE", ilike = "ILIKE", inList = "IN", notIn = "NOT IN" }
    public enum Value: Sendable, Equatable { case number(Double), string(String), list([String]) }

    public struct Clause: Sendable, Equatable {
        public var entity: Entity
        public var key: String
        public var comparator: Comparator
        public var value: Value
    }

    public var clauses: [Clause]

    /// Attributes that can be filtered and ordered on, with their column.
    static let attributes: [String: String] = [
        "run_id": "run_uuid", "run_name": "name", "status": "status", "start_time": "start_time",
        "end_time": "end_time", "artifact_uri": "artifact_uri", "user_id": "name", "experiment_id": "experiment_id",
    ]
    static let numericAttributes: Set<String> = ["start_time", "end_time", "experiment_id"]

    /// Parses a filter; an empty string is no filter. Errors name the position and what was expected.
    public init(parsing text: String) throws {
        var lexer = Lexer(text)
        clauses = []
        if try lexer.peek() == nil { return }
        while true {
            clauses.append(try Self.clause(&lexer))
            guard let token = try lexer.next() else { break }
            guard case let .word(w) = token, w.lowercased() == "and" else {
                throw StoreError.invalidParameter("filter: expected AND between clauses, found \(token) (only AND is supported, as in MLflow)")
            }
        }
    }

    private static func clause(_ lexer: inout Lexer) throws -> Clause {
        guard case let .word(identifier)? = try lexer.next() else { throw StoreError.invalidParameter("filter: expected an identifier such as metrics.acc") }
        guard let dot = identifier.firstIndex(of: ".") else {
            throw StoreError.invalidParameter("filter: '\(identifier)' needs a prefix: metrics., params., tags. or attributes.")
        }
        let prefix = identifier[..<dot].lowercased()
        var key = String(identifier[identifier.index(after: dot)...])
        if key.isEmpty, case let .quoted(q)? = try lexer.peek() { _ = try lexer.next(); key = q }
        let entity: Entity
        switch prefix {
        case "metric", "metrics": entity = .metric
        case "param", "params", "parameter", "parameters": entity = .param
        case "tag", "tags": entity = .tag
        case "attribute", "attributes", "attr", "run": entity = .attribute
        default: throw StoreError.invalidParameter("filter: unknown entity '\(prefix)' (metrics, params, tags or attributes)")
        }
        guard !key.isEmpty else { throw StoreError.invalidParameter("filter: '\(identifier)' has no key") }
        if entity == .attribute && attributes[key] == nil {
            throw StoreError.invalidParameter("filter: unknown attribute '\(key)' (one of \(attributes.keys.sorted().joined(separator: ", ")))")
        }
        guard let opToken = try lexer.next() else { throw StoreError.invalidParameter("filter: expected a comparator after \(identifier)") }
        var comparator: Comparator
        switch opToken {
        case let .op(o): comparator = Comparator(rawValue: o == "==" ? "=" : o) ?? .eq
        case let .word(w) where w.uppercased() == "NOT":
            guard case let .word(w2)? = try lexer.next(), w2.uppercased() == "IN" else { throw StoreError.invalidParameter("filter: expected IN after NOT") }
            comparator = .notIn
        case let .word(w):
            guard let c = Comparator(rawValue: w.uppercased()) else { throw StoreError.invalidParameter("filter: '\(w)' is not a comparator") }
            comparator = c
        default: throw StoreError.invalidParameter("filter: expected a comparator after \(identifier), found \(opToken)")
        }
        guard let valueToken = try lexer.next() else { throw StoreError.invalidParameter("filter: expected a value after \(comparator.rawValue)") }
        let value: Value
        switch valueToken {
        case let .number(n): value = .number(n)
        case let .quoted(s): value = .string(s)
        case let .list(items): value = .list(items)
        default: throw StoreError.invalidParameter("filter: expected a number, a quoted string or a list, found \(valueToken)")
        }
        // Type rules, as MLflow's: metrics compare to numbers; params and tags to strings.
        switch (entity, value, comparator) {
        case (.metric, .number, .eq), (.metric, .number, .ne), (.metric, .number, .gt), (.metric, .number, .ge),
             (.metric, .number, .lt), (.metric, .number, .le): break
        case (.metric, _, _): throw StoreError.invalidParameter("filter: metrics.\(key) must be compared with a number using =, !=, <, <=, >, >=")
        case (.param, .string, _), (.tag, .string, _):
            if [.gt, .ge, .lt, .le, .inList, .notIn].contains(comparator) {
                throw StoreError.invalidParameter("filter: \(entity.rawValue).\(key) supports =, !=, LIKE and ILIKE")
            }
        case (.param, _, _), (.tag, _, _): throw StoreError.invalidParameter("filter: \(entity.rawValue).\(key) must be compared with a quoted string")
        case (.attribute, .list, .inList), (.attribute, .list, .notIn): break
        case (.attribute, .number, _) where numericAttributes.contains(key) && ![.like, .ilike, .inList, .notIn].contains(comparator): break
        case (.attribute, .string, _) where !numericAttributes.contains(key) && ![.gt, .ge, .lt, .le, .inList, .notIn].contains(comparator): break
        default: throw StoreError.invalidParameter("filter: attributes.\(key) cannot be compared with \(comparator.rawValue) and that value")
        }
        return Clause(entity: entity, key: key, comparator: comparator, value: value)
    }
}

/// Tokens of the filter language.
enum FilterToken: Equatable, CustomStringConvertible {
    case word(String), quoted(String), number(Double), op(String), list([String])
    var description: String {
        switch self {
        case let .word(w): return "'\(w)'"
        case let .quoted(q): return "\"\(q)\""
        case let .number(n): return "\(n)"
        case let .op(o): return "'\(o)'"
        case let .list(l): return "(\(l.joined(separator: ", ")))"
        }
    }
}

struct Lexer {
    private let chars: [Character]
    private var i = 0
    private var peeked: FilterToken??

    init(_ text: String) { chars = Array(text) }

    mutating func peek() throws -> FilterToken? {
        if let peeked { return peeked }
        let token = try scan()
        peeked = .some(token)
        return token
    }

    mutating func next() throws -> FilterToken? {
        if let p = peeked { peeked = nil; return p }
        return try scan()
    }

    private mutating func scan() throws -> FilterToken? {
        while i < chars.count, chars[i].isWhitespace { i += 1 }
        guard i < chars.count else { return nil }
        let c = chars[i]
        if c == "'" || c == "\"" || c == "`" {
            return .quoted(try quoted(c))
        }
        if "<>=!".contains(c) {
            var op = String(c)
            i += 1
            if i < chars.count, chars[i] == "=" { op.append("="); i += 1 }
            guard ["=", "==", "!=", "<", "<=", ">", ">="].contains(op) else { throw StoreError.invalidParameter("filter: unknown operator '\(op)' at \(i)") }
            return .op(op)
        }
        if c == "(" {
            i += 1
            var items: [String] = []
            while true {
                while i < chars.count, chars[i].isWhitespace || chars[i] == "," { i += 1 }
                guard i < chars.count else { throw StoreError.invalidParameter("filter: unclosed '('") }
                if chars[i] == ")" { i += 1; break }
                guard chars[i] == "'" || chars[i] == "\"" else { throw StoreError.invalidParameter("filter: lists hold quoted strings") }
                items.append(try quoted(chars[i]))
            }
            return .list(items)
        }
        if c.isNumber || ((c == "-" || c == "+" || c == ".") && i + 1 < chars.count && (chars[i + 1].isNumber || chars[i + 1] == ".")) {
            let start = i
            i += 1
            while i < chars.count, chars[i].isNumber || "eE.+-".contains(chars[i]) { i += 1 }
            guard let n = Double(String(chars[start..<i])) else { throw StoreError.invalidParameter("filter: bad number '\(String(chars[start..<i]))'") }
            return .number(n)
        }
        // An identifier, possibly with a quoted key right after the dot: metrics."val loss".
        let start = i
        while i < chars.count, !chars[i].isWhitespace, !"<>=!()'\"`".contains(chars[i]) { i += 1 }
        var word = String(chars[start..<i])
        if word.hasSuffix("."), i < chars.count, "'\"`".contains(chars[i]) { word += try quoted(chars[i]) }
        guard !word.isEmpty else { throw StoreError.invalidParameter("filter: unexpected '\(c)' at \(i)") }
        return .word(word)
    }

    private mutating func quoted(_ q: Character) throws -> String {
        i += 1
        var out = ""
        while i < chars.count {
            if chars[i] == q {
                if i + 1 < chars.count, chars[i + 1] == q { out.append(q); i += 2; continue }  // doubled quote escapes
                i += 1
                return out
            }
            if chars[i] == "\\", i + 1 < chars.count { out.append(chars[i + 1]); i += 2; continue }
            out.append(chars[i])
            i += 1
        }
        throw StoreError.invalidParameter("filter: unterminated string")
    }
}
