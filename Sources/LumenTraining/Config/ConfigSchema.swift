import Foundation
import Yams

/// The type of a configuration value.
public enum ConfigType: Sendable, Equatable {
    case int, double, string, bool, strings
    case choice([String])
}

/// One documented configuration key: its dotted path, type, default (nil: none, or required) and help.
public struct ConfigKey: Sendable {
    public let path: String
    public let type: ConfigType
    public let defaultValue: String?
    public let required: Bool
    public let help: String
}

/// Configuration values by dotted path, checked against a schema: unknown keys are refused with their
/// full path and the keys allowed there, values are checked against their type, and `a.b=value`
/// overrides from the command line apply before the checks.
public struct ConfigTree: Sendable {
    public let schema: [ConfigKey]
    public private(set) var values: [String: String] = [:]

    public init(schema: [ConfigKey]) { self.schema = schema }

    /// Loads YAML text (`source` names it in errors).
    public mutating func load(yaml text: String, source: String) throws(TrainingError) {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw .config(path: "", reason: "\(source) is not valid YAML: \(error)") }
        guard let node else { return }
        var budget = Self.nodeBudget
        let parsed = try Self.plain(node, path: "", budget: &budget)
        guard let root = parsed as? [String: Any] else { throw .config(path: "", reason: "\(source) must be a mapping of keys, not \(parsed is [Any] ? "a list" : "a single value")") }
        try flatten(root, prefix: "")
    }

    /// Applies `key.path=value` overrides (the value is read as YAML: `0.01`, `true`, `[flip, rotate]`).
    public mutating func override(_ assignments: [String]) throws(TrainingError) {
        for assignment in assignments {
            guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else {
                throw .config(path: assignment, reason: "an override is KEY=VALUE, e.g. trainer.epochs=20")
            }
            let path = String(assignment[..<eq]).trimmingCharacters(in: .whitespaces)
            let text = String(assignment[assignment.index(after: eq)...])
            // Text that is not YAML on its own (`a: b: c`) is taken as a string; an empty value clears the key.
            let value: Any
            let parsed: Node??
            do { parsed = .some(try Yams.compose(yaml: text)) } catch { parsed = nil }
            switch parsed {
            case .some(.some(let node)):
                var budget = Self.nodeBudget
                value = try Self.plain(node, path: path, budget: &budget)
            case .some(.none): value = ""
            case .none: value = text
            }
            try set(path, value)
        }
    }

    /// A YAML scalar: its value as YAML types it, and its text as written.
    /// `@unchecked Sendable`: `value` is an immutable Int, Double, Bool, String or NSNull that Yams made;
    /// `Any` hides that from the compiler.
    struct Scalar: @unchecked Sendable {
        let value: Any
        let text: String
    }

    /// The most YAML nodes a config may hold once aliases are expanded (an alias bomb is refused, not walked).
    static let nodeBudget = 100_000
    static func tooManyNodes(_ path: String) -> TrainingError {
        .config(path: path, reason: "too many YAML nodes once aliases are expanded (over \(nodeBudget))")
    }

    /// Plain values from a YAML node, as `Yams.load` builds them but without its traps: a mapping key that
    /// is not a scalar (`? [a, b]: c`) is refused by path instead of crashing, merge keys (`<<: *base`) are
    /// applied, and the walk stops after `budget` nodes.
    static func plain(_ node: Node, path: String, budget: inout Int) throws(TrainingError) -> Any {
        budget -= 1
        guard budget >= 0 else { throw tooManyNodes(path) }
        switch node {
        case .scalar(let scalar):
            return Scalar(value: Constructor.default.any(from: node), text: scalar.string)
        case .alias:
            throw .config(path: path, reason: "an unresolved YAML alias")
        case .sequence(let items):
            var list: [Any] = []
            for (i, item) in items.enumerated() { list.append(try plain(item, path: "\(path)[\(i)]", budget: &budget)) }
            return list
        case .mapping(let pairs):
            var merged: [String: Any] = [:], own: [String: Any] = [:]
            for (k, v) in pairs {
                if k.tag.rawValue == Tag.Name.merge.rawValue {
                    // `<<: mapping` or `<<: [mappings]`: keys written here win, then earlier merges.
                    let sources = v.sequence.map(Array.init) ?? [v]
                    for source in sources.reversed() {
                        guard source.mapping != nil, let entries = try plain(source, path: path, budget: &budget) as? [String: Any] else {
                            throw .config(path: path, reason: "a merge key (<<) needs a mapping or a list of mappings")
                        }
                        merged.merge(entries) { _, new in new }
                    }
                    continue
                }
                guard case .scalar(let scalar) = k else {
                    throw .config(path: path, reason: "a key must be a plain word, not a \(k.mapping != nil ? "mapping" : "list")")
                }
                let key = scalar.string
                own[key] = try plain(v, path: path.isEmpty ? key : path + "." + key, budget: &budget)
            }
            return merged.merging(own) { _, new in new }
        }
    }

    mutating func flatten(_ node: [String: Any], prefix: String) throws(TrainingError) {
        for (key, value) in node {
            let path = prefix.isEmpty ? key : prefix + "." + key
            if let child = value as? [String: Any], !schema.contains(where: { $0.path == path }) {
                try flatten(child, prefix: path)
            } else {
                try set(path, value)
            }
        }
    }

    mutating func set(_ path: String, _ value: Any) throws(TrainingError) {
        guard let key = schema.first(where: { $0.path == path }) else {
            // Report the first component that is neither a key nor a section.
            let parts = path.split(separator: ".").map(String.init)
            var known = ""
            for part in parts {
                let candidate = known.isEmpty ? part : known + "." + part
                guard allowed(under: known).contains(part) else {
                    throw .config(path: candidate, reason: "unknown key; allowed \(known.isEmpty ? "at the top level" : "under '\(known)'"): \(allowed(under: known).joined(separator: ", "))")
                }
                known = candidate
            }
            throw .config(path: path, reason: "is a section, not a value; its keys: \(allowed(under: path).joined(separator: ", "))")
        }
        values[path] = try Self.normalise(value, for: key)
    }

    /// The keys (or sections) directly under `parent`.
    public func allowed(under parent: String) -> [String] {
        let prefix = parent.isEmpty ? "" : parent + "."
        return Array(Set(schema.filter { $0.path.hasPrefix(prefix) }.map { String($0.path.dropFirst(prefix.count).split(separator: ".")[0]) })).sorted()
    }

    static func normalise(_ written: Any, for key: ConfigKey) throws(TrainingError) -> String {
        // Typed keys take the YAML value; text keys take the scalar as written, so that `positive_class: yes`
        // stays "yes" (YAML 1.1 reads yes/no/on/off as booleans).
        let value = (written as? Scalar)?.value ?? written
        func text(_ v: Any) -> String {
            if let scalar = v as? Scalar { return scalar.text }
            if let list = v as? [Any] { return "[" + list.map(text).joined(separator: ", ") + "]" }
            if let mapping = v as? [String: Any] { return "{" + mapping.keys.sorted().map { "\($0): \(text(mapping[$0]!))" }.joined(separator: ", ") + "}" }
            return "\(v)"
        }
        func fail(_ expected: String) -> TrainingError { .config(path: key.path, reason: "expected \(expected), got '\(text(written))'") }
        if value is NSNull { return "" }
        switch key.type {
        case .int:
            if let i = value as? Int { return String(i) }
            if let s = value as? String, let i = Int(s) { return String(i) }
            throw fail("an integer")
        case .double:
            if let d = value as? Double { return String(d) }
            if let i = value as? Int { return String(Double(i)) }
            if let s = value as? String, let d = Double(s) { return String(d) }
            throw fail("a number")
        case .bool:
            if let b = value as? Bool { return String(b) }
            throw fail("true or false")
        case .string:
            if value is [Any] || value is [String: Any] { throw fail("a single value") }
            return text(written)
        case .strings:
            // An empty list is kept as "[]" (none, e.g. no augmentation); an empty value means "unset: the default".
            if let list = value as? [Any] { return list.isEmpty ? Self.emptyList : list.map(text).joined(separator: ",") }
            if let s = value as? String { return s }
            throw fail("a list")
        case .choice(let options):
            let choice = text(written)
            guard options.contains(choice) else { throw .config(path: key.path, reason: "'\(choice)' is not one of \(options.joined(separator: ", "))") }
            return choice
        }
    }

    /// How an explicitly empty list is stored (an empty string is an unset key).
    static let emptyList = "[]"

    func raw(_ path: String) throws(TrainingError) -> String? {
        guard let key = schema.first(where: { $0.path == path }) else { throw .config(path: path, reason: "not in the schema") }
        if let v = values[path], !v.isEmpty { return v }
        if key.required { throw .config(path: path, reason: "required: \(key.help)") }
        return key.defaultValue
    }

    public func string(_ path: String) throws(TrainingError) -> String? { try raw(path) }
    public func int(_ path: String) throws(TrainingError) -> Int { Int(try raw(path) ?? "0") ?? 0 }
    public func double(_ path: String) throws(TrainingError) -> Double { Double(try raw(path) ?? "0") ?? 0 }
    public func optionalDouble(_ path: String) throws(TrainingError) -> Double? { try raw(path).flatMap(Double.init) }
    public func bool(_ path: String) throws(TrainingError) -> Bool { (try raw(path) ?? "false") == "true" }
    public func strings(_ path: String) throws(TrainingError) -> [String] {
        let text = try raw(path) ?? ""
        return text == Self.emptyList ? [] : text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Every key with its effective value, for logging as run parameters.
    public func effectiveValues() -> [(String, String)] {
        schema.compactMap { key in
            let v = values[key.path].flatMap { $0.isEmpty ? nil : $0 } ?? key.defaultValue
            return v.map { (key.path, $0) }
        }
    }

    /// The schema as documentation: one line per key with its type, default and help.
    public static func documentation(_ schema: [ConfigKey]) -> String {
        schema.map { key in
            let type: String = switch key.type {
            case .int: "int"
            case .double: "number"
            case .string: "text"
            case .bool: "bool"
            case .strings: "list"
            case .choice(let options): options.joined(separator: "|")
            }
            let def = key.required ? "required" : "default \(key.defaultValue ?? "none")"
            return "  \(key.path) (\(type), \(def)): \(key.help)"
        }.joined(separator: "\n")
    }
}
