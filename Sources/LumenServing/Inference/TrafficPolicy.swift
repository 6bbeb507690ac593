import Foundation
import LumenStore

/// How a model name's traffic is shared between its versions: an A/B split by weights (sticky by a
/// request header when given), or a canary taking a percentage from the primary version; and a
/// shadow version that runs on a copy of the traffic, its answers logged and never returned.
/// Versions are named as in the registry: an alias (`challenger`), a version number (`3`), or a
/// full reference (`xray@challenger`).
public struct TrafficPolicy: Sendable, Equatable {
    public struct Split: Sendable, Equatable {
        public var model: String
        public var weight: Double
        public init(model: String, weight: Double) { self.model = model; self.weight = weight }
    }
    public var split: [Split] = []
    public var canary: (model: String, percent: Double)?
    public var shadow: String?
    public var stickyHeader: String?

    public init(split: [Split] = [], canary: (model: String, percent: Double)? = nil, shadow: String? = nil, stickyHeader: String? = nil) {
        self.split = split
        self.canary = canary
        self.shadow = shadow
        self.stickyHeader = stickyHeader
    }

    public static func == (a: TrafficPolicy, b: TrafficPolicy) -> Bool {
        a.split == b.split && a.canary?.model == b.canary?.model && a.canary?.percent == b.canary?.percent && a.shadow == b.shadow && a.stickyHeader == b.stickyHeader
    }

    static let keys: Set<String> = ["split", "canary", "shadow", "sticky_header"]

    /// Reads a policy from JSON or YAML values; an unknown key, a negative weight, a percentage outside
    /// 0–100 or a split beside a canary is an error that names the field.
    public static func parse(_ object: Any, model: String) throws -> TrafficPolicy {
        func fail(_ why: String) -> ServingError { .badInput("traffic policy of '\(model)': \(why)") }
        guard let dict = object as? [String: Any] else { throw fail("must be a mapping with split, canary, shadow or sticky_header") }
        if let unknown = dict.keys.filter({ !keys.contains($0) }).sorted().first {
            throw fail("unknown key '\(unknown)' (keys: \(keys.sorted().joined(separator: ", ")))")
        }
        var policy = TrafficPolicy()
        if let raw = dict["split"] {
            guard let list = raw as? [Any], !list.isEmpty else { throw fail("split must be a non-empty list of {model, weight}") }
            for item in list {
                guard let entry = item as? [String: Any], let m = entry["model"].map({ "\($0)" }), !m.isEmpty else { throw fail("every split entry needs a model (alias or version)") }
                if let extra = entry.keys.first(where: { $0 != "model" && $0 != "weight" }) { throw fail("unknown key '\(extra)' in split (keys: model, weight)") }
                guard let w = (entry["weight"] as? NSNumber)?.doubleValue ?? (entry["weight"] as? String).flatMap(Double.init), w >= 0, w.isFinite else {
                    throw fail("split weight of '\(m)' must be a non-negative number")
                }
                policy.split.append(Split(model: m, weight: w))
            }
            guard policy.split.contains(where: { $0.weight > 0 }) else { throw fail("split weights must not all be 0") }
            guard Set(policy.split.map(\.model)).count == policy.split.count else { throw fail("split names a version twice") }
        }
        if let raw = dict["canary"] {
            guard policy.split.isEmpty else { throw fail("give either split or canary, not both") }
            guard let entry = raw as? [String: Any], let m = entry["model"].map({ "\($0)" }), !m.isEmpty else { throw fail("canary needs {model, percent}") }
            if let extra = entry.keys.first(where: { $0 != "model" && $0 != "percent" }) { throw fail("unknown key '\(extra)' in canary (keys: model, percent)") }
            guard let p = (entry["percent"] as? NSNumber)?.doubleValue, (0...100).contains(p) else { throw fail("canary percent must be a number from 0 to 100") }
            policy.canary = (m, p)
        }
        if let raw = dict["shadow"] {
            guard let m = raw as? String ?? (raw as? NSNumber).map({ "\($0)" }), !m.isEmpty else { throw fail("shadow must name a version (alias or number)") }
            policy.shadow = m
        }
        if let raw = dict["sticky_header"] {
            guard let h = raw as? String, !h.isEmpty, h.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else { throw fail("sticky_header must be a header name") }
            policy.stickyHeader = h
        }
        return policy
    }

