import ArgumentParser
import Foundation
import LumenTensor

/// `lumen info`: what runtime this build uses (libtorch version, threads, devices).
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show the native runtime: libtorch version, CPU threads, CUDA devices.")

    @Flag(name: .long, help: "Print JSON for scripts.")
    var json = false

    func run() throws {
        _ = try Tensor.zeros([1])  // initialises the runtime (thread count)
        let facts: [(String, String)] = [
            ("lumen", LumenVersion.string),
            ("libtorch", Runtime.libtorchVersion),
            ("cpu threads", String(Runtime.threads)),
            ("cores", String(ProcessInfo.processInfo.activeProcessorCount)),
            ("cuda", Runtime.cudaAvailable ? "\(Runtime.cudaDeviceCount) device(s)" : "not available (CPU only)"),
            ("default device", Device.best.description),
        ]
        if json {
            let object = Dictionary(uniqueKeysWithValues: facts.map { ($0.0.replacingOccurrences(of: " ", with: "_"), $0.1) })
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            let width = facts.map(\.0.count).max() ?? 0
            for (k, v) in facts { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
        }
    }
}
