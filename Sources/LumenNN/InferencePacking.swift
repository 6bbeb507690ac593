import LumenTensor

/// What `Module.packForInference()` did.
public struct InferencePacking: Sendable, Equatable {
    /// Convolutions whose weights were reordered into oneDNN's layout.
    public var convolutions = 0
    /// Batch norms folded into the convolution before them.
    public var foldedBatchNorms = 0
}

extension Module {
    /// Prepares the network for oneDNN ("mkldnn") inference: every convolution's weight is reordered once into
    /// oneDNN's blocked layout, with the evaluation-mode batch norm that directly follows it (the next child of
    /// the same parent, as in `conv1, bn1` or `Sequential(Conv2d, BatchNorm2d, …)`) folded in. Evaluation-mode
    /// forward passes then run packed (activations stay in oneDNN's layout between convolutions, ReLUs, pooling
    /// and sums; functions without a oneDNN kernel take them dense); training mode runs the dense weights, which
    /// are kept (see `releaseDenseWeightsOfPackedConvolutions()`). Packing again repacks from the current weights.
    ///
    /// A parent whose forward pass does not apply the batch norm right after the convolution would be computed
    /// wrongly by the packed path: `Predictor` compares the outputs before and after packing on a probe batch.
    @discardableResult
    public func packForInference() throws(LumenError) -> InferencePacking {
        if hasReleasedDenseWeights {
            throw .invalidArgument(field: "packForInference", reason: "the dense convolution weights were released; load the checkpoint again")
        }
        unpackForInference()
        var result = InferencePacking()
        try withNoGrad { () throws(LumenError) in
            for (_, module) in namedModules() {
                let kids = module.children.map(\.1)
                for (i, child) in kids.enumerated() {
                    guard let conv = child as? Conv2d else { continue }
                    var bn: BatchNorm2d?
                    if i + 1 < kids.count, let next = kids[i + 1] as? BatchNorm2d, next.runningMean != nil,
                       next.runningVar?.count == conv.weight.shape[0] {
                        bn = next
                    }
                    let statistics = try bn.map { (b) throws(LumenError) in
                        (weight: b.weight, bias: b.bias, mean: try b.runningMean.unwrap(), variance: try b.runningVar.unwrap(), eps: b.eps)
                    }
                    conv.packed = try Tensor.packConv2d(weight: conv.weight, bias: conv.bias, batchNorm: statistics,
                                                        stride: conv.stride, padding: conv.padding,
                                                        dilation: conv.dilation, groups: conv.groups)
                    result.convolutions += 1
                    if let bn { bn.foldedIntoConv = true; result.foldedBatchNorms += 1 }
                }
            }
        }
        return result
    }

    /// Frees the dense weights of the packed convolutions (a second copy of most of a CNN's parameters), for a
    /// network that will only run in evaluation mode, without autograd through its convolutions (serving:
    /// Grad-CAM differentiates the head only). Training it then fails; there is no way back short of loading the
    /// checkpoint again. Returns the bytes freed.
    @discardableResult
    public func releaseDenseWeightsOfPackedConvolutions() throws(LumenError) -> Int {
        var freed = 0
        try withNoGrad { () throws(LumenError) in
            for (_, module) in namedModules() {
                guard let conv = module as? Conv2d, conv.packed != nil, conv.weight.count > 0 else { continue }
                freed += conv.weight.count * conv.weight.dtype.byteSize
                try conv.weight.setData(Tensor.zeros([0], dtype: conv.weight.dtype))
            }
        }
        return freed
    }

    /// Whether `releaseDenseWeightsOfPackedConvolutions()` freed some convolution's dense weights.
    public var hasReleasedDenseWeights: Bool {
        namedModules().contains { ($0.1 as? Conv2d)?.weight.count == 0 }
    }

    /// Drops what `packForInference()` prepared: every forward pass is the dense one again. A network whose
    /// dense weights were released keeps its packing (there is nothing to go back to).
    public func unpackForInference() {
        let modules = namedModules().map(\.1)
        if modules.contains(where: { ($0 as? Conv2d)?.weight.count == 0 }) { return }  // released: nothing to go back to
        for module in modules {
            (module as? Conv2d)?.packed = nil
            (module as? BatchNorm2d)?.foldedIntoConv = false
        }
    }
}

private extension Optional where Wrapped == Tensor {
    func unwrap() throws(LumenError) -> Tensor {
        guard let self else { throw .invalidArgument(field: "BatchNorm2d", reason: "running statistics are missing") }
        return self
    }
}
