import Foundation
import LumenStore

/// A self-contained HTML drift report (no script, no external file): the verdict, the per-feature table
/// and, for each numeric feature, the reference's and the window's distributions over the same bins.
public enum DriftHTML {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Two distributions as step lines over 30 shared bins (shares, so that sizes do not matter).
    static func histogram(_ reference: [Double], _ current: [Double]) -> String {
        let (r, c) = DriftStatistics.histograms(reference, current, bins: 30)
        let rs = r.map { $0 / max(r.reduce(0, +), 1) }, cs = c.map { $0 / max(c.reduce(0, +), 1) }
        let top = max(rs.max() ?? 0, cs.max() ?? 0, 1e-9)
        let w = 300.0, h = 120.0
        func line(_ v: [Double], _ color: String) -> String {
            var points: [String] = []
            for (i, share) in v.enumerated() {
                let x0 = Double(i) / 30 * w, x1 = Double(i + 1) / 30 * w, y = h - share / top * (h - 10)
                points.append(String(format: "%.1f,%.1f %.1f,%.1f", x0, y, x1, y))
            }
            return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
        }
        let lo = min(reference.min() ?? 0, current.min() ?? 0), hi = max(reference.max() ?? 0, current.max() ?? 0)
        return "<svg viewBox=\"0 0 \(Int(w)) \(Int(h) + 16)\" width=\"\(Int(w))\" height=\"\(Int(h) + 16)\" role=\"img\">" + line(rs, "#2f6fba") + line(cs, "#e07b24")
            + "<text x=\"0\" y=\"\(Int(h) + 14)\" font-size=\"10\">\(String(format: "%.3g", lo))</text><text x=\"\(Int(w))\" y=\"\(Int(h) + 14)\" font-size=\"10\" text-anchor=\"end\">\(String(format: "%.3g", hi))</text></svg>"
    }

    /// The optional parts of the page.
    public struct Sections: Sendable {
        /// Reference and window embeddings (PCA components; the first two are drawn) and their drift verdict.
        public var embeddings: (reference: [[Double]], current: [[Double]], drift: EmbeddingDrift)?
        /// A metric per interval with its 95 % interval: (interval start, value, low, high, predictions with truth).
        public var performance: (metric: String, overall: Double, points: [(label: String, value: Double, low: Double, high: Double, count: Int)])?
        /// A subgroup table (header, rows) and its gaps, as sentences.
        public var subgroups: (header: [String], rows: [[String]], gaps: [String])?
        /// Alerts of the model in the period.
        public var alerts: [AlertRecord] = []
        /// The share of drifted features per interval (interval start, share, predictions in it).
        public var driftOverTime: [(label: String, share: Double, predictions: Int)] = []
        public init() {}
    }

