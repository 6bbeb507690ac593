import Foundation

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

    public static func render(_ report: DriftReport, title: String, reference: [String: [Double]], current: [String: [Double]]) -> String {
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
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2430}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #dde}
        tr.drift td{background:#fde8e0}figure{display:inline-block;margin:8px 12px}figcaption{font-size:12px;text-align:center}.key span{display:inline-block;width:12px;height:3px;margin:0 4px 3px 12px}</style></head>
        <body><h1>\(escape(title))</h1><p><strong>\(verdict)</strong></p>
        <table><tr><th>feature</th><th>test</th><th>statistic</th><th>p-value</th><th>threshold</th><th>verdict</th><th>reference</th><th>current</th></tr>\(rows)</table>
        <h2>Distributions</h2><p class="key"><span style="background:#2f6fba"></span>reference<span style="background:#e07b24"></span>current window</p>\(figures)
        </body></html>
        """
    }
}
