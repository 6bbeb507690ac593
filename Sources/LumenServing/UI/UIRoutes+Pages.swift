import Foundation
import HTTPTypes
import Hummingbird
import LumenData
import LumenImaging
import LumenInference
import LumenMonitoring
import LumenStore
import LumenWorkspace

/// The UI's comparison, dataset and predict pages.
extension UIRoutes {
    static let palette = ["#1f5fa8", "#d1495b", "#2e933c", "#e07b24", "#7b3fa0", "#1b998b", "#8a6d1d", "#c2185b", "#455a64", "#00838f"]

    // MARK: Compare

    func compare(_ request: Request) async throws -> Response {
        let ids = (request.uri.queryParameters.get("runs") ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty }
        guard (2...10).contains(ids.count) else { return notFound(request, "compare takes 2 to 10 runs: /ui/compare?runs=ID,ID") }
        var runs: [Run] = []
        for id in ids {
            guard let r = try? await store.run(id: id) else { return notFound(request, "no run \(id)") }
            runs.append(r)
        }
        var c = Self.base(request, title: "Compare runs")
        c["count"] = runs.count
        let paramKeys = Array(Set(runs.flatMap { $0.params.keys })).sorted().prefix(12)
        let metricKeys = Array(Set(runs.flatMap { $0.metrics.keys })).sorted().prefix(12)
        c["paramKeys"] = Array(paramKeys)
        c["metricKeys"] = Array(metricKeys)
        c["rows"] = runs.enumerated().map { i, r -> [String: Any] in
            ["name": r.info.name.isEmpty ? "run \(i + 1)" : r.info.name, "runID": r.info.runID, "color": Self.palette[i % Self.palette.count],
             "cells": (paramKeys.map { r.params[$0] ?? "" } + metricKeys.map { k in r.metrics[k].map { Self.number($0.value) } ?? "" })
                .map { ["text": $0, "cls": Double($0) != nil ? "num" : ""] }]
        }
        // Parallel coordinates over numeric params and metrics.
        var axes: [(label: String, values: [Double?])] = []
        for k in paramKeys {
            let v = runs.map { $0.params[k].flatMap(Double.init) }
            if v.compactMap({ $0 }).count >= 2 { axes.append((k, v)) }
        }
        for k in metricKeys { axes.append((k, runs.map { $0.metrics[k]?.value })) }
        if axes.count >= 2 {
            let width = max(360, 110 * axes.count), height = 240, top = 30.0, bottom = Double(height - 30)
            let xs = axes.indices.map { 50 + Double($0) * Double(width - 100) / Double(axes.count - 1) }
            var axisRows: [[String: Any]] = []
            var ranges: [(Double, Double)] = []
            for (i, a) in axes.enumerated() {
                let known = a.values.compactMap { $0 }.filter(\.isFinite)
                let lo = known.min() ?? 0, hi = max(known.max() ?? 1, lo + 1e-12)
                ranges.append((lo, hi))
                axisRows.append(["x": Int(xs[i]), "label": a.label, "low": Self.number(lo), "high": Self.number(hi), "bottom": Int(bottom), "below": Int(bottom) + 14])
            }
            let lines = runs.indices.map { r -> [String: Any] in
                let points = axes.indices.compactMap { i -> String? in
                    guard let v = axes[i].values[r], v.isFinite else { return nil }
                    return String(format: "%.1f,%.1f", xs[i], bottom - (v - ranges[i].0) / (ranges[i].1 - ranges[i].0) * (bottom - top))
                }.joined(separator: " ")
                return ["points": points, "color": Self.palette[r % Self.palette.count], "name": runs[r].info.name]
            }
            c["parallel"] = ["width": width, "height": height, "axes": axisRows, "lines": lines] as [String: Any]
        }
        // Overlaid metric curves.
        var charts: [[String: Any]] = []
        for k in metricKeys {
            var histories: [[Metric]] = []
            for r in runs { histories.append(try await store.metricHistory(runID: r.info.runID, key: k).sorted { $0.step < $1.step }) }
            let all = histories.flatMap { $0.map(\.value) }.filter(\.isFinite)
            let steps = histories.flatMap { $0.map(\.step) }
            // A metric logged once per run (a duration, a final score) is in the table, not drawn.
            guard histories.contains(where: { $0.count >= 2 }), all.count >= 2, let s0 = steps.min(), let s1 = steps.max() else { continue }
            let lo = all.min()!, hi = max(all.max()!, lo + 1e-12), span = Double(max(s1 - s0, 1))
            let series = histories.enumerated().compactMap { i, h -> [String: Any]? in
                guard !h.isEmpty else { return nil }
                let points = h.filter { $0.value.isFinite }.map { String(format: "%.1f,%.1f", 40 + Double($0.step - s0) / span * 310, 10 + (1 - ($0.value - lo) / (hi - lo)) * 160) }
                return ["points": points.joined(separator: " "), "color": Self.palette[i % Self.palette.count], "name": runs[i].info.name]
            }
            charts.append(["key": k, "series": series, "min": Self.number(lo), "max": Self.number(hi)])
        }
        c["charts"] = charts
        return Self.html(UITemplates.render("compare", c))
    }

