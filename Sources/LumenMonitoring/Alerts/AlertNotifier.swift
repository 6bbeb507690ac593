import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LumenStore

/// Sends an alert to its channels: webhooks (JSON POST, Slack's shape), e-mail (SMTP through curl, the
/// Debian `curl` tool, which speaks SMTP with STARTTLS and authentication) and commands. Each delivery is
/// tried up to 3 times (1 s, then 2 s apart); what each channel answered comes back as one line each.
public struct AlertNotifier: Sendable {
    /// Seconds a delivery may take.
    public var timeout: Double = 15
    public var attempts = 3

    public init() {}

    /// The one-line summary of an alert (the webhook's `text`, the e-mail's subject).
    public static func summary(_ a: AlertRecord) -> String {
        let state = a.state == .resolved ? "RESOLVED" : "FIRING"
        let value = a.value.map { String(format: "%.4g", $0) } ?? "no data"
        return "[\(state)] \(a.rule) on \(a.model): \(a.metric) = \(value) (\(a.comparison) \(String(format: "%g", a.threshold)) fires; \(a.severity))"
    }

    /// The alert as JSON (for webhooks and commands).
    public static func json(_ a: AlertRecord) -> [String: Any] {
        var out: [String: Any] = ["id": a.id, "rule": a.rule, "model": a.model, "severity": a.severity, "state": a.state.rawValue, "metric": a.metric,
                                  "comparison": a.comparison, "threshold": a.threshold, "started": iso(a.started)]
        if let v = a.value { out["value"] = v }
        if let f = a.fired { out["fired"] = iso(f) }
        if let r = a.resolved { out["resolved"] = iso(r) }
        out["evidence"] = (try? JSONSerialization.jsonObject(with: Data(a.evidence.utf8))) ?? a.evidence
        return out
    }