    /// The policy as JSON values (what the admin route shows).
    public var json: [String: Any] {
        var out: [String: Any] = [:]
        if !split.isEmpty { out["split"] = split.map { ["model": $0.model, "weight": $0.weight] as [String: Any] } }
        if let canary { out["canary"] = ["model": canary.model, "percent": canary.percent] as [String: Any] }
        if let shadow { out["shadow"] = shadow }
        if let stickyHeader { out["sticky_header"] = stickyHeader }
        return out
    }

    /// What a version name in a policy refers to for the model `name`.
    static func reference(_ text: String, model name: String) throws -> ModelReference {
        if let n = Int64(text) { return .version(name: name, version: n) }
        if text.contains("@") || text.contains("/") || text.hasPrefix("models:/") {
            let reference = try ModelReference(parsing: text)
            switch reference {
            case let .alias(n, _) where n == name, let .version(n, _) where n == name: return reference
            default: throw ServingError.badInput("traffic policy of '\(name)': '\(text)' is not a version of \(name)")
            }
        }
        return .alias(name: name, alias: text)
    }
}

/// A policy with its versions resolved: weights per version (summing to 1) and the shadow version.
struct ResolvedRoutes: Sendable {
    var weights: [(version: Int64, role: String, weight: Double)]
    var shadow: Int64?
    var stickyHeader: String?
}

/// The versions answering a model's requests with their shares, and its shadow.
public struct RouteTable: Sendable, CustomStringConvertible {
    public var answer: [(version: Int64, role: String, weight: Double)]
    public var shadow: Int64?
    public var json: [String: Any] {
        var out: [String: Any] = ["answer": answer.map { ["version": $0.version, "role": $0.role, "weight": $0.weight] as [String: Any] }]
        if let shadow { out["shadow"] = shadow }
        return out
    }
    public var description: String {
        answer.map { "version \($0.version) (\($0.role)) \(String(format: "%.1f", 100 * $0.weight)) %" }.joined(separator: ", ")
            + (shadow.map { ", shadow version \($0)" } ?? "")
    }
}

/// Which version answers a request, and which one runs beside it in shadow.
public struct Route: Sendable {
    public let model: ServedModel
    /// `primary`, `split`, `canary` or `pinned`.
    public let role: String
    public let shadow: ServedModel?
}

extension ModelHost {
    /// Sets (or with nil removes) `name`'s traffic policy: every version it names is loaded and warmed
    /// up before the policy takes effect, and versions no longer named are released.
    public func setPolicy(_ policy: TrafficPolicy?, for name: String) async throws {
        _ = try model(name)
        let previous = policies[name]
        policies[name] = policy
        do {
            try await resolvePolicy(name)
        } catch {
            policies[name] = previous
            try? await resolvePolicy(name)
            throw error
        }
    }

    /// The policy of `name`, if any.
    public func policy(for name: String) -> TrafficPolicy? { policies[name] }

    /// Loads the versions `name`'s policy names now and recomputes its routes.
    func resolvePolicy(_ name: String) async throws {
        guard let primary = try? model(name) else { return }
        guard let policy = policies[name] else {
            routes[name] = nil
            releaseVariants(of: name, keeping: [])
            return
        }
        var loaded: [Int64: ServedModel] = [:]
        var weights: [(Int64, String, Double)] = []
        if !policy.split.isEmpty {
            let total = policy.split.reduce(0) { $0 + $1.weight }
            for s in policy.split { weights.append((try await variant(s.model, of: primary, into: &loaded).version.version, "split", s.weight / total)) }
        } else if let canary = policy.canary {
            let c = try await variant(canary.model, of: primary, into: &loaded)
            weights = [(primary.version.version, "primary", 1 - canary.percent / 100), (c.version.version, "canary", canary.percent / 100)]
        } else {
            weights = [(primary.version.version, "primary", 1)]
        }
        var shadow: Int64?
        if let s = policy.shadow { shadow = try await variant(s, of: primary, into: &loaded).version.version }
        let old = variants[name] ?? [:]
        variants[name] = loaded
        routes[name] = ResolvedRoutes(weights: weights, shadow: shadow, stickyHeader: policy.stickyHeader)
        for (v, m) in old where loaded[v] == nil && !isInUse(m.batcher) { pool.retire(m.batcher) }
    }

