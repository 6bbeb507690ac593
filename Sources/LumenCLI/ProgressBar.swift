import Foundation
import LumenWorkspace

/// A live progress line on stderr: a bar, counts, rate and ETA, redrawn at most every 0.1 s on a
/// terminal. When stderr is not a terminal (CI logs, pipes) it writes a plain line at most every 15 s,
/// so long work shows it is alive without flooding the log.
final class ProgressBar: Sendable {
    let title: String
    let terminal = isatty(2) != 0
    /// When the bar was last drawn and when counting started.
    private let times = Locked((last: Date(), start: Date()))
    init(_ title: String) { self.title = title }
    /// Starts counting time again (a new epoch on the same bar).
    func restart() { times.withLock { $0 = (last: Date(), start: Date()) } }
    func update(_ done: Int, _ total: Int, label: String? = nil, suffix: String = "") {
        times.withLock { times in
            let now = Date()
            let elapsed = now.timeIntervalSince(times.start)
            let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
            let rate = String(format: "%.0f", Double(done) / max(elapsed, 1e-3))
            if terminal {
                guard done == total || now.timeIntervalSince(times.last) > 0.1 else { return }
                times.last = now
                let width = 30, filled = total > 0 ? width * min(done, total) / total : width
                let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                FileHandle.standardError.write(Data("\r\(label ?? title) \(bar) \(done)/\(total)  \(rate)/s  ETA \(Int(eta))s  \(suffix)   \(done == total ? "\n" : "")".utf8))
            } else {
                guard now.timeIntervalSince(times.last) >= 15 else { return }
                times.last = now
                FileHandle.standardError.write(Data("\(label ?? title) \(done)/\(total)  \(rate)/s  ETA \(Int(eta))s  \(suffix)\n".utf8))
            }
        }
    }
}
