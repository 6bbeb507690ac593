import Foundation
import SQLKit

/// `search_logged_models`: the experiments' live models are read by SQL, then the filter, the dataset
/// scope and the ordering are applied as MLflow's server does (metrics compare by their latest value:
/// highest step, then timestamp, then value; models without a sort key come last; ties by newest, then id).
extension SQLStore {
    public func searchLoggedModels(_ query: LoggedModelQuery) async throws -> LoggedModelPage {
        guard (1...50_000).contains(query.maxResults) else {
            throw StoreError.invalidParameter("max_results must be between 1 and 50000, got \(query.maxResults)")
        }
        let experimentIDs = try query.experimentIDs.map(Validation.experimentID)
        let filter = try LoggedModelFilter(parsing: query.filter)
        let offset = try Self.decodePageToken(query.pageToken)
        let orders = try query.orderBy.map(LoggedModelOrdering.init)
        for d in query.datasets where d.name.isEmpty { throw StoreError.invalidParameter("`dataset_name` in the `datasets` clause must be specified.") }
        guard !experimentIDs.isEmpty else { return LoggedModelPage(models: [], nextPageToken: nil) }

        let ids = try await db.raw("""
            SELECT model_id FROM logged_models WHERE experiment_id IN (\(binds: experimentIDs)) AND lifecycle_stage = 'active'
            """).all().map { try $0.decode(column: "model_id", as: String.self) }
        let datasets = query.datasets
        func inScope(_ m: LoggedModelMetric, name: String?, digest: String?) -> Bool {
            if let name, m.datasetName != name { return false }
            if let digest, m.datasetDigest != digest { return false }
            return datasets.isEmpty || datasets.contains { d in m.datasetName == d.name && (d.digest == nil || m.datasetDigest == d.digest) }
        }
        func latest(_ model: LoggedModel, _ key: String, name: String? = nil, digest: String? = nil) -> Double? {
            var best: Metric?
            for m in model.metrics where m.metric.key == key && inScope(m, name: name, digest: digest) {
                let v = m.metric
                guard let b = best else { best = v; continue }
                let vValue = v.value.isNaN ? -Double.infinity : v.value, bValue = b.value.isNaN ? -Double.infinity : b.value
                if (v.step, v.timestamp, vValue) > (b.step, b.timestamp, bValue) { best = v }
            }
            return best?.value
        }

        var models = try await loggedModels(ids: ids).filter { filter.matches($0, latest: { latest($0, $1) }) }
        // Datasets without a metric clause keep the models that have some metric on those datasets (as MLflow).
        if !datasets.isEmpty && !filter.clauses.contains(where: { $0.entity == .metric }) {
            models = models.filter { m in m.metrics.contains { inScope($0, name: nil, digest: nil) } }
        }
        let keyed = models.map { m in (model: m, keys: orders.map { $0.key(of: m, latest: latest) }) }
        let sorted = keyed.sorted { a, b in
            for (i, order) in orders.enumerated() {
                switch (a.keys[i], b.keys[i]) {
                case (nil, nil): continue
                case (nil, _): return false
                case (_, nil): return true
                case let (x?, y?):
                    if x == y { continue }
                    return order.ascending ? x < y : y < x
                }
            }
            if !orders.contains(where: { $0.attribute == "creation_timestamp" }), a.model.creationTime != b.model.creationTime {
                return a.model.creationTime > b.model.creationTime
            }
            return a.model.id < b.model.id
        }.map(\.model)
        let page = Array(sorted.dropFirst(offset).prefix(query.maxResults))
        let next = offset + query.maxResults < sorted.count ? Self.encodePageToken(offset + query.maxResults) : nil
        return LoggedModelPage(models: page, nextPageToken: next)
    }
}

/// One `order_by` term of a logged-model search: an attribute or `metrics.KEY` (MLflow orders by nothing else).
struct LoggedModelOrdering {
    /// A comparable sort key: numbers before strings never mix, since one term always yields one kind.
    enum Key: Comparable { case number(Double), text(String) }

    var attribute: String?
    var metric: String?
    var ascending: Bool
    var datasetName: String?
    var datasetDigest: String?

    init(_ order: LoggedModelQuery.Order) throws {
        ascending = order.ascending
        datasetName = order.datasetName
        datasetDigest = order.datasetDigest
        let field = order.field.trimmingCharacters(in: .whitespaces)
        if field.hasPrefix("metrics.") {
            var key = String(field.dropFirst("metrics.".count))
            if key.count >= 2, let q = key.first, "`\"'".contains(q), key.last == q { key = String(key.dropFirst().dropLast()) }
            guard !key.isEmpty else { throw StoreError.invalidParameter("Invalid order by field name: \(field.prefix(80))") }
            metric = key
        } else if !field.contains(".") {
            let name = LoggedModelFilter.numericAttributes[field] ?? field
            guard LoggedModelFilter.stringAttributes.contains(name) || LoggedModelFilter.numericAttributes.values.contains(name) || name == "experiment_id" else {
                throw StoreError.invalidParameter("Invalid order by field name: \(field.prefix(80))")
            }
            attribute = name
        } else {
            throw StoreError.invalidParameter("Invalid order by field name: \(field.prefix(80)). Only metrics are supported.")
        }
        if metric == nil && (datasetName != nil || datasetDigest != nil) {
            throw StoreError.invalidParameter("dataset_name and dataset_digest may only be set when ordering by a metric")
        }
    }

    func key(of m: LoggedModel, latest: (LoggedModel, String, String?, String?) -> Double?) -> Key? {
        if let metric {
            guard let value = latest(m, metric, datasetName, datasetDigest), !value.isNaN else { return nil }
            return .number(value)
        }
        switch attribute {
        case "creation_timestamp": return .number(Double(m.creationTime))
        case "last_updated_timestamp": return .number(Double(m.lastUpdatedTime))
        case "experiment_id": return Double(m.experimentID).map(Key.number)
        case "status": return .text(m.status.rawValue)
        default: return LoggedModelFilter.attribute(m, attribute ?? "").map(Key.text)
        }
    }
}
