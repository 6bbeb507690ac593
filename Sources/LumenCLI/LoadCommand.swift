import ArgumentParser
import Foundation
import LumenServing
import NIOHTTP1
import LumenWorkspace

/// `lumen load URL`: load-tests a server (Lumen's or any HTTP/1.1 one) the way Locust or wrk would.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load-test an HTTP endpoint: N keep-alive connections for a duration; throughput, latency percentiles, answers by status.",
        discussion: """
        With --image the requests are multipart uploads of that file (what /api/predict/NAME takes), so
          lumen load http://127.0.0.1:5000/api/predict/xray --image scan.png --concurrency 64 --duration 30s
        measures a served model. Without it, GET (or --method, --body). A live line shows progress on a terminal.
        """)
    @Argument(help: "URL, http://HOST:PORT/PATH.") var url: String
    @Option(name: .shortAndLong, help: "Connections sending requests back to back.") var concurrency = 16
    @Option(name: .shortAndLong, help: ArgumentHelp("How long: 30s, 2m, 500ms, or seconds.", valueName: "duration")) var duration = "10s"
    @Option(name: .shortAndLong, help: "Stop after this many requests (before the duration if it comes first).") var requests: Int?
    @Option(help: "Upload this image file (multipart/form-data, field 'files'); repeat for several files per request.") var image: [String] = []
    @Option(help: "HTTP method (default: POST with --image or --body, else GET).") var method: String?
    @Option(help: "Request body file (sent as is; set its type with --header Content-Type:…).") var body: String?
    @Option(name: .shortAndLong, help: ArgumentHelp("Extra header NAME:VALUE (repeatable), e.g. 'Authorization: Bearer lm_…'.", valueName: "header")) var header: [String] = []
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard (1...10_000).contains(concurrency) else { throw ValidationError("--concurrency must be 1…10000") }
        _ = try durationSeconds(duration, option: "--duration")
        if let requests { guard requests > 0 else { throw ValidationError("--requests must be positive") } }
        guard image.isEmpty || body == nil else { throw ValidationError("give --image or --body, not both") }
        for h in header where !h.contains(":") { throw ValidationError("--header '\(h)' must be NAME:VALUE") }
    }

    func run() async throws {
        guard let parsed = URL(string: url) else { throw CLIError("'\(url)' is not a URL (http://HOST:PORT/PATH)") }
        var options: LoadOptions
        do { options = try LoadOptions(url: parsed) } catch { throw CLIError("\(error)") }
        options.concurrency = concurrency
        options.duration = try durationSeconds(duration, option: "--duration")
        options.requests = requests
        options.headers = header.map { h in
            let i = h.firstIndex(of: ":")!
            return (String(h[..<i]).trimmingCharacters(in: .whitespaces), String(h[h.index(after: i)...]).trimmingCharacters(in: .whitespaces))
        }
        if !image.isEmpty {
            let boundary = "lumen-load-\(UUID().uuidString)"
            var bytes: [UInt8] = []
            for path in image {
                let data: Data
                do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                    let reason = FileManager.default.fileExists(atPath: path) ? (error as NSError).localizedDescription : "no such file"
                    throw CLIError("\(path): cannot read the image (\(reason))")
                }
                let name = (path as NSString).lastPathComponent.replacingOccurrences(of: "\"", with: "_")
                bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\(name)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
                bytes += data
                bytes += Array("\r\n".utf8)
            }
            bytes += Array("--\(boundary)--\r\n".utf8)
            options.body = bytes
            options.headers.append(("Content-Type", "multipart/form-data; boundary=\(boundary)"))
        } else if let body {
            guard let data = FileManager.default.contents(atPath: body) else { throw CLIError("\(body): cannot read the body file") }
            options.body = Array(data)
        }
        options.method = HTTPMethod(rawValue: (method ?? (options.body.isEmpty ? "GET" : "POST")).uppercased())
        let terminal = isatty(2) != 0
        let total = options.duration
        let lastPlain = Locked(Date())
        let report = try await LoadGenerator(options).run(interval: terminal ? 0.5 : 1) { s in
            let line = String(format: "[%5.1fs/%.0fs] %d requests  %.1f req/s  p50 %.1f ms  p99 %.1f ms  errors %d", s.elapsed, total, s.requests, s.throughput, s.recentP50Ms, s.recentP99Ms, s.errors)
            if terminal {
                FileHandle.standardError.write(Data("\r\(line)   ".utf8))
            } else if lastPlain.withLock({ last in
                guard Date().timeIntervalSince(last) >= 5 else { return false }
                last = Date()
                return true
            }) {
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        if json {
            try printJSON(report)
            return
        }
        print("\(report.requests) requests in \(String(format: "%.1f", report.seconds)) s over \(concurrency) connections: \(String(format: "%.1f", report.throughput)) req/s")
        let l = report.latencyMs
        print(String(format: "latency  mean %.1f ms  p50 %.1f  p90 %.1f  p99 %.1f  max %.1f", l["mean"] ?? 0, l["p50"] ?? 0, l["p90"] ?? 0, l["p99"] ?? 0, l["max"] ?? 0))
        print("status   " + (report.statuses.isEmpty ? "none" : report.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")))
        if !report.errors.isEmpty { print("errors   " + report.errors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")) }
        if report.requests == 0 { throw ExitCode(1) }
    }
}
