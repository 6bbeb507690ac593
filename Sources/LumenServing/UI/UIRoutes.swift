import Foundation
import HTTPTypes
import Hummingbird
import LumenMonitoring
import LumenStore
import LumenWorkspace

/// The web UI: experiments and their runs (a table paged on the server, filtered with MLflow's search
/// language, sorted by any column), a run (metrics as charts, params, tags, its model versions), the
/// registered models and their versions (aliases moved from the page by an admin), and `/` with MLflow's
/// `#/experiments/…` links. With auth on, a login page keeps the token in an HttpOnly cookie.
struct UIRoutes {
    let store: any Store
    var artifacts: ArtifactStore? = nil
    /// The models this server serves (for the predict page), when it serves any.
    var host: ModelHost? = nil

    /// Header set by the auth middleware: the role of the request's token (absent: auth is off, everything allowed).
    static let roleHeader = HTTPField.Name("X-Lumen-Role")!

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { request, _ in Self.html(UITemplates.render("home", Self.base(request, title: "Lumen"))) }
        router.get("/ui") { _, _ in Response(status: .seeOther, headers: [.location: "/ui/experiments"]) }
        router.get("/ui/experiments") { request, _ in try await experiments(request) }
        router.get("/ui/experiments/:id") { request, context in try await runs(request, id: context.parameters.get("id") ?? "") }
        router.get("/ui/runs/:id") { request, context in try await run(request, id: context.parameters.get("id") ?? "") }
        router.get("/ui/models") { request, _ in try await models(request) }
        router.get("/ui/models/:name") { request, context in try await model(request, name: context.parameters.get("name") ?? "", message: nil) }
        router.post("/ui/models/:name/alias") { request, context in try await moveAlias(request, context: context, name: context.parameters.get("name") ?? "") }
        router.get("/ui/login") { request, _ in
            var c = Self.base(request, title: "Sign in")
            c["next"] = request.uri.queryParameters.get("next") ?? "/ui/experiments"
            return Self.html(UITemplates.render("login", c))
        }
        router.post("/ui/login") { request, context in try await login(request, context: context) }
        router.get("/ui/compare") { request, _ in try await compare(request) }
        router.get("/ui/datasets") { request, _ in try await datasets(request) }
        router.get("/ui/datasets/:name/:id") { request, context in try await dataset(request, name: context.parameters.get("name") ?? "", id: context.parameters.get("id") ?? "") }
        router.get("/ui/datasets/:name/:id/thumbnail/:sha") { request, context in
            try await thumbnail(request, name: context.parameters.get("name") ?? "", id: context.parameters.get("id") ?? "", sha: context.parameters.get("sha") ?? "")
        }
        router.get("/ui/predict/:name") { request, context in try await predictPage(request, name: context.parameters.get("name") ?? "") }
        router.post("/ui/render") { request, _ in try await render(request) }
        router.get("/ui/runs/:id/artifact") { request, context in try await artifact(request, runID: context.parameters.get("id") ?? "") }
        router.get("/ui/models/:name/monitor") { request, context in try await monitor(request, name: context.parameters.get("name") ?? "") }
    }

    // MARK: Helpers

    static func html(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                                           HTTPField.Name("Content-Security-Policy")!: "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'"],
                 body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func base(_ request: Request, title: String) -> [String: Any] {
        var c: [String: Any] = ["title": title]
        if let role = request.headers[roleHeader] { c["role"] = role }
        return c
    }

    /// Whether the request may move aliases (auth off, or an admin token).
    static func isAdmin(_ request: Request) -> Bool {
        guard let role = request.headers[roleHeader] else { return true }
        return role == TokenRole.admin.rawValue
    }

    static func time(_ ms: Int64?) -> String {
        guard let ms else { return "–" }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    static func number(_ v: Double) -> String {
        v.isNaN ? "NaN" : abs(v) >= 1e5 || (abs(v) < 1e-3 && v != 0) ? String(format: "%.4e", v) : String(format: "%.4f", v)
    }

    func notFound(_ request: Request, _ message: String) -> Response {
        var c = Self.base(request, title: "Not found")
        c["message"] = message
        return Self.html(UITemplates.render("notFound", c), status: .notFound)
    }

    /// The query string as an HTML form sends it (`+` is a space, then percent-decoding), so that what the user typed arrives as typed.
    static func formQuery(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for pair in (request.uri.query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if parts.count == 2, out[parts[0]] == nil { out[parts[0]] = parts[1] }
        }
        return out
    }

    static func query(_ items: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_.~")
        return items.filter { !$0.1.isEmpty }.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    }

    // MARK: Pages

    func experiments(_ request: Request) async throws -> Response {
        let list = try await store.experiments(includeDeleted: false)
        var c = Self.base(request, title: "Experiments")
        c["count"] = list.count
        c["experiments"] = list.map { e -> [String: Any] in
            ["id": e.id, "name": e.name, "created": Self.time(e.creationTime), "tags": e.tags.keys.sorted().filter { !$0.hasPrefix("mlflow.") }.map { "\($0)=\(e.tags[$0]!)" }]
        }
        return Self.html(UITemplates.render("experiments", c))
    }

    func runs(_ request: Request, id: String) async throws -> Response {
        guard let experiment = try? await store.experiment(id: id) else { return notFound(request, "no experiment \(id)") }
        let q = Self.formQuery(request)
        let filter = q["filter"] ?? "", order = q["order"] ?? "", token = q["page"].flatMap { $0.isEmpty ? nil : $0 }
        let per = min(max(Int(q["per"] ?? "") ?? 50, 1), 500)
        var c = Self.base(request, title: experiment.name)
        c["experiment"] = experiment.name
        c["experimentID"] = experiment.id
        c["filter"] = filter
        if !order.isEmpty { c["order"] = order }
        var page: RunPage?
        do {
            page = try await store.searchRuns(RunQuery(experimentIDs: [experiment.id], filter: filter, orderBy: order.isEmpty ? ["attributes.start_time DESC"] : [order],
                                                       maxResults: per, pageToken: token))
        } catch {
            c["error"] = "\(error)"
        }
        let found = page?.runs ?? []
        // Columns: the ones asked for, else the metrics and params of this page (at most 6 of each).
        func columns(_ asked: String?, _ found: [String]) -> [String] {
            if let asked, !asked.isEmpty { return asked.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            return Array(found.prefix(6))
        }
        let metricKeys = columns(q["metrics"], Array(Set(found.flatMap { $0.metrics.keys })).sorted())
        let paramKeys = columns(q["params"], Array(Set(found.flatMap { $0.params.keys })).sorted())
        c["metricColumns"] = metricKeys.joined(separator: ",")
        c["paramColumns"] = paramKeys.joined(separator: ",")
        let keep: [(String, String)] = [("filter", filter), ("metrics", q["metrics"] ?? ""), ("params", q["params"] ?? "")]
        func sortLink(_ key: String) -> (String, String) {
            let descending = order == key + " DESC"
            let next = descending ? key + " ASC" : key + " DESC"
            let arrow = order == key + " DESC" ? " ↓" : order == key + " ASC" ? " ↑" : ""
            return ("/ui/experiments/\(experiment.id)?" + Self.query(keep + [("order", next)]), arrow)
        }
        var headers: [[String: Any]] = []
        for (label, key) in [("Run", "attributes.run_name"), ("Status", "attributes.status"), ("Started", "attributes.start_time")]
            + metricKeys.map { ($0, "metrics.`\($0)`") } + paramKeys.map { ($0, "params.`\($0)`") } {
            let (link, arrow) = sortLink(key)
            headers.append(["label": label, "sortLink": link, "arrow": arrow])
        }
        c["columns"] = headers
        c["rows"] = found.map { r -> [String: Any] in
            var cells: [[String: Any]] = [["text": r.info.name.isEmpty ? r.info.runID : r.info.name, "link": "/ui/runs/\(r.info.runID)"],
                                          ["text": r.info.status.rawValue, "cls": "status-\(r.info.status.rawValue)"], ["text": Self.time(r.info.startTime)]]
            cells += metricKeys.map { k in ["text": r.metrics[k].map { Self.number($0.value) } ?? "", "cls": "num"] }
            cells += paramKeys.map { k in ["text": r.params[k] ?? ""] }
            return ["cells": cells]
        }
        c["shown"] = found.count
        if found.count >= 2 { c["compare"] = "/ui/compare?runs=" + found.prefix(10).map(\.info.runID).joined(separator: ",") }
        if let next = page?.nextPageToken {
            c["next"] = "/ui/experiments/\(experiment.id)?" + Self.query(keep + [("order", order), ("page", next), ("per", String(per))])
        }
        return Self.html(UITemplates.render("runs", c))
    }

    func run(_ request: Request, id: String) async throws -> Response {
        guard let run = try? await store.run(id: id) else { return notFound(request, "no run \(id)") }
        var c = Self.base(request, title: run.info.name.isEmpty ? run.info.runID : run.info.name)
        c["name"] = run.info.name.isEmpty ? run.info.runID : run.info.name
        c["runID"] = run.info.runID
        c["status"] = run.info.status.rawValue
        c["experimentID"] = run.info.experimentID
        c["started"] = Self.time(run.info.startTime)
        c["duration"] = run.info.endTime.map { String(format: "%.1f s", Double($0 - run.info.startTime) / 1000) } ?? "running"
        let keys = run.metrics.keys.sorted()
        c["metrics"] = keys.map { k in ["key": k, "value": Self.number(run.metrics[k]!.value), "step": run.metrics[k]!.step] as [String: Any] }
        var charts: [[String: Any]] = []
        for k in keys.prefix(24) {
            let history = try await store.metricHistory(runID: run.info.runID, key: k).sorted { ($0.step, $0.timestamp) < ($1.step, $1.timestamp) }
            guard history.count >= 2 else { continue }
            let finite = history.filter { $0.value.isFinite }
            let values = finite.map(\.value)
            guard values.count >= 2 else { continue }
            let lo = values.min()!, hi = max(values.max()!, lo + 1e-12)
            let w = 360.0, h = 180.0, pw = w - 50, ph = h - 40
            let points = values.enumerated().map { i, v in
                String(format: "%.1f,%.1f", 40 + Double(i) / Double(values.count - 1) * pw, 10 + (1 - (v - lo) / (hi - lo)) * ph)
            }.joined(separator: " ")
            charts.append(["key": k, "width": Int(w), "height": Int(h), "plotWidth": Int(pw), "plotHeight": Int(ph), "points": points,
                           "values": values.map { String($0) }.joined(separator: ","), "steps": finite.map { String($0.step) }.joined(separator: ","),
                           "times": finite.map { String($0.timestamp) }.joined(separator: ","),
                           "min": Self.number(lo), "max": Self.number(hi), "bottom": Int(10 + ph), "axis": Int(h - 6), "right": Int(40 + pw),
                           "firstStep": history.first!.step, "lastStep": history.last!.step, "last": Self.number(values.last!), "count": values.count])
        }
        c["charts"] = charts
        c["hasCharts"] = !charts.isEmpty
        c["params"] = run.params.keys.sorted().map { ["key": $0, "value": run.params[$0]!] }
        c["tags"] = run.tags.keys.sorted().filter { !$0.hasPrefix("mlflow.log-model") }.map { ["key": $0, "value": String(run.tags[$0]!.prefix(500))] }
        let versions = (try? await store.modelVersions(name: nil, runID: run.info.runID)) ?? []
        var rows: [[String: Any]] = []
        for v in versions {
            let aliases = (try? await store.registeredModel(name: v.name).aliases.filter { $0.value == v.version }.keys.sorted()) ?? []
            rows.append(["name": v.name, "version": v.version, "aliases": aliases])
        }
        c["versions"] = rows
        c["artifacts"] = try await artifactRows(run)
        return Self.html(UITemplates.render("run", c))
    }

    func models(_ request: Request) async throws -> Response {
        let list = try await store.registeredModels(nameLike: nil)
        var c = Self.base(request, title: "Models")
        c["models"] = list.map { m -> [String: Any] in
            ["name": m.name, "latest": m.latestVersion.map(String.init) ?? "–", "updated": Self.time(m.lastUpdatedTime),
             "aliases": m.aliases.keys.sorted().map { "@\($0) → \(m.aliases[$0]!)" }]
        }
        return Self.html(UITemplates.render("models", c))
    }

    func model(_ request: Request, name: String, message: (String, Bool)?) async throws -> Response {
        guard let registered = try? await store.registeredModel(name: name) else { return notFound(request, "no registered model \(name)") }
        let versions = try await store.modelVersions(name: name, runID: nil).sorted { $0.version > $1.version }
        var c = Self.base(request, title: name)
        c["name"] = name
        if !registered.description.isEmpty { c["description"] = registered.description }
        c["admin"] = Self.isAdmin(request)
        if let (text, ok) = message {
            c["message"] = text
            c["messageClass"] = ok ? "" : "error"
        }
        if let host { c["served"] = (try? await host.model(name)) != nil }
        c["versions"] = versions.map { v -> [String: Any] in
            let architecture = v.spec.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .flatMap { ($0["architecture"] as? [String: Any])?["name"] as? String } ?? "–"
            var row: [String: Any] = ["version": v.version, "aliases": registered.aliases.filter { $0.value == v.version }.keys.sorted(), "created": Self.time(v.creationTime),
                    "architecture": architecture, "reference": v.tags[ReferenceProfile.tag] != nil,
                    "gate": v.tags["lumen.gate"] != nil, "challenge": v.tags["lumen.challenge"] != nil]
            if let run = v.runID, !run.isEmpty { row["runID"] = run }
            return row
        }
        // The lineage and card of the version the main alias names (else the newest).
        if let shown = (registered.aliases["champion"] ?? registered.aliases["production"]).flatMap({ a in versions.first { $0.version == a } }) ?? versions.first {
            var lineage: [String: Any] = ["version": shown.version, "aliases": registered.aliases.filter { $0.value == shown.version }.keys.sorted()]
            if let l = try? await store.lineage(name: name, version: shown.version) {
                lineage["datasets"] = l.datasets.map { ["dataset": $0.dataset, "datasetVersion": $0.version, "short": String($0.version.prefix(12)), "context": $0.context] }
                if let run = l.run { lineage["runID"] = run.info.runID; lineage["runShort"] = String(run.info.runID.prefix(8)) }
            }
            if let host, let served = try? await host.model(name), served.version.version == shown.version { lineage["servedVersion"] = true }
            c["lineage"] = lineage
            c["card"] = try? await modelCard(shown)
            c["monitored"] = shown.tags[ReferenceProfile.tag] != nil
        }
        // Evaluation reports (lumen evaluate) of every version, newest first.
        if let evaluation = try? await store.experiment(named: "evaluation") {
            let page = try? await store.searchRuns(RunQuery(experimentIDs: [evaluation.id], orderBy: ["attributes.start_time DESC"], maxResults: 200))
            let evaluations = (page?.runs ?? []).filter { ($0.tags["lumen.evaluates"] ?? "").hasPrefix(name + "/") }.prefix(20).map { r -> [String: Any] in
                ["runID": r.info.runID, "model": r.tags["lumen.evaluates"] ?? "", "dataset": r.tags["lumen.dataset"] ?? "", "split": r.params["split"] ?? "",
                 "when": Self.time(r.info.startTime), "auc": r.metrics["roc_auc"].map { Self.number($0.value) } ?? "–",
                 "accuracy": r.metrics["accuracy"].map { Self.number($0.value) } ?? "–"]
            }
            if !evaluations.isEmpty {
                c["evaluations"] = Array(evaluations)
                c["hasEvaluations"] = true
            }
        }
        return Self.html(UITemplates.render("model", c))
    }

    /// A form field of an `application/x-www-form-urlencoded` body.
    static func form(_ request: Request, context: BasicRequestContext) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let text = String(buffer: buffer)
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            if parts.count == 2 { out[parts[0]] = parts[1] }
        }
        return out
    }

    func moveAlias(_ request: Request, context: BasicRequestContext, name: String) async throws -> Response {
        guard Self.isAdmin(request) else { return try await model(request, name: name, message: ("moving an alias needs an admin token", false)) }
        // A form posted from another site is refused (the session cookie is SameSite=Strict too).
        if let origin = request.headers[.origin], let authority = request.head.authority, URL(string: origin)?.host.map({ authority.hasPrefix($0) }) != true {
            return Self.html("cross-site request refused", status: .forbidden)
        }
        let fields = try await Self.form(request, context: context)
        guard let alias = fields["alias"], alias.range(of: #"^[A-Za-z0-9_-]{1,100}$"#, options: .regularExpression) != nil,
              let version = fields["version"].flatMap(Int64.init) else {
            return try await model(request, name: name, message: ("an alias (letters, digits, _ and -) and a version are needed", false))
        }
        do {
            try await store.setAlias(name: name, alias: alias, version: version)
        } catch {
            return try await model(request, name: name, message: ("\(error)", false))
        }
        return try await model(request, name: name, message: ("@\(alias) now points to version \(version)", true))
    }

    func login(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let fields = try await Self.form(request, context: context)
        var next = fields["next"] ?? "/ui/experiments"
        if !next.hasPrefix("/") || next.hasPrefix("//") { next = "/ui/experiments" }
        guard let token = fields["token"], token.count <= 200, (try? await store.token(forSecret: token)) != nil else {
            var c = Self.base(request, title: "Sign in")
            c["error"] = "unknown or revoked token"
            c["next"] = next
            return Self.html(UITemplates.render("login", c), status: .unauthorized)
        }
        return Response(status: .seeOther, headers: [.location: next, .setCookie: "lumen_token=\(token); Path=/; HttpOnly; SameSite=Strict; Max-Age=43200"])
    }
}