    // MARK: Datasets

    func datasets(_ request: Request) async throws -> Response {
        let records = try await store.datasetVersions(name: nil).reversed()
        var c = Self.base(request, title: "Datasets")
        c["versions"] = records.map { r -> [String: Any] in
            ["name": r.name, "id": r.versionID, "short": String(r.versionID.prefix(12)), "created": Self.time(r.created), "task": r.task, "files": r.files,
             "classes": r.classes.joined(separator: ", "), "parent": r.parent.map { String($0.prefix(12)) } ?? ""]
        }
        return Self.html(UITemplates.render("datasets", c))
    }

    /// A dataset version from the store's index and the artifact store (what every replica sees).
    func datasetVersion(_ name: String, _ id: String) async throws -> (DatasetVersion, DatasetRepository)? {
        guard let artifacts, let record = try await store.datasetVersions(name: name).first(where: { $0.versionID == id }) else { return nil }
        let folder = artifacts.root.appendingPathComponent(record.manifestPath).deletingLastPathComponent().deletingLastPathComponent()
        let repository = DatasetRepository(folder: folder, artifacts: artifacts)
        guard let version = try? repository.resolve("\(name):\(id)") else { return nil }
        return (version, repository)
    }

    func dataset(_ request: Request, name: String, id: String) async throws -> Response {
        guard let (version, _) = try await datasetVersion(name, id) else { return notFound(request, "no dataset version \(name):\(id)") }
        var c = Self.base(request, title: "\(name) \(id.prefix(12))")
        c["name"] = name
        c["id"] = version.id
        c["task"] = version.task.rawValue
        c["files"] = version.entries.count
        c["created"] = Self.time(Int64(version.createdAt.timeIntervalSince1970 * 1000))
        if let parent = version.parent { c["parent"] = parent; c["parentShort"] = String(parent.prefix(12)) }
        let classes = version.classes
        c["classes"] = classes
        let splits = Array(Set(version.entries.map { $0.split ?? "(none)" })).sorted()
        c["splits"] = splits.map { split -> [String: Any] in
            let members = version.entries.filter { ($0.split ?? "(none)") == split }
            return ["split": split, "counts": classes.map { k in members.filter { $0.labels.contains(k) }.count }, "total": members.count]
        }
        // Changes from another version (by default none is shown; the parent is preselected).
        let q = Self.formQuery(request)
        let others = try await store.datasetVersions(name: name).filter { $0.versionID != version.id }.reversed()
        let wanted = q["diff"]
        c["others"] = others.map { ["id": $0.versionID, "short": String($0.versionID.prefix(12)), "created": Self.time($0.created),
                                    "selected": $0.versionID == (wanted ?? version.parent ?? "")] as [String: Any] }
        if let wanted, let (old, _) = try await datasetVersion(name, wanted) {
            let d = version.diff(from: old)
            var rows: [[String: String]] = []
            rows += d.added.prefix(100).map { ["kind": "added", "path": $0, "detail": ""] }
            rows += d.removed.prefix(100).map { ["kind": "removed", "path": $0, "detail": ""] }
            rows += d.relabelled.prefix(100).map { ["kind": "relabelled", "path": $0.path, "detail": "\($0.from ?? "–") → \($0.to ?? "–")"] }
            rows += d.modified.prefix(100).map { ["kind": "modified", "path": $0, "detail": "new content"] }
            rows += d.resplit.prefix(100).map { ["kind": "moved split", "path": $0, "detail": ""] }
            c["diff"] = ["fromShort": String(old.id.prefix(12)), "added": d.added.count, "removed": d.removed.count, "relabelled": d.relabelled.count,
                         "modified": d.modified.count, "resplit": d.resplit.count, "rows": rows] as [String: Any]
        }
        if q["validate"] == "1", let (_, repository) = try await datasetVersion(name, id) {
            let report = await withCheckedContinuation { (continuation: CheckedContinuation<ValidationReport, Never>) in
                Thread { continuation.resume(returning: Validator.validate(version, repository: repository, threads: 2)) }.start()
            }
            var findings: [[String: String]] = []
            findings += report.unreadable.prefix(50).map { ["kind": "unreadable", "detail": "\($0.path): \($0.reason)"] }
            findings += report.duplicates.prefix(50).map { ["kind": "duplicates", "detail": $0.joined(separator: ", ")] }
            findings += report.leakage.groups.keys.sorted().prefix(50).map { ["kind": "patient in several splits", "detail": "\($0): \(report.leakage.groups[$0]!.joined(separator: ", "))"] }
            findings += report.leakage.duplicates.keys.sorted().prefix(50).map { ["kind": "same file in several splits", "detail": "\($0.prefix(12)): \(report.leakage.duplicates[$0]!.joined(separator: ", "))"] }
            findings += report.emptyMasks.prefix(50).map { ["kind": "empty mask", "detail": $0] }
            findings += report.maskSizeMismatches.prefix(50).map { ["kind": "mask size differs", "detail": $0] }
            findings.append(["kind": "sizes", "detail": report.sizes.keys.sorted().map { "\($0): \(report.sizes[$0]!)" }.joined(separator: ", ")])
            findings.append(["kind": "modalities", "detail": report.modalities.keys.sorted().map { "\($0): \(report.modalities[$0]!)" }.joined(separator: ", ")])
            findings.append(["kind": "bit depths", "detail": report.bitDepths.keys.sorted().map { "\($0): \(report.bitDepths[$0]!)" }.joined(separator: ", ")])
            c["validation"] = ["summary": report.isClean ? "Clean: \(report.files) files readable, no duplicate, no leakage between splits." : "Findings in \(report.files) files: see below.",
                               "cls": report.isClean ? "" : "error", "findings": findings] as [String: Any]
        }
        let shown = Array(version.entries.prefix(48))
        c["shownCount"] = shown.count
        c["thumbs"] = shown.map { ["name": name, "id": version.id, "sha": $0.sha256, "label": $0.label ?? "–", "split": $0.split ?? "–", "path": $0.path] }
        return Self.html(UITemplates.render("dataset", c))
    }