    static func iso(_ ms: Int64) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ms) / 1000)) }

    public func deliver(_ alert: AlertRecord, channels: [(String, AlertChannel)]) async -> [String] {
        var lines: [String] = []
        for (name, channel) in channels {
            var last = ""
            for attempt in 0..<attempts {
                if attempt > 0 { try? await Task.sleep(for: .seconds(Double(attempt))) }
                do {
                    try await send(alert, channel)
                    last = "\(Self.iso(Clock.nowMillis())) \(name): delivered (\(alert.state.rawValue))"
                    break
                } catch {
                    last = "\(Self.iso(Clock.nowMillis())) \(name): failed after \(attempt + 1) attempt(s): \(error)"
                }
            }
            if last.contains("failed") { FileHandle.standardError.write(Data("lumen alerts: \(alert.rule) on \(alert.model): \(last)\n".utf8)) }
            lines.append(last)
        }
        return lines
    }

    struct DeliveryError: Error, CustomStringConvertible {
        let description: String
    }

    func send(_ alert: AlertRecord, _ channel: AlertChannel) async throws {
        switch channel {
        case .webhook(let url, let headers):
            var request = URLRequest(url: url, timeoutInterval: timeout)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
            request.httpBody = try JSONSerialization.data(withJSONObject: ["text": Self.summary(alert), "alert": Self.json(alert)], options: [.sortedKeys])
            let (_, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            guard (200..<300).contains(status) else { throw DeliveryError(description: "\(url.host ?? "webhook") answered \(status)") }
        case .smtp(let url, let from, let to, let user, let passwordEnv, let requireTLS):
            var args = ["--silent", "--show-error", "--max-time", String(Int(timeout)), "--url", url.absoluteString, "--mail-from", from]
            for r in to { args += ["--mail-rcpt", r] }
            args += ["--upload-file", "-"]
            if requireTLS { args.append("--ssl-reqd") }
            var config: URL?
            if let user {
                // The credentials go through a private config file, never the command line (which `ps` shows).
                let password = passwordEnv.flatMap { ProcessInfo.processInfo.environment[$0] } ?? ""
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-smtp-\(UUID().uuidString)")
                let escaped = "\(user):\(password)".replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                guard FileManager.default.createFile(atPath: file.path, contents: Data("user = \"\(escaped)\"\n".utf8), attributes: [.posixPermissions: 0o600]) else {
                    throw DeliveryError(description: "cannot write the SMTP credentials file in \(file.deletingLastPathComponent().path)")
                }
                args += ["--config", file.path]
                config = file
            }
            defer { if let config { try? FileManager.default.removeItem(at: config) } }
            try await Self.run(["curl"] + args, input: Data(Self.message(alert, from: from, to: to).utf8), environment: [:], timeout: timeout + 5)
        case .command(let argv):
            let env = ["LUMEN_ALERT_STATE": alert.state.rawValue, "LUMEN_ALERT_RULE": alert.rule, "LUMEN_ALERT_MODEL": alert.model,
                       "LUMEN_ALERT_SEVERITY": alert.severity, "LUMEN_ALERT_VALUE": alert.value.map { String($0) } ?? "", "LUMEN_ALERT_SUMMARY": Self.summary(alert)]
            try await Self.run(argv, input: try JSONSerialization.data(withJSONObject: Self.json(alert), options: [.sortedKeys]), environment: env, timeout: 30)
        }
    }

    /// An RFC 5322 message (plain text) for an alert.
    static func message(_ a: AlertRecord, from: String, to: [String]) -> String {
        let date = DateFormatter()
        date.locale = Locale(identifier: "en_US_POSIX")
        date.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let evidence = (try? JSONSerialization.jsonObject(with: Data(a.evidence.utf8))).flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.prettyPrinted, .sortedKeys]) }
            .map { String(decoding: $0, as: UTF8.self) } ?? a.evidence
        let body = """
        \(summary(a))

        rule:      \(a.rule)
        model:     \(a.model)
        metric:    \(a.metric) = \(a.value.map { String(format: "%.6g", $0) } ?? "no data")
        condition: \(a.comparison) \(String(format: "%g", a.threshold))
        started:   \(iso(a.started))
        \(a.fired.map { "fired:     \(iso($0))" } ?? "")
        \(a.resolved.map { "resolved:  \(iso($0))" } ?? "")

        evidence:
        \(evidence)

        -- lumen (lumen alerts list)
        """
        return [
            "From: \(from)", "To: \(to.joined(separator: ", "))", "Subject: \(summary(a))", "Date: \(date.string(from: Date()))",
            "Message-ID: <\(a.id)-\(a.state.rawValue)@lumen>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "",
        ].joined(separator: "\r\n") + "\r\n" + body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n") + "\r\n"
    }

    /// Runs a program (found on PATH) with `input` on its standard input; a non-zero exit or a timeout is an error.
    static func run(_ argv: [String], input: Data, environment: [String: String], timeout: Double) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = argv
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
                let stdin = Pipe(), stderr = Pipe()
                process.standardInput = stdin
                process.standardOutput = FileHandle.nullDevice
                process.standardError = stderr
                do { try process.run() } catch {
                    continuation.resume(throwing: DeliveryError(description: "\(argv[0]): \(error)"))
                    return
                }
                try? stdin.fileHandleForWriting.write(contentsOf: input)
                try? stdin.fileHandleForWriting.close()
                let deadline = DispatchTime.now() + timeout
                let done = DispatchSemaphore(value: 0)
                DispatchQueue.global().async { process.waitUntilExit(); done.signal() }
                if done.wait(timeout: deadline) == .timedOut {
                    process.terminate()
                    continuation.resume(throwing: DeliveryError(description: "\(argv[0]) did not finish in \(Int(timeout)) s"))
                    return
                }
                let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if process.terminationStatus == 0 { continuation.resume() } else {
                    continuation.resume(throwing: DeliveryError(description: "\(argv[0]) exited with \(process.terminationStatus)\(message.isEmpty ? "" : ": " + String(message.prefix(300)))"))
                }
            }
        }
    }
}
