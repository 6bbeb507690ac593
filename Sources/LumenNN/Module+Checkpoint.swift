import Foundation
import LumenTensor

extension Module {
    /// Writes the state dict as a `.safetensors` file that `safetensors.torch.load_file` reads.
    public func save(to url: URL, metadata: [String: String] = [:]) throws(LumenError) {
        try Safetensors.save(stateDict(), to: url, metadata: metadata)
    }

    /// Loads a `.safetensors` state dict written by Lumen or converted from PyTorch. The file is memory-mapped
    /// and copied into the parameters one tensor at a time, so loading costs the model's size once, not twice.
    @discardableResult
    public func load(from url: URL, strict: Bool = true) throws(LumenError) -> StateDictReport {
        let file = try Safetensors.File(contentsOf: url)
        return try load(shapes: file.entries.mapValues(\.shape), strict: strict) { name throws(LumenError) in try file.tensor(name) }
    }
}
