import Foundation

/// MLflow's limits and naming rules, so that what Lumen accepts MLflow's clients accept too.
enum Validation {
    static let maxEntityKey = 250
    static let maxParamValue = 6000
    static let maxTagValue = 8000
    static let maxExperimentName = 500
    static let maxBatchMetrics = 1000, maxBatchParams = 100, maxBatchTags = 100, maxBatchTotal = 1000

    private static let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "_-. /"))

    /// Keys are 1…250 characters of letters, digits, `_ - . /` and spaces, and not path traversal.
    static func key(_ key: String, _ kind: String) throws {
        guard !key.isEmpty else { throw StoreError.invalidParameter("\(kind) key must not be empty") }
        guard key.count <= maxEntityKey else { throw StoreError.invalidParameter("\(kind) key '\(key.prefix(40))…' exceeds \(maxEntityKey) characters") }
        guard key.unicodeScalars.allSatisfy({ allowed.contains($0) }) else {
            throw StoreError.invalidParameter("invalid \(kind) key '\(key)': names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/)")
        }
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !key.hasPrefix("/"), !parts.contains("..") else {
            throw StoreError.invalidParameter("invalid \(kind) key '\(key)': it must not be an absolute path or contain '..'")
        }
    }

    static func batch(metrics: [Metric], params: [Param], tags: [Tag]) throws {
        guard metrics.count <= maxBatchMetrics, params.count <= maxBatchParams, tags.count <= maxBatchTags,
              metrics.count + params.count + tags.count <= maxBatchTotal else {
            throw StoreError.invalidParameter("a batch may hold at most \(maxBatchMetrics) metrics, \(maxBatchParams) params, \(maxBatchTags) tags and \(maxBatchTotal) items in all; got \(metrics.count), \(params.count), \(tags.count)")
        }
        for m in metrics { try key(m.key, "metric") }
        for p in params {
            try key(p.key, "param")
            guard p.value.count <= maxParamValue else { throw StoreError.invalidParameter("param '\(p.key)' value exceeds \(maxParamValue) characters") }
        }
        for t in tags {
            try key(t.key, "tag")
            guard t.value.count <= maxTagValue else { throw StoreError.invalidParameter("tag '\(t.key)' value exceeds \(maxTagValue) characters") }
        }
        var seen: [String: String] = [:]
        for p in params {
            if let v = seen[p.key], v != p.value {
                throw StoreError.invalidParameter("duplicate param '\(p.key)' in one batch with different values ('\(v)', '\(p.value)')")
            }
            seen[p.key] = p.value
        }
    }

    static func experimentName(_ name: String) throws {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw StoreError.invalidParameter("experiment name must not be empty") }
        guard name.count <= maxExperimentName else { throw StoreError.invalidParameter("experiment name exceeds \(maxExperimentName) characters") }
    }

    static func modelName(_ name: String) throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 256 else {
            throw StoreError.invalidParameter("registered model name must be 1…256 characters")
        }
        guard !name.contains("/"), !name.contains(":"), !name.contains("@") else {
            throw StoreError.invalidParameter("invalid registered model name '\(name)': it must not contain '/', ':' or '@'")
        }
    }

    /// Aliases: letters, digits, `_` and `-`, not starting with a digit-only `v<N>` form (MLflow reserves those).
    static func alias(_ alias: String) throws {
        let ok = !alias.isEmpty && alias.count <= 255 && alias.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-" }
        let reserved = alias.lowercased() == "latest" || (alias.lowercased().hasPrefix("v") && Int(alias.dropFirst()) != nil)
        guard ok, !reserved else {
            throw StoreError.invalidParameter("invalid alias '\(alias)': use letters, digits, '_' and '-'; 'latest' and 'v<number>' are reserved")
        }
    }

    /// Run and experiment ids come from outside: check their shape before they reach a query.
    static func runID(_ id: String) throws {
        guard !id.isEmpty, id.count <= 64, id.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "-" }) else {
            throw StoreError.invalidParameter("invalid run id '\(id.prefix(70))'")
        }
    }

    /// Logged-model names, as MLflow's: non-empty, at most 500 characters, none of `/ : . % " '`.
    static func loggedModelName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 500, !name.contains(where: { "/:.%\"'".contains($0) }) else {
            throw StoreError.invalidParameter("Invalid model name ('\(name.prefix(80))') provided. Model name must be a non-empty string of at most 500 characters and cannot contain / : . % \" '")
        }
    }

    /// Logged-model ids (`m-` and hex digits) come from outside: check their shape before they reach a query.
    static func loggedModelID(_ id: String) throws {
        guard id.hasPrefix("m-"), id.count <= 64, id.dropFirst(2).unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "-" }) else {
            throw StoreError.invalidParameter("invalid logged model id '\(id.prefix(70))': expected m-<hex>")
        }
    }

    static func experimentID(_ id: String) throws -> Int64 {
        guard let n = Int64(id), n >= 0 else { throw StoreError.invalidParameter("invalid experiment id '\(id.prefix(70))': expected a number") }
        return n
    }
}
