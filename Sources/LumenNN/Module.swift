import LumenTensor

/// A neural-network building block with named parameters and buffers, as `torch.nn.Module`.
///
/// Names are the paths PyTorch uses (`layer1.0.conv1.weight`): each module lists its own tensors in
/// registration order, and children are found from its stored properties (a property `conv1` of a
/// `Module` type becomes `conv1.…`, an array `layer1: [BasicBlock]` becomes `layer1.0.…`). A Lumen
/// checkpoint therefore loads into torchvision and a torchvision one into Lumen.
public protocol Module: AnyObject {
    /// The forward pass.
    func callAsFunction(_ input: Tensor) throws(LumenError) -> Tensor
    /// Trainable tensors owned directly by this module (not by its children), in registration order.
    var ownParameters: [(String, Tensor)] { get }
    /// Non-trainable state owned directly by this module (`running_mean`), in registration order.
    var ownBuffers: [(String, Tensor)] { get }
    /// Child modules in registration order; the default reflects over stored properties.
    var children: [(String, any Module)] { get }
    /// Training mode (dropout active, batch-norm batch statistics) or evaluation mode.
    var isTraining: Bool { get set }
}

extension Module {
    public var ownParameters: [(String, Tensor)] { [] }
    public var ownBuffers: [(String, Tensor)] { [] }

    public var children: [(String, any Module)] {
        var found: [(String, any Module)] = []
        for child in Mirror(reflecting: self).children {
            guard let label = child.label else { continue }
            let name = label.hasPrefix("_") ? String(label.dropFirst()) : label
            if let module = child.value as? any Module {
                found.append((name, module))
            } else if let list = child.value as? [any Module] {
                for (i, module) in list.enumerated() { found.append(("\(name).\(i)", module)) }
            }
        }
        return found
    }

    /// Every module below and including this one, with its path ("" for self).
    public func namedModules(prefix: String = "") -> [(String, any Module)] {
        var out: [(String, any Module)] = [(prefix, self)]
        for (name, child) in children {
            out += child.namedModules(prefix: prefix.isEmpty ? name : "\(prefix).\(name)")
        }
        return out
    }

    /// Every parameter with its full path, in PyTorch's order.
    public func namedParameters() -> [(String, Tensor)] {
        namedModules().flatMap { path, module in module.ownParameters.map { (path.isEmpty ? $0.0 : "\(path).\($0.0)", $0.1) } }
    }

    /// Every buffer with its full path.
    public func namedBuffers() -> [(String, Tensor)] {
        namedModules().flatMap { path, module in module.ownBuffers.map { (path.isEmpty ? $0.0 : "\(path).\($0.0)", $0.1) } }
    }

    /// All parameters (for an optimizer).
    public func parameters() -> [Tensor] { namedParameters().map(\.1) }

    /// Parameters whose path starts with `prefix` (for a parameter group).
    public func parameters(withPrefix prefix: String) -> [Tensor] {
        namedParameters().filter { $0.0.hasPrefix(prefix) }.map(\.1)
    }

    /// Parameters that currently receive gradients.
    public func trainableParameters() -> [Tensor] { parameters().filter(\.requiresGrad) }

    /// Number of scalar parameters (all, or only the trainable ones).
    public func parameterCount(trainableOnly: Bool = false) -> Int {
        (trainableOnly ? trainableParameters() : parameters()).reduce(0) { $0 + $1.count }
    }

    /// Parameters and buffers in PyTorch's `state_dict()` order. The tensors are live: they share memory with the model.
    public func stateEntries() -> [(String, Tensor)] {
        namedModules().flatMap { path, module in
            (module.ownParameters + module.ownBuffers).map { (path.isEmpty ? $0.0 : "\(path).\($0.0)", $0.1) }
        }
    }

    /// The state dict as a dictionary (`model.state_dict()`).
    public func stateDict() -> [String: Tensor] {
        Dictionary(stateEntries(), uniquingKeysWith: { first, _ in first })
    }

    /// Copies values from `state` into the model (`load_state_dict`). With `strict`, missing or unexpected
    /// keys are an error; a shape mismatch is always an error and nothing is written then.
    @discardableResult
    public func load(stateDict state: [String: Tensor], strict: Bool = true) throws(LumenError) -> StateDictReport {
        try load(shapes: state.mapValues(\.shape), strict: strict) { name throws(LumenError) in state[name]! }
    }

