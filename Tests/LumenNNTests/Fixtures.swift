import Foundation
import LumenTensor

/// PyTorch reference values (`Tests/Fixtures/reference`, made by `make_reference.py` with torch 2.15).
enum Fixtures {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/reference").standardizedFileURL

    /// torchvision's `model key shape` lines, grouped by model.
    static func stateDictKeys() throws -> [String: [(String, [Int])]] {
        let text = try String(contentsOf: reference.appendingPathComponent("state_dicts.txt"), encoding: .utf8)
        var out: [String: [(String, [Int])]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: " ")
            let shape = f[2] == "-" ? [] : f[2].split(separator: "x").map { Int($0)! }
            out[String(f[0]), default: []].append((String(f[1]), shape))
        }
        return out
    }
}
