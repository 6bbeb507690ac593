import Foundation
import Testing
@testable import LumenTensor

/// Resident set size of this process in bytes, from /proc.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// RSS is process-wide: `make test` runs this suite in a process of its own (`--filter MemoryTests`).
@Suite(.serialized) struct MemoryTests {
    /// 100,000 tensor operations keep RSS flat: every handle is freed when its Swift owner goes away.
    @Test func hundredThousandOpsDoNotLeak() throws {
        let a = try Tensor.randn([64, 64]).requiringGrad()
        func burst(_ n: Int) throws {
            for i in 0..<n {
                let b = try (a * 1.0001 + Double(i % 7)).relu()
                if i % 50 == 0 { try b.sum().backward(); try a.zeroGrad() }
            }
        }
        try burst(20_000)  // warm up allocator caches
        let before = residentBytes()
        try burst(100_000)
        let after = residentBytes()
        #expect(before > 0)
        #expect(Double(after) <= Double(before) * 1.10, "RSS grew from \(before) to \(after) bytes")
    }
}

