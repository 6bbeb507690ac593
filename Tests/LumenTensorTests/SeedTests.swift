import Testing
@testable import LumenTensor

/// libtorch's generator is process-wide: re-seeding it while other tests draw from it would be flaky,
/// so `make test` runs this suite alone in a process of its own.
@Suite(.serialized) struct SeedTests {
    @Test func randomIsSeeded() throws {
        Runtime.manualSeed(42)
        let a = try Tensor.randn([5]).floats()
        let p = try Tensor.randperm(10).int64s()
        Runtime.manualSeed(42)
        #expect(try Tensor.randn([5]).floats() == a)
        #expect(try Tensor.randperm(10).int64s() == p)
        #expect(Set(p) == Set(0..<10))
        let r = try Tensor.rand([1000]).floats()
        #expect(r.allSatisfy { $0 >= 0 && $0 < 1 })
        let i = try Tensor.randint(3, 7, [1000]).int64s()
        #expect(Set(i) == [3, 4, 5, 6])
        let b = try Tensor.full([1000], 0.3).bernoulli().floats()
        #expect(Set(b).isSubset(of: [0, 1]))
        #expect(b.reduce(0, +) > 200 && b.reduce(0, +) < 400)
    }

}