    /// The served model for a version a policy names: the primary, one loaded already, or a new one.
    private func variant(_ text: String, of primary: ServedModel, into loaded: inout [Int64: ServedModel]) async throws -> ServedModel {
        let name = primary.name
        let reference = try TrafficPolicy.reference(text, model: name)
        let version = try await store.modelVersion(reference)
        if version.version == primary.version.version { return primary }
        if let existing = loaded[version.version] ?? variants[name]?[version.version] {
            loaded[version.version] = existing
            return existing
        }
        let served = try await instantiate(version, reference: reference)
        loaded[version.version] = served
        return served
    }

    func releaseVariants(of name: String, keeping: Set<Int64>) {
        let old = variants[name] ?? [:]
        variants[name] = old.filter { keeping.contains($0.key) }
        for (v, m) in old where !keeping.contains(v) && !isInUse(m.batcher) { pool.retire(m.batcher) }
    }

    /// Whether an alias a policy names has moved since it was resolved.
    func policyMoved(_ name: String) async throws -> Bool {
        guard let policy = policies[name], let resolved = routes[name] else { return false }
        var named = policy.split.map(\.model) + (policy.canary.map { [$0.model] } ?? [])
        if let shadow = policy.shadow { named.append(shadow) }
        var now: Set<Int64> = []
        for text in named { now.insert(try await store.modelVersion(TrafficPolicy.reference(text, model: name)).version) }
        let then = Set(resolved.weights.map(\.version) + (resolved.shadow.map { [$0] } ?? []))
        return now.subtracting([try model(name).version.version]) != then.subtracting([try model(name).version.version])
    }

    /// The version that answers a request for `name`: the pinned `version` if given, else one drawn by
    /// the policy's weights (the same for the same sticky key), else the primary; with the shadow beside it.
    public func route(_ name: String, version: Int64?, stickyKey: String?) throws(ServingError) -> Route {
        if let version { return Route(model: try model(name, version: version), role: "pinned", shadow: nil) }
        let primary = try model(name)
        guard let resolved = routes[name] else { return Route(model: primary, role: "primary", shadow: nil) }
        let u: Double
        if let stickyKey { u = Self.unitHash(stickyKey) } else { u = Double.random(in: 0..<1) }
        var acc = 0.0
        var chosen = resolved.weights.last!
        for w in resolved.weights {
            acc += w.weight
            if u < acc { chosen = w; break }
        }
        let answering = chosen.version == primary.version.version ? primary : (variants[name]?[chosen.version] ?? primary)
        let shadow = resolved.shadow.flatMap { v in v == primary.version.version ? primary : variants[name]?[v] }
        return Route(model: answering, role: chosen.role, shadow: shadow === answering ? nil : shadow)
    }

    /// The versions that answer `name` with their shares, and the shadow (what the admin route shows).
    public func routeTable(_ name: String) -> RouteTable {
        guard let resolved = routes[name] else { return RouteTable(answer: [((try? model(name))?.version.version ?? 0, "primary", 1)], shadow: nil) }
        return RouteTable(answer: resolved.weights, shadow: resolved.shadow)
    }

    /// The sticky header of `name`'s policy, if any.
    public func stickyHeader(for name: String) -> String? { routes[name]?.stickyHeader }

    /// A key's place in [0, 1), the same in every replica: FNV-1a, then MurmurHash3's finaliser so
    /// that keys differing in their last character (patient-1, patient-2) spread over the whole range.
    static func unitHash(_ key: String) -> Double {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return Double(h >> 11) / Double(1 << 53)
    }
}