    /// The first two components of both sets as a scatter plot (at most 400 points a set, evenly spaced).
    static func scatter(_ reference: [[Double]], _ current: [[Double]]) -> String {
        func thin(_ r: [[Double]]) -> [[Double]] { r.count <= 400 ? r : (0..<400).map { r[$0 * r.count / 400] } }
        let a = thin(reference).filter { $0.count >= 2 }, b = thin(current).filter { $0.count >= 2 }
        let all = a + b
        guard !all.isEmpty else { return "" }
        let xs = all.map { $0[0] }, ys = all.map { $0[1] }
        let x0 = xs.min()!, x1 = max(xs.max()!, x0 + 1e-9), y0 = ys.min()!, y1 = max(ys.max()!, y0 + 1e-9)
        let w = 360.0, h = 260.0
        func dots(_ rows: [[Double]], _ color: String) -> String {
            rows.map { String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\" fill=\"%@\" fill-opacity=\"0.55\"/>", 8 + ($0[0] - x0) / (x1 - x0) * (w - 16), h - 8 - ($0[1] - y0) / (y1 - y0) * (h - 16), color) }.joined()
        }
        return "<svg viewBox=\"0 0 \(Int(w)) \(Int(h))\" width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\" aria-label=\"embeddings, first two principal components\">"
            + "<rect width=\"100%\" height=\"100%\" fill=\"#fafbfd\" stroke=\"#dde\"/>" + dots(a, "#2f6fba") + dots(b, "#e07b24") + "</svg>"
    }

    /// A metric over time: points with interval bars, the window's value as a dashed line.
    static func timeline(_ metric: String, overall: Double, _ points: [(label: String, value: Double, low: Double, high: Double, count: Int)]) -> String {
        let w = 520.0, h = 180.0, step = (w - 40) / Double(max(points.count, 1))
        func y(_ v: Double) -> Double { h - 20 - max(0, min(1, v)) * (h - 40) }
        var out = "<svg viewBox=\"0 0 \(Int(w)) \(Int(h))\" width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\" aria-label=\"\(escape(metric)) over time\">"
        out += "<line x1=\"30\" x2=\"\(Int(w) - 10)\" y1=\"\(String(format: "%.1f", y(overall)))\" y2=\"\(String(format: "%.1f", y(overall)))\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>"
        out += "<text x=\"0\" y=\"\(Int(y(1)) + 4)\" font-size=\"10\">1</text><text x=\"0\" y=\"\(Int(y(0)) + 4)\" font-size=\"10\">0</text>"
        for (i, p) in points.enumerated() where !p.value.isNaN {
            let x = 40 + (Double(i) + 0.5) * step
            out += String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#2f6fba\"/>", x, x, y(p.low), y(p.high))
            out += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#2f6fba\"><title>%@: %.3f (%.3f–%.3f), %d with truth</title></circle>", x, y(p.value), escape(p.label), p.value, p.low, p.high, p.count)
        }
        return out + "</svg>"
    }

    public static func render(_ report: DriftReport, title: String, reference: [String: [Double]], current: [String: [Double]], sections: Sections = Sections()) -> String {
        let rows = report.features.map { f in
            "<tr class=\"\(f.drifted ? "drift" : "")\"><td>\(escape(f.feature))</td><td>\(f.test)</td><td>\(String(format: "%.4g", f.statistic))</td><td>\(f.pValue.map { String(format: "%.3g", $0) } ?? "–")</td><td>\(String(format: "%g", f.threshold))</td><td>\(f.drifted ? "DRIFT" : "ok")</td><td>\(f.referenceCount)</td><td>\(f.currentCount)</td></tr>"
        }.joined()
        let figures = reference.keys.sorted().compactMap { name -> String? in
            guard let r = reference[name], let c = current[name], !r.isEmpty, !c.isEmpty else { return nil }
            return "<figure>\(histogram(r, c))<figcaption>\(escape(name))</figcaption></figure>"
        }.joined()
        let verdict = report.drifted ? "Dataset drift: \(report.driftedFeatures.count) of \(report.features.count) features drifted (\(escape(report.driftedFeatures.joined(separator: ", "))))."
            : "No dataset drift: \(report.driftedFeatures.count) of \(report.features.count) features drifted (drift when at least \(Int(report.driftShare * 100)) %)."
        return """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>\(escape(title))</title>
        <style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2430}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #dde}
        tr.drift td{background:#fde8e0}figure{display:inline-block;margin:8px 12px}figcaption{font-size:12px;text-align:center}.key span{display:inline-block;width:12px;height:3px;margin:0 4px 3px 12px}</style></head>
        <body><main><h1>\(escape(title))</h1><p><strong>\(verdict)</strong></p>
        <table><tr><th>feature</th><th>test</th><th>statistic</th><th>p-value</th><th>threshold</th><th>verdict</th><th>reference</th><th>current</th></tr>\(rows)</table>
        <h2>Distributions</h2><p class="key"><span style="background:#2f6fba"></span>reference<span style="background:#e07b24"></span>current window</p>\(figures)
        \(extra(sections))
        </main></body></html>
        """
    }

    static func extra(_ s: Sections) -> String {
        var out = ""
        if !s.driftOverTime.isEmpty {
            let w = 520.0, h = 150.0, step = (w - 40) / Double(s.driftOverTime.count)
            var svg = "<svg viewBox=\"0 0 \(Int(w)) \(Int(h))\" width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\" aria-label=\"share of drifted features per interval\">"
            svg += "<line x1=\"30\" x2=\"\(Int(w) - 10)\" y1=\"\(Int(h - 20 - 0.5 * (h - 40)))\" y2=\"\(Int(h - 20 - 0.5 * (h - 40)))\" stroke=\"#a4261e\" stroke-dasharray=\"4 3\"/>"
            for (i, d) in s.driftOverTime.enumerated() {
                let bh = max(1, d.share * (h - 40))
                svg += String(format: "<rect class=\"drift-bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"><title>%@: %.0f %% of the features drifted (%d predictions)</title></rect>",
                               40 + Double(i) * step + 2, h - 20 - bh, max(2, step - 4), bh, d.share >= 0.5 ? "#d1495b" : "#1f5fa8", escape(d.label), 100 * d.share, d.predictions)
            }
            out += "<h2>Drift over time</h2><p>Share of drifted features per interval against the reference (dashed: Evidently's dataset-drift share, 50 %).</p><figure>\(svg + "</svg>")</figure>"
                + "<table><tr><th>from</th><th>drifted features</th><th>predictions</th></tr>" + s.driftOverTime.map { "<tr><td>\(escape($0.label))</td><td>\(String(format: "%.0f %%", 100 * $0.share))</td><td>\($0.predictions)</td></tr>" }.joined() + "</table>"
        }
        if let e = s.embeddings {
            let rows = e.drift.methods.map { m in
                "<tr class=\"\(m.drifted ? "drift" : "")\"><td>\(m.method)</td><td>\(String(format: "%.4g", m.statistic))</td><td>\(m.pValue.map { String(format: "%.3g", $0) } ?? "–")</td><td>\(String(format: "%.4g", m.threshold))</td><td>\(m.drifted ? "DRIFT" : "ok")</td></tr>"
            }.joined()
            out += "<h2>Embeddings</h2><p><strong>\(e.drift.drifted ? "Embedding drift" : "No embedding drift")</strong> (domain classifier; \(e.drift.currentCount) logged embeddings against \(e.drift.referenceCount), \(e.drift.components) PCA components).</p>"
                + "<table><tr><th>method</th><th>statistic</th><th>p-value</th><th>threshold</th><th>verdict</th></tr>\(rows)</table>"
                + "<figure>\(scatter(e.reference, e.current))<figcaption>first two principal components: reference (blue), window (orange)</figcaption></figure>"
        }
        if let p = s.performance {
            out += "<h2>Performance over time</h2><p>\(escape(p.metric)) per interval with its 95 % bootstrap interval; dashed: the whole window (\(String(format: "%.3f", p.overall))).</p>"
                + "<figure>\(timeline(p.metric, overall: p.overall, p.points))</figure>"
                + "<table><tr><th>from</th><th>\(escape(p.metric))</th><th>95 % CI</th><th>with truth</th></tr>" + p.points.map { q in
                    "<tr><td>\(escape(q.label))</td><td>\(q.value.isNaN ? "n/a" : String(format: "%.3f", q.value))</td><td>\(String(format: "%.3f–%.3f", q.low, q.high))</td><td>\(q.count)</td></tr>"
                }.joined() + "</table>"
        }
        if let g = s.subgroups {
            out += "<h2>Subgroups</h2><table><tr>" + g.header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>"
                + g.rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }.joined() + "</table>"
                + (g.gaps.isEmpty ? "<p>No gap: every metric's intervals overlap across the subgroups.</p>" : "<ul>" + g.gaps.map { "<li class=\"drift\">\(escape($0))</li>" }.joined() + "</ul>")
        }
        if !s.alerts.isEmpty {
            func time(_ ms: Int64?) -> String { ms.map { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? "–" }
            out += "<h2>Alerts</h2><table><tr><th>state</th><th>rule</th><th>metric</th><th>value</th><th>condition</th><th>started</th><th>resolved</th></tr>"
                + s.alerts.map { a in
                    "<tr class=\"\(a.state == .firing ? "drift" : "")\"><td>\(a.state.rawValue)</td><td>\(escape(a.rule))</td><td>\(escape(a.metric))</td><td>\(a.value.map { String(format: "%.4g", $0) } ?? "–")</td><td>\(a.comparison) \(String(format: "%g", a.threshold))</td><td>\(time(a.started))</td><td>\(time(a.resolved))</td></tr>"
                }.joined() + "</table>"
        } else {
            out += "<h2>Alerts</h2><p>No alert for this model in the period.</p>"
        }
        return out
    }
}
