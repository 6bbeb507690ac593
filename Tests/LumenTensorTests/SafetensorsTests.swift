import Foundation
import Testing
@testable import LumenTensor

@Suite struct SafetensorsTests {
    @Test func roundTripsEveryDType() throws {
        var tensors: [String: Tensor] = [:]
        for dtype in DType.allCases {
            tensors["t.\(dtype.safetensorsName)"] = try Tensor.arange(0, 6, dtype: .float32).reshape([2, 3]).to(dtype)
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try Safetensors.save(tensors, to: url, metadata: ["format": "pt"])
        let loaded = try Safetensors.load(url)
        #expect(Set(loaded.keys) == Set(tensors.keys))
        for (name, t) in tensors {
            let l = try #require(loaded[name])
            #expect(l.dtype == t.dtype && l.shape == [2, 3], "\(name)")
            #expect(try l.doubles() == t.doubles(), "\(name)")
        }
        let (_, metadata) = try Safetensors.decode(Data(contentsOf: url))
        #expect(metadata["format"] == "pt")
    }

    @Test func readsPyTorchWrittenFile() throws {
        // optim.safetensors was written by safetensors.torch.save_file.
        let t = try Fixtures.tensors("optim.safetensors")
        #expect(t["A"]?.shape == [6, 4])
        #expect(t["w0"]?.dtype == .float64)
    }

    @Test func headerLayoutIsAligned() throws {
        let data = try Safetensors.encode(["x": Tensor([1, 2] as [Float])])
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(n % 8 == 0)
        #expect(data.count == 8 + n + 8)
    }

    @Test func corruptInputIsAnErrorNotACrash() throws {
        let good = try Safetensors.encode(["w": Tensor.randn([4, 4]), "b": Tensor.randn([4])])
        #expect(throws: LumenError.self) { try Safetensors.decode(Data()) }
        #expect(throws: LumenError.self) { try Safetensors.decode(good.prefix(good.count - 5)) }
        var hugeHeader = good
        hugeHeader.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        #expect(throws: LumenError.self) { try Safetensors.decode(hugeHeader) }
        let hostile = #"{"x":{"dtype":"F32","shape":[100000,100000],"data_offsets":[0,16]}}"#
        var lying = Data()
        var n = UInt64(hostile.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { lying.append(contentsOf: $0) }
        lying.append(Data(hostile.utf8))
        lying.append(Data(count: 16))
        #expect(throws: LumenError.self) { try Safetensors.decode(lying) }
        // Random mutations: every outcome is a value or a thrown error.
        var generator = FuzzGenerator("safetensors mutations")
        for _ in 0..<1000 {
            var mutated = good
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                mutated[Int.random(in: 0..<mutated.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? Safetensors.decode(mutated)
        }
        #expect(throws: LumenError.self) { try Safetensors.load(URL(fileURLWithPath: "/nonexistent/x.safetensors")) }
    }
}

/// A seeded generator for fuzz tests (SplitMix64): the seed is printed to stderr (unbuffered, so it survives a
/// crash) and `LUMEN_FUZZ_SEED` replays a failure.
struct FuzzGenerator: RandomNumberGenerator {
    let seed: UInt64
    private var state: UInt64
    init(_ name: String) {
        seed = ProcessInfo.processInfo.environment["LUMEN_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64(UInt32.max))
        state = seed
        FileHandle.standardError.write(Data("\(name): LUMEN_FUZZ_SEED=\(seed)\n".utf8))
    }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
