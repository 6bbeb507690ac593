import Foundation

extension Tensor: CustomStringConvertible {
    /// Prints like PyTorch: `tensor([[1., 2.],\n        [3., 4.]], dtype=torch.float64)`.
    /// Large tensors are summarised with `...` (three items at each edge once there are over 1,000 elements).
    public var description: String {
        guard let values = try? doubles() else { return "tensor(<unreadable>, shape=\(shape))" }
        let dims = shape
        let summarise = values.count > 1000
        let isFloat = dtype.isFloatingPoint
        let isBool = dtype == .bool
        let allIntegral = values.allSatisfy { $0.isFinite && $0 == $0.rounded() }
        let finite = values.filter(\.isFinite).map(Swift.abs)
        let maxAbs = finite.max() ?? 0
        let minAbs = finite.filter { $0 > 0 }.min() ?? 0
        let scientific = isFloat && !allIntegral && (maxAbs >= 1e8 || (minAbs > 0 && (maxAbs / minAbs > 1000 || minAbs < 1e-4)))

        func format(_ v: Double) -> String {
            if isBool { return v != 0 ? "True" : "False" }
            if !isFloat { return String(Int64(v)) }
            if v.isNaN { return "nan" }
            if v.isInfinite { return v > 0 ? "inf" : "-inf" }
            if scientific { return String(format: "%.4e", v) }
            if allIntegral { return String(format: "%.0f.", v) }
            return String(format: "%.4f", v)
        }

        let texts = values.map(format)
        let width = texts.map(\.count).max() ?? 0
        func padded(_ i: Int) -> String { String(repeating: " ", count: width - texts[i].count) + texts[i] }

        let prefix = "tensor("
        func render(_ dim: Int, _ offset: Int, _ indent: Int) -> String {
            if dims.isEmpty { return texts.first ?? "" }
            let size = dims[dim]
            let stride = dims[(dim + 1)...].reduce(1, *)
            var indices = Array(0..<size)
            var elided = false
            if summarise && size > 6 { indices = Array(0..<3) + Array((size - 3)..<size); elided = true }
            if dim == dims.count - 1 {
                var parts = indices.map { padded(offset + $0) }
                // PyTorch's `_vector_str` elides with " ..." (a leading space): `2,  ..., 1997`.
                if elided { parts.insert(" ...", at: 3) }
                return "[" + parts.joined(separator: ", ") + "]"
            }
            let separator = "," + String(repeating: "\n", count: dims.count - dim - 1) + String(repeating: " ", count: indent + 1)
            var parts = indices.map { render(dim + 1, offset + $0 * stride, indent + 1) }
            if elided { parts.insert("...", at: 3) }
            return "[" + parts.joined(separator: separator) + "]"
        }

        var body = values.isEmpty && !dims.isEmpty ? "[]" : render(0, 0, prefix.count)
        var suffixes: [String] = []
        if values.isEmpty && dims != [0] { suffixes.append("size=(\(dims.map(String.init).joined(separator: ", "))\(dims.count == 1 ? "," : ""))") }
        if dtype != .float32 && dtype != .int64 && dtype != .bool { suffixes.append("dtype=\(dtype)") }
        if device != .cpu { suffixes.insert("device='\(device)'", at: 0) }
        if requiresGrad { suffixes.append("requires_grad=True") }
        if !suffixes.isEmpty { body += ", " + suffixes.joined(separator: ", ") }
        return prefix + body + ")"
    }
}