    /// `load(stateDict:)` from tensors fetched one at a time by name (a checkpoint file read lazily): the keys
    /// and shapes are checked against `shapes` before anything is fetched or written.
    func load(shapes: [String: [Int]], strict: Bool, fetch: (String) throws(LumenError) -> Tensor) throws(LumenError) -> StateDictReport {
        let entries = stateEntries()
        let own = Set(entries.map(\.0))
        let report = StateDictReport(missingKeys: entries.map(\.0).filter { shapes[$0] == nil },
                                     unexpectedKeys: shapes.keys.filter { !own.contains($0) }.sorted())
        if strict && (!report.missingKeys.isEmpty || !report.unexpectedKeys.isEmpty) {
            throw .invalidArgument(field: "state dict", reason: report.description)
        }
        for (name, tensor) in entries {
            guard let shape = shapes[name] else { continue }
            let count = shape.reduce(1, *)
            if shape != tensor.shape && !(shape.isEmpty && tensor.count == 1) && !(tensor.shape.isEmpty && count == 1) {
                throw .invalidArgument(field: "state dict", reason: "size mismatch for \(name): checkpoint has \(shape), model has \(tensor.shape)")
            }
        }
        try withNoGrad { () throws(LumenError) in
            for (name, tensor) in entries {
                guard shapes[name] != nil else { continue }
                let source = try fetch(name)
                try tensor.copy(from: source.count == tensor.count && source.shape != tensor.shape ? source.reshape(tensor.shape) : source)
            }
        }
        for (_, module) in namedModules() { (module as? any StatefulBuffers)?.didLoadBuffers() }
        unpackForInference()  // packed from the old weights
        return report
    }

    /// Sets training mode on this module and every child. Training drops any inference packing
    /// (`packForInference()`), whose folded weights would go stale as the weights change.
    public func train(_ on: Bool = true) {
        var packed = false
        for (_, module) in namedModules() {
            module.isTraining = on
            packed = packed || (module as? Conv2d)?.packed != nil
        }
        if on && packed { unpackForInference() }
    }

    /// Sets evaluation mode on this module and every child.
    public func eval() { train(false) }

    /// Stops gradients for parameters whose path starts with `prefix` ("" freezes everything).
    public func freeze(prefix: String = "") throws(LumenError) {
        for (name, p) in namedParameters() where name.hasPrefix(prefix) { try p.requiringGrad(false) }
    }

    /// Turns gradients back on for parameters whose path starts with `prefix`.
    public func unfreeze(prefix: String = "") throws(LumenError) {
        for (name, p) in namedParameters() where name.hasPrefix(prefix) { try p.requiringGrad(true) }
    }

    /// Stores 4-D weights channels-last (NHWC); with channels-last inputs, CPU convolutions run faster.
    public func toChannelsLast() throws(LumenError) {
        try withNoGrad { () throws(LumenError) in
            for (_, t) in stateEntries() where t.rank == 4 { try t.setData(t.channelsLast()) }
        }
    }

    /// Moves every parameter and buffer to `device` (and optionally `dtype`) in place.
    public func to(device: Device, dtype: DType? = nil) throws(LumenError) {
        try withNoGrad { () throws(LumenError) in
            for (_, t) in stateEntries() {
                let keepDType = !t.dtype.isFloatingPoint
                try t.setData(t.to(keepDType ? nil : dtype, device: device))
            }
        }
    }
}

/// Modules that mirror Swift-side counters into buffers (batch norm's `num_batches_tracked`).
protocol StatefulBuffers {
    func didLoadBuffers()
}

/// What `load(stateDict:strict:)` found: keys the model has that the checkpoint lacks, and the reverse.
public struct StateDictReport: Sendable, Equatable, CustomStringConvertible {
    public var missingKeys: [String]
    public var unexpectedKeys: [String]

    public var description: String {
        var parts: [String] = []
        if !missingKeys.isEmpty { parts.append("missing keys: \(missingKeys.prefix(10).joined(separator: ", "))\(missingKeys.count > 10 ? " (+\(missingKeys.count - 10) more)" : "")") }
        if !unexpectedKeys.isEmpty { parts.append("unexpected keys: \(unexpectedKeys.prefix(10).joined(separator: ", "))\(unexpectedKeys.count > 10 ? " (+\(unexpectedKeys.count - 10) more)" : "")") }
        return parts.isEmpty ? "all keys matched" : parts.joined(separator: "; ")
    }
}
