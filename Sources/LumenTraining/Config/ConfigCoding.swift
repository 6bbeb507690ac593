import Foundation
import Yams

/// A configuration value of any shape; objects keep their keys in order.
enum ConfigValue: Codable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([ConfigValue])
    case object([(String, ConfigValue)])

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: Key.self) {
            self = .object(try keyed.allKeys.map { ($0.stringValue, try keyed.decode(ConfigValue.self, forKey: $0)) })
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var items: [ConfigValue] = []
            while !unkeyed.isAtEnd { items.append(try unkeyed.decode(ConfigValue.self)) }
            self = .list(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null }
        else if let b = try? single.decode(Bool.self) { self = .bool(b) }
        else if let i = try? single.decode(Int.self) { self = .int(i) }
        else if let d = try? single.decode(Double.self) { self = .double(d) }
        else { self = .string(try single.decode(String.self)) }
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .null: var c = encoder.singleValueContainer(); try c.encodeNil()
        case .bool(let b): var c = encoder.singleValueContainer(); try c.encode(b)
        case .int(let i): var c = encoder.singleValueContainer(); try c.encode(i)
        case .double(let d): var c = encoder.singleValueContainer(); try c.encode(d)
        case .string(let s): var c = encoder.singleValueContainer(); try c.encode(s)
        case .list(let items):
            var c = encoder.unkeyedContainer()
            for item in items { try c.encode(item) }
        case .object(let pairs):
            var c = encoder.container(keyedBy: Key.self)
            for (k, v) in pairs { try c.encode(v, forKey: Key(stringValue: k)) }
        }
    }

    /// As a YAML node: numbers in plain decimal (`0.1`, not Yams' `1e-1`, which YAML 1.1 readers such as PyYAML
    /// take for a string), lists in flow style, strings quoted where they would read as another type.
    func node() throws -> Node {
        switch self {
        case .null: return Node("null", Tag(.null))
        case .bool(let b): return try b.represented()
        case .int(let i): return try i.represented()
        case .double(let d):
            var text = "\(d)"  // shortest round-trip form: 0.1, 0.0001, 1e-05, 3.0
            if text.contains("e"), !text.contains(".") { text = text.replacingOccurrences(of: "e", with: ".0e") }
            return Node(text, Tag(.float))
        case .string(let s): return try s.represented()
        case .list(let items): return Node(try items.map { try $0.node() }, Tag(.seq), .flow)
        case .object(let pairs): return Node(try pairs.map { (Node($0.0), try $0.1.node()) })
        }
    }

    /// Sets `value` at a dotted path, making the sections on the way (in the order first seen).
    mutating func set(_ path: ArraySlice<Substring>, _ value: ConfigValue) {
        guard let head = path.first else { self = value; return }
        guard case .object(var pairs) = self else { self = .object([]); set(path, value); return }
        let key = String(head)
        if let i = pairs.firstIndex(where: { $0.0 == key }) {
            pairs[i].1.set(path.dropFirst(), value)
        } else {
            var child = ConfigValue.object([])
            child.set(path.dropFirst(), value)
            pairs.append((key, child))
        }
        self = .object(pairs)
    }
}

/// `Codable`: an experiment config encodes as its resolved values (the file, the overrides and every default,
/// nested by section and typed: numbers, booleans, lists), and decodes through the same checks as YAML, so
/// an unknown key or a value of the wrong type is refused with its path.
extension ExperimentConfig: Codable {
    public func encode(to encoder: any Encoder) throws {
        try resolved.encode(to: encoder)
    }

    public init(from decoder: any Decoder) throws {
        let value = try ConfigValue(from: decoder)
        // JSON is YAML: the decoded values go through the one reader that checks every key.
        let text = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        do { try self.init(yaml: text, source: "decoded config") } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)"))
        }
    }

    /// The resolved config as nested, typed values (keys without a value or default are left out).
    var resolved: ConfigValue {
        var root = ConfigValue.object([])
        for (path, text) in tree.effectiveValues() {
            guard let key = Self.schema.first(where: { $0.path == path }) else { continue }
            let value: ConfigValue = switch key.type {
            case .int: Int(text).map(ConfigValue.int) ?? .string(text)
            case .double: Double(text).map(ConfigValue.double) ?? .string(text)
            case .bool: Bool(text).map(ConfigValue.bool) ?? .string(text)
            case .strings: .list(text == ConfigTree.emptyList ? [] : text.split(separator: ",").map { .string(String($0)) })
            case .string, .choice: .string(text)
            }
            root.set(path.split(separator: ".")[...], value)
        }
        return root
    }

    /// The resolved config as YAML (`lumen train … --print-config`): reading it back gives the same config.
    public func resolvedYAML() throws -> String {
        try Yams.serialize(node: resolved.node())
    }
}
