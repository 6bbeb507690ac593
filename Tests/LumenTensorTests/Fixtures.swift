import Foundation
import LumenTensor

/// Reference values produced by PyTorch (`Tests/Fixtures/reference/make_reference.py`, copied from `shared/reference`).
enum Fixtures {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/reference").standardizedFileURL

    static func tensors(_ name: String) throws -> [String: Tensor] {
        try Safetensors.load(reference.appendingPathComponent(name))
    }
}

/// Largest absolute difference between two tensors, compared as float64.
func maxAbsDiff(_ a: Tensor, _ b: Tensor) throws -> Double {
    let x = try a.doubles(), y = try b.doubles()
    precondition(x.count == y.count, "size mismatch \(a.shape) vs \(b.shape)")
    return zip(x, y).map { Swift.abs($0 - $1) }.max() ?? 0
}