    /// A 96-pixel grey thumbnail of one image of a dataset version: pixels only (DICOM windowed with its own
    /// window, else the 1st–99th percentiles), never a header field.
    func thumbnail(_ request: Request, name: String, id: String, sha: String) async throws -> Response {
        guard let (version, repository) = try await datasetVersion(name, id), version.entries.contains(where: { $0.sha256 == sha }) else {
            return Response(status: .notFound)
        }
        do {
            let image = try ImageReader.read(try repository.bytes(sha), source: sha)
            let plane = try Plane(image, slice: image.depth / 2)
            let png = try Self.displayPNG(plane, window: image.window, width: 96, height: 96)
            return Response(status: .ok, headers: [.contentType: "image/png", .cacheControl: "private, max-age=3600"], body: .init(byteBuffer: ByteBuffer(bytes: png)))
        } catch {
            return Response(status: .unprocessableContent, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "cannot draw this image: \(error)")))
        }
    }

    /// A plane's first channel as a grey PNG of `width` × `height` (nearest neighbour): in `window`, or between
    /// its 1st and 99th percentiles. Pixels only.
    static func displayPNG(_ plane: Plane, window: Window?, width: Int, height: Int) throws -> [UInt8] {
        let grey = stride(from: 0, to: plane.values.count, by: plane.channels).map { plane.values[$0] }
        var lo: Float, hi: Float
        if let window {
            lo = Float(window.center - window.width / 2)
            hi = Float(window.center + window.width / 2)
        } else {
            let sorted = grey.sorted()
            lo = sorted[sorted.count / 100]
            hi = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        }
        if hi <= lo { hi = lo + 1e-6 }
        var pixels = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let v = grey[min(plane.height - 1, y * plane.height / height) * plane.width + min(plane.width - 1, x * plane.width / width)]
                pixels[y * width + x] = UInt8(max(0, min(255, (v - lo) / (hi - lo) * 255)))
            }
        }
        return try ImageWriter.encode(".png", data: pixels, width: width, height: height, channels: 1, type: .uint8)
    }

    // MARK: Predict

    /// The middle slice of an uploaded image as a PNG for display (at most 512 px), in a CT window preset
    /// (`?window=lung`, …), the file's own window, or its 1st–99th percentiles (`auto`). Pixels only.
    func render(_ request: Request) async throws -> Response {
        let preset = Self.formQuery(request)["window"] ?? "auto"
        let presets = ["auto", "file"] + WindowPreset.allCases.map(\.rawValue)
        guard presets.contains(preset) else {
            return Response(status: .badRequest, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "window '\(preset.prefix(40))': one of \(presets.joined(separator: ", "))")))
        }
        let buffer = try await request.body.collect(upTo: 64 * 1024 * 1024)
        do {
            let image = try ImageReader.read(Array(buffer.readableBytesView), source: "upload")
            let plane = try Plane(image, slice: image.depth / 2)
            let window: Window? = WindowPreset(rawValue: preset)?.window ?? (preset == "file" ? image.window : nil)
            let scale = min(1, 512 / Double(max(plane.width, plane.height)))
            let png = try Self.displayPNG(plane, window: window, width: max(1, Int(Double(plane.width) * scale)), height: max(1, Int(Double(plane.height) * scale)))
            return Response(status: .ok, headers: [.contentType: "image/png", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: png)))
        } catch {
            return Response(status: .unprocessableContent, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "cannot read this image: \(error)")))
        }
    }

    func predictPage(_ request: Request, name: String) async throws -> Response {
        var c = Self.base(request, title: "Predict with \(name)")
        c["name"] = name
        var served = false
        if let host { served = (try? await host.model(name)) != nil }
        c["served"] = served
        return Self.html(UITemplates.render("predict", c))
    }
}

