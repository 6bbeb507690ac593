import Foundation
import HTTPTypes
import Hummingbird
import LumenWorkspace

/// Where `lumen serve` writes its access log: one JSON object per request and line (time, method, path,
/// status, duration, the model version that answered), for log shippers (Loki, Elasticsearch, CloudWatch).
/// Query strings are left out: they may carry names.
public final class AccessLog: Sendable {
    private let handle: Locked<FileHandle>

    public init(path: String) throws {
        if path == "-" {
            handle = Locked(FileHandle.standardOutput)
        } else {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else { throw ServingError.badInput("--access-log \(path): cannot create the file") }
            }
            guard let h = FileHandle(forWritingAtPath: path) else { throw ServingError.badInput("--access-log \(path): cannot open the file for writing") }
            h.seekToEndOfFile()
            handle = Locked(h)
        }
    }

    func write(_ entry: [String: Any]) {
        var line = JSONWriter.encode(entry)
        line.append(UInt8(ascii: "\n"))
        handle.withLock { $0.write(Data(line)) }
    }
}

struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let log: AccessLog
    static var formatter: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = monotonicSeconds()
        let time = Self.formatter.string(from: Date())
        var entry: [String: Any] = ["time": time, "method": request.method.rawValue, "path": request.uri.path]
        if let agent = request.headers[.userAgent] { entry["user_agent"] = String(agent.prefix(200)) }
        do {
            let response = try await next(request, context)
            entry["status"] = Int(response.status.code)
            entry["duration_ms"] = ((monotonicSeconds() - started) * 1e5).rounded() / 100
            if let version = response.headers[HTTPField.Name("X-Lumen-Model-Version")!] { entry["model_version"] = version }
            log.write(entry)
            return response
        } catch {
            entry["status"] = (error as? HTTPError).map { Int($0.status.code) } ?? 500
            entry["duration_ms"] = ((monotonicSeconds() - started) * 1e5).rounded() / 100
            log.write(entry)
            throw error
        }
    }
}
