import Foundation
import Hummingbird
import LumenStore
import NIOCore

/// A parsed JSON request: fields read with MLflow's rules (protobuf JSON sends int64 as strings).
struct JSONBody: Sendable {
    let fields: [String: any Sendable]

    init(_ fields: [String: any Sendable]) { self.fields = fields }

    /// Reads a JSON object body (at most `limit` bytes), or the query string for GET requests.
    static func read(_ request: Request, limit: Int) async throws -> JSONBody {
        if request.method == .get || (request.method == .delete && request.uri.query != nil) {
            var out: [String: any Sendable] = [:]
            for pair in (request.uri.query ?? "").split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ s: Substring) -> String { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
                let key = decode(parts[0]), value = parts.count > 1 ? decode(parts[1]) : ""
                if let existing = out[key] as? [String] { out[key] = existing + [value] }
                else if let existing = out[key] as? String { out[key] = [existing, value] }
                else { out[key] = value }
            }
            return JSONBody(out)
        }
        let buffer = try await request.body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else { return JSONBody([:]) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
            throw StoreError.invalidParameter("request body is not a JSON object")
        }
        return JSONBody(object.mapValues { sendable($0) })
    }

    private static func sendable(_ value: Any) -> any Sendable {
        switch value {
        case let n as NSNumber: return n.doubleValue
        case let s as String: return s
        case let a as [Any]: return a.map { sendable($0) }
        case let d as [String: Any]: return d.mapValues { sendable($0) }
        default: return String(describing: value)
        }
    }

    func string(_ key: String) throws -> String {
        guard let value = optionalString(key), !value.isEmpty else {
            throw StoreError.invalidParameter("Missing value for required parameter '\(key)'.")
        }
        return value
    }

    func optionalString(_ key: String) -> String? {
        switch fields[key] {
        case let s as String: return s
        case let d as Double: return d == d.rounded() && abs(d) < 9.2e18 ? String(Int64(d)) : String(d)
        case let a as [String]: return a.first
        default: return nil
        }
    }

    func int64(_ key: String) throws -> Int64? {
        switch fields[key] {
        case nil: return nil
        case let d as Double where d == d.rounded() && abs(d) < 9.2e18: return Int64(d)
        case let s as String:
            guard let v = Int64(s) else { throw StoreError.invalidParameter("Invalid value \(s) for parameter '\(key)' supplied: expected an integer") }
            return v
        default: throw StoreError.invalidParameter("Invalid value for parameter '\(key)' supplied: expected an integer")
        }
    }

    /// A metric value: a number, or "NaN" / "Infinity" / "-Infinity" as protobuf JSON writes them.
    func double(_ key: String) throws -> Double {
        switch fields[key] {
        case let d as Double: return d
        case let s as String:
            switch s { case "NaN", "nan": return .nan; case "Infinity", "inf": return .infinity; case "-Infinity", "-inf": return -.infinity
            default:
                guard let v = Double(s) else { throw StoreError.invalidParameter("Invalid value \(s) for parameter '\(key)': expected a number") }
                return v
            }
        case nil: throw StoreError.invalidParameter("Missing value for required parameter '\(key)'.")
        default: throw StoreError.invalidParameter("Invalid value for parameter '\(key)': expected a number")
        }
    }

    func list(_ key: String) -> [any Sendable] {
        if let a = fields[key] as? [any Sendable] { return a }
        if let s = fields[key] as? String { return [s] }
        return []
    }

    func strings(_ key: String) -> [String] { list(key).compactMap { $0 as? String } }

    func objects(_ key: String) -> [JSONBody] {
        list(key).compactMap { ($0 as? [String: any Sendable]).map(JSONBody.init) }
    }

    /// `[{key, value}]` as MLflow sends tags.
    func keyValues(_ key: String) throws -> [(String, String)] {
        try objects(key).map { (try $0.string("key"), $0.optionalString("value") ?? "") }
    }
}

/// JSON out: numbers that JSON cannot hold become protobuf JSON's strings.
func jsonResponse(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.encode(object))))
}