// MARK: Artifacts, model cards, monitoring

extension UIRoutes {
    /// A run's artifacts (at most 200), with previews of small images and texts.
    func artifactRows(_ run: Run) async throws -> [[String: Any]] {
        let root = run.info.artifactURI.replacingOccurrences(of: "mlflow-artifacts:/", with: "")
        var out: [[String: Any]] = [], queue = [root], images = 0
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_.~/")
        while let dir = queue.first, out.count < 200 {
            queue.removeFirst()
            for e in (try? await store.listArtifacts(directory: dir)) ?? [] {
                if e.isDirectory { queue.append(e.path); continue }
                guard out.count < 200 else { break }
                let relative = String(e.path.dropFirst(root.count + 1))
                var row: [String: Any] = ["runID": run.info.runID, "path": relative, "query": relative.addingPercentEncoding(withAllowedCharacters: allowed) ?? relative,
                                          "size": e.size.map { ByteCountFormatter.string(fromByteCount: $0, countStyle: .file) } ?? ""]
                let ext = (relative as NSString).pathExtension.lowercased()
                if ["png", "jpg", "jpeg", "gif", "webp"].contains(ext), images < 8 {
                    row["image"] = true
                    row["open"] = true
                    images += 1
                } else if ["json", "txt", "md", "yaml", "yml", "csv", "log"].contains(ext), let sha = e.sha256, let artifacts, (e.size ?? 0) <= 1_000_000,
                          let data = try? Data(contentsOf: artifacts.url(for: sha)) {
                    let text = String(decoding: data, as: UTF8.self)
                    row["text"] = String(text.prefix(4000)) + (text.count > 4000 ? "\n…" : "")
                    row["open"] = relative.hasSuffix("model_card.md")
                }
                out.append(row)
            }
        }
        return out.sorted { ($0["path"] as! String) < ($1["path"] as! String) }
    }

