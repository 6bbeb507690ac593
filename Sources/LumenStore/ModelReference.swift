import Foundation

/// How a user names a registered model, parsed in one place for every command and route:
/// `NAME@ALIAS`, `NAME/VERSION`, `NAME` (the latest version), MLflow's `models:/NAME/VERSION`,
/// `models:/NAME@ALIAS`, and `runs:/RUN_ID/…` (the latest version registered from that run).
public enum ModelReference: Sendable, Equatable, CustomStringConvertible {
    case alias(name: String, alias: String)
    case version(name: String, version: Int64)
    case latest(name: String)
    case run(runID: String)

    /// Parses `text`; a malformed reference is an error that shows the accepted forms.
    public init(parsing text: String) throws {
        func refuse(_ why: String) -> StoreError {
            .invalidParameter("model reference '\(text.prefix(200))': \(why) (use NAME@ALIAS, NAME/VERSION, NAME, models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID)")
        }
        var body = text
        if body.hasPrefix("runs:/") {
            let run = body.dropFirst("runs:/".count).split(separator: "/", omittingEmptySubsequences: true).first.map(String.init) ?? ""
            guard !run.isEmpty, run.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else { throw refuse("no run id") }
            self = .run(runID: run)
            return
        }
        if body.hasPrefix("models:/") { body = String(body.dropFirst("models:/".count)) }
        guard !body.isEmpty else { throw refuse("empty") }
        if let at = body.lastIndex(of: "@") {
            let name = String(body[..<at]), alias = String(body[body.index(after: at)...])
            guard !name.isEmpty, !alias.isEmpty else { throw refuse("empty name or alias") }
            self = .alias(name: name, alias: alias)
        } else if let slash = body.lastIndex(of: "/"), let n = Int64(body[body.index(after: slash)...]) {
            let name = String(body[..<slash])
            guard !name.isEmpty else { throw refuse("empty name") }
            guard n >= 1 else { throw refuse("versions start at 1") }
            self = .version(name: name, version: n)
        } else {
            guard !body.contains("/") else { throw refuse("the version after '/' must be a number") }
            self = .latest(name: body)
        }
    }

    public var description: String {
        switch self {
        case let .alias(name, alias): "\(name)@\(alias)"
        case let .version(name, version): "\(name)/\(version)"
        case let .latest(name): name
        case let .run(runID): "runs:/\(runID)"
        }
    }
}

extension Store {
    /// The model version a reference names.
    public func modelVersion(_ reference: ModelReference) async throws -> ModelVersion {
        switch reference {
        // The model first: "no registered model 'nope'" says more than "alias champion not found".
        case let .alias(name, alias):
            _ = try await registeredModel(name: name)
            return try await modelVersion(name: name, alias: alias)
        case let .version(name, version):
            _ = try await registeredModel(name: name)
            return try await modelVersion(name: name, version: version)
        case let .latest(name):
            _ = try await registeredModel(name: name)
            guard let latest = try await modelVersions(name: name, runID: nil).max(by: { $0.version < $1.version }) else {
                throw StoreError.notFound("registered model '\(name)' has no versions")
            }
            return latest
        case let .run(runID):
            guard let latest = try await modelVersions(name: nil, runID: runID).max(by: { ($0.creationTime, $0.version) < ($1.creationTime, $1.version) }) else {
                throw StoreError.notFound("no model version was registered from run \(runID) (lumen models register \(runID) NAME)")
            }
            return latest
        }
    }
}

extension ModelReference {
    /// Checks a registered model name before any work is done (`lumen train --register NAME` refuses a bad
    /// name before training, not after).
    public static func checkName(_ name: String) throws { try Validation.modelName(name) }

    /// Checks an alias name (`champion`, `production`).
    public static func checkAlias(_ alias: String) throws { try Validation.alias(alias) }
}
