import ArgumentParser
import Foundation
import LumenStore

/// A plain aligned text table.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let all = [header] + rows
    let widths = (0..<header.count).map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces)
    }
    return ([line(header), widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ")] + rows.map(line)).joined(separator: "\n")
}

/// A one-line chart of a series (`▁▂▄▇`), resampled to `width` points.
func sparkline(_ values: [Double], width: Int = 24) -> String {
    let finite = values.filter(\.isFinite)
    guard let lo = finite.min(), let hi = finite.max(), !values.isEmpty else { return "" }
    let bars = Array("▁▂▃▄▅▆▇█")
    let n = min(width, values.count)
    return String((0..<n).map { i -> Character in
        let v = values[i * values.count / n]
        guard v.isFinite else { return "·" }
        return hi == lo ? bars[3] : bars[Int(((v - lo) / (hi - lo) * 7).rounded())]
    })
}

func formatNumber(_ v: Double) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v > 0 ? "inf" : "-inf" }
    if v == v.rounded() && abs(v) < 1e9 { return String(Int64(v)) }
    return abs(v) >= 1e-3 && abs(v) < 1e6 ? String(format: "%.4f", v) : String(format: "%.3e", v)
}

func formatTime(_ millis: Int64) -> String {
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyy-MM-dd HH:mm"
    formatter.timeZone = TimeZone.current
    return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
}

func formatDuration(_ info: RunInfo) -> String {
    guard let end = info.endTime else { return info.status == .running ? "running" : "-" }
    let s = Double(end - info.startTime) / 1000
    if s < 60 { return String(format: "%.1fs", s) }
    if s < 3600 { return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) }
    return String(format: "%dh%02dm", Int(s) / 3600, Int(s) % 3600 / 60)
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// A failure at run time (not a usage mistake): printed as `Error: …` with exit status 1, without the usage text.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Seconds in a duration option: `500ms`, `30s`, `5m`, `12h`, `7d`, or a plain number of seconds.
func durationSeconds(_ text: String, option: String) throws -> Double {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3_600), ("d", 86_400)]
    let (number, scale) = units.first { t.hasSuffix($0.0) }.map { (String(t.dropLast($0.0.count)), $0.1) } ?? (t, 1)
    guard let v = Double(number), v > 0, v.isFinite else { throw ValidationError("\(option) '\(text)' is not a duration like 500ms, 30s, 5m, 12h or 7d") }
    return v * scale
}

/// Writes `text` to `path` (atomically; a failure names the file) and prints `written(path)`, or prints `text` when no path is given.
func writeOrPrint(_ text: String, to path: String?, written: (String) -> String) throws {
    guard let path else { return print(text, terminator: "") }
    do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch { throw CLIError("\(path): \(error.localizedDescription)") }
    print(written(path))
}
