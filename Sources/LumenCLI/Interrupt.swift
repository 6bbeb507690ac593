import Dispatch
import Foundation
import LumenWorkspace

/// Ctrl-C (SIGINT) and SIGTERM during long work: the first asks the work to stop at its next safe point
/// (a training run saves a checkpoint and is marked KILLED), a second one quits at once.
final class Interrupt: @unchecked Sendable {
    // @unchecked: `sources` is written once by `install`, before any signal can arrive, and only kept alive after.
    private let raised = Locked(false)
    private var sources: [DispatchSourceSignal] = []

    var isRaised: Bool { raised.value }

    /// Starts catching SIGINT and SIGTERM; `message` is printed on the first one.
    func install(message: String) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                let again = raised.withLock { raised -> Bool in
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
