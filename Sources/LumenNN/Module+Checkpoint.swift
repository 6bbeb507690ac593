import Foundation
import LumenTensor

extension Module {
    /// Writes the state dict as a `.safetensors` file that `safetensors.torch.load_file` reads.
    public func save(to url: URL, metadata: [String: String] = [:]) throws(LumenError) {
        try Safetensors.save(stateDict(), to: url, metadata: metadata)
    }

    /// Loads a `.safetensors` state dict written by Lumen or converted from PyTorch.
    @discardableResult
    public func load(from url: URL, strict: Bool = true) throws(LumenError) -> StateDictReport {
        try load(stateDict: Safetensors.load(url), strict: strict)
    }
}
