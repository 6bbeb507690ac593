import Dispatch
import Foundation

/// Ctrl-C (SIGINT) and SIGTERM during long work: the first asks the work to stop at its next safe point
/// (a training run saves a checkpoint and is marked KILLED), a second one quits at once.
final class Interrupt: @unchecked Sendable {
    // @unchecked: `raised` is only touched under `lock`; the sources are set once, before any signal.
    private let lock = NSLock()
    private var raised = false
    private var sources: [DispatchSourceSignal] = []

    var isRaised: Bool { lock.withLock { raised } }

    /// Starts catching SIGINT and SIGTERM; `message` is printed on the first one.
    func install(message: String) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                let again = lock.withLock { () -> Bool in
                    defer { raised = true }
                    return raised
                }
                if again {
                    FileHandle.standardError.write(Data("\nstopped at once (no checkpoint)\n".utf8))
                    exit(130)
                }
                FileHandle.standardError.write(Data("\n\(message) (Ctrl-C again to quit at once)\n".utf8))
            }
            source.resume()
            sources.append(source)
        }
    }
}
