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


/// `Runtime.limitAllocatorArenas`: each test runs in a child process of its own (an exit test), so that the
/// arenas counted are the ones its own threads made.
@Suite struct AllocatorArenaTests {
    /// Eight threads that allocate at once, each holding its blocks until all have allocated.
    static func allocateOnEightThreads() {
        let group = DispatchGroup()
        let ready = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0)
        for _ in 0..<8 {
            group.enter()
            Thread.detachNewThread {
                let blocks = (0..<64).map { _ in malloc(4096) }
                ready.signal()
                go.wait()
                blocks.forEach { free($0) }
                group.leave()
            }
        }
        for _ in 0..<8 { ready.wait() }
        for _ in 0..<8 { go.signal() }
        group.wait()
    }

    /// The control: without a cap, eight new threads make new arenas (so the count below can see one).
    @Test func newThreadsMakeArenasWithoutACap() async {
        await #expect(processExitsWith: .success) {
            guard let before = Runtime.allocatorArenas, before >= 1 else { exit(2) }
            AllocatorArenaTests.allocateOnEightThreads()
            guard let after = Runtime.allocatorArenas else { exit(3) }
            exit(after > before ? 0 : 1)
        }
    }

    /// With the cap at the arenas already made, eight new threads share them.
    @Test func theCapStopsNewArenas() async {
        await #expect(processExitsWith: .success) {
            guard let before = Runtime.allocatorArenas, before >= 1 else { exit(2) }
            guard Runtime.limitAllocatorArenas(to: before) else { exit(4) }
            AllocatorArenaTests.allocateOnEightThreads()
            guard let after = Runtime.allocatorArenas else { exit(3) }
            exit(after == before ? 0 : 1)
        }
    }
}