    /// One artifact of a run, typed for the browser: images and plain text as they are; HTML (evaluation
    /// reports) sandboxed (no script, no form, no request elsewhere); anything else as a download.
    func artifact(_ request: Request, runID: String) async throws -> Response {
        guard let run = try? await store.run(id: runID), let artifacts else { return Response(status: .notFound) }
        let relative = Self.formQuery(request)["path"] ?? ""
        guard !relative.isEmpty, !relative.contains(".."), let path = try? ArtifactPath.validate(run.info.artifactURI.replacingOccurrences(of: "mlflow-artifacts:/", with: "") + "/" + relative),
              let entry = try await store.artifact(path: path), let sha = entry.sha256, let data = try? Data(contentsOf: artifacts.url(for: sha)) else {
            return notFound(request, "no artifact \(relative) in run \(runID)")
        }
        let ext = (relative as NSString).pathExtension.lowercased()
        let types = ["png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "json": "text/plain; charset=utf-8",
                     "txt": "text/plain; charset=utf-8", "md": "text/plain; charset=utf-8", "yaml": "text/plain; charset=utf-8", "yml": "text/plain; charset=utf-8",
                     "csv": "text/plain; charset=utf-8", "log": "text/plain; charset=utf-8", "html": "text/html; charset=utf-8", "htm": "text/html; charset=utf-8"]
        var headers: HTTPFields = [.contentType: types[ext] ?? "application/octet-stream", .cacheControl: "private, max-age=300",
                                   HTTPField.Name("X-Content-Type-Options")!: "nosniff"]
        if ext == "html" || ext == "htm" {
            headers[HTTPField.Name("Content-Security-Policy")!] = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        } else if types[ext] == nil {
            headers[.contentDisposition] = "attachment; filename=\"\((relative as NSString).lastPathComponent.replacingOccurrences(of: "\"", with: ""))\""
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The model card of a version registered by Lumen (its run's `model_card.md`).
    func modelCard(_ version: ModelVersion) async throws -> String? {
        guard let runID = version.runID, let artifacts, let run = try? await store.run(id: runID),
              let entry = try await store.artifact(path: "\(run.info.experimentID)/\(runID)/artifacts/model_card.md"), let sha = entry.sha256 else { return nil }
        return String(decoding: try Data(contentsOf: artifacts.url(for: sha)), as: UTF8.self)
    }

    /// The monitoring report of a model's main version over a window (default 7d): the same self-contained
    /// page as `lumen monitor --html` (drift per feature, embedding drift and scatter, alerts).
    func monitor(_ request: Request, name: String) async throws -> Response {
        guard let registered = try? await store.registeredModel(name: name), let artifacts else { return notFound(request, "no registered model \(name)") }
        let versionNumber = registered.aliases["champion"] ?? registered.aliases["production"] ?? registered.latestVersion
        guard let versionNumber, let version = try? await store.modelVersion(name: name, version: versionNumber) else { return notFound(request, "\(name) has no version") }
        guard let sha = version.tags[ReferenceProfile.tag], let profile = try? ReferenceProfile.decode(Data(contentsOf: artifacts.url(for: sha))) else {
            return notFound(request, "\(name) version \(versionNumber) has no reference profile (lumen monitor reference)")
        }
        let days = Double(Self.formQuery(request)["days"] ?? "") ?? 7
        let since = Clock.nowMillis() - Int64(max(days, 0.01) * 86_400_000)
        let logs = try await store.predictions(modelName: name, version: versionNumber, since: since, limit: 200_000)
        let classes = profile.outputs.keys.map { String($0.dropFirst(2)) }.sorted()
        let window = ReferenceProfile.window(features: logs.map(\.features), outputs: logs.map(\.outputs), classes: classes)
        guard window.count > 0 else { return notFound(request, "no prediction of \(name) version \(versionNumber) is logged in the last \(Int(days)) days") }
        var sections = DriftHTML.Sections()
        if let e = profile.embeddingDrift(window), let reference = profile.embeddings { sections.embeddings = (reference.rows, window.embeddings, e) }
        sections.alerts = try await store.alerts(openOnly: false, since: since, limit: 1000).filter { $0.model == name }
        // Per interval (a day; an hour for windows of 2 days or less): the drift share, and accuracy on the
        // predictions with ground truth with its Wilson 95 % interval.
        let step: Int64 = days <= 2 ? 3_600_000 : 86_400_000
        let spec = version.spec.flatMap { try? ModelSpec.decode($0, model: name) }
        let truth = try await store.feedback(for: logs.compactMap(\.id))
        var points: [(label: String, value: Double, low: Double, high: Double, count: Int)] = []
        var correctAll = 0, totalAll = 0
        for (start, members) in Dictionary(grouping: logs, by: { since + ($0.time - since) / step * step }).sorted(by: { $0.key < $1.key }) {
            let label = Self.time(start)
            let w = ReferenceProfile.window(features: members.map(\.features), outputs: members.map(\.outputs), classes: classes)
            if w.count >= 10 {
                let r = profile.drift(w)
                if !r.features.isEmpty { sections.driftOverTime.append((label, Double(r.driftedFeatures.count) / Double(r.features.count), w.count)) }
            }
            guard let spec else { continue }
            var correct = 0, total = 0
            for log in members {
                guard let id = log.id, let label = truth[id]?.label, let actual = spec.classes.firstIndex(of: label),
                      let out = try? JSONSerialization.jsonObject(with: Data(log.outputs.utf8)) as? [String: Any],
                      let predicted = (out["labels"] as? [NSNumber])?.first?.intValue else { continue }
                total += 1
                if predicted == actual { correct += 1 }
            }
            guard total > 0 else { continue }
            correctAll += correct
            totalAll += total
            let (low, high) = Self.wilson(correct, total)
            points.append((label, Double(correct) / Double(total), low, high, total))
        }
        if !points.isEmpty { sections.performance = ("accuracy (Wilson 95 % interval)", Double(correctAll) / Double(max(totalAll, 1)), points) }
        // Subgroups of the predictions with ground truth, by a logged feature (?by=patient_sex, the default when logged):
        // accuracy with its Wilson interval per group; a gap where two groups' intervals separate.
        if let spec {
            var groups: [String: (correct: Int, total: Int)] = [:]
            let by = Self.formQuery(request)["by"] ?? "patient_sex"
            for log in logs {
                guard let id = log.id, let label = truth[id]?.label, let actual = spec.classes.firstIndex(of: label),
                      let out = try? JSONSerialization.jsonObject(with: Data(log.outputs.utf8)) as? [String: Any],
                      let predicted = (out["labels"] as? [NSNumber])?.first?.intValue,
                      let features = try? JSONSerialization.jsonObject(with: Data(log.features.utf8)) as? [String: Any] else { continue }
                let key = (features[by] as? String) ?? "(none)"
                groups[key, default: (0, 0)].total += 1
                if predicted == actual { groups[key, default: (0, 0)].correct += 1 }
            }
            if groups.count >= 1 && groups.values.contains(where: { $0.total > 0 }) {
                let keys = groups.keys.sorted()
                let intervals = keys.map { Self.wilson(groups[$0]!.correct, groups[$0]!.total) }
                var gaps: [String] = []
                for i in keys.indices { for j in keys.indices where i != j && intervals[i].1 < intervals[j].0 { gaps.append("accuracy: \(keys[i]) below \(keys[j]) (intervals do not overlap)") } }
                sections.subgroups = ([by, "with ground truth", "accuracy (Wilson 95 % interval)"], keys.indices.map { i in
                    let g = groups[keys[i]]!
                    return [keys[i], String(g.total), String(format: "%.3f (%.3f–%.3f)", Double(g.correct) / Double(max(g.total, 1)), intervals[i].0, intervals[i].1)]
                }, gaps)
            }
        }
        let page = DriftHTML.render(profile.drift(window), title: "\(name) version \(versionNumber): the last \(Int(days)) days against \(profile.dataset) [\(profile.split)]",
                                    reference: profile.features.merging(profile.outputs) { a, _ in a }, current: window.features.merging(window.outputs) { a, _ in a },
                                    sections: sections)
        return Self.html(page.replacingOccurrences(of: "<body>", with: "<body><nav aria-label=\"back\"><a href=\"/ui/models/\(name)\">← \(name)</a></nav>"))
    }

    /// The Wilson score interval (95 %) of a proportion.
    static func wilson(_ successes: Int, _ n: Int) -> (Double, Double) {
        guard n > 0 else { return (.nan, .nan) }
        let z = 1.959963984540054, p = Double(successes) / Double(n), nn = Double(n)
        let center = (p + z * z / (2 * nn)) / (1 + z * z / nn)
        let half = z * (p * (1 - p) / nn + z * z / (4 * nn * nn)).squareRoot() / (1 + z * z / nn)
        return (max(0, center - half), min(1, center + half))
    }
}
