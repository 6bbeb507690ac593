import Foundation
import LumenImaging
import Testing
import LumenTensor
@testable import LumenData

@Suite("Loader and validation")
struct LoaderTests {
    /// A version of 20 small PNGs in two classes (values encode the index).
    static func dataset(_ s: Scratch, count: Int = 20, sizes: (Int) -> Int = { _ in 12 }) throws -> DatasetVersion {
        for i in 0..<count { try s.png("d/\(i % 4 == 0 ? "rare" : "common")/\(i).png", value: UInt8(i * 5 % 256), size: sizes(i)) }
        let result = s.builder().ingest(try FolderImporter.items(root: s.url("d")))
        let version = DatasetVersion(name: "d", task: .classification, source: "", entries: result.entries)
        try s.repository.save(version)
        return version
    }

    static let pipeline = Pipeline([.resize(width: 10, height: 10), .horizontalFlip(p: 0.5), .gaussianNoise(std: 0.05), .channels(3)])

    func collect(_ loader: DataLoader, epoch: Int) throws -> [[Float]] {
        var out: [[Float]] = []
        let it = loader.epoch(epoch)
        while let b = try it.nextBatch() { out.append(try b.images.floats()) }
        return out
    }

    @Test func batchesAreDeterministicWhateverTheWorkerCount() throws {
        let s = Scratch()
        defer { s.cleanup() }
        let v = try Self.dataset(s)
        var options = LoaderOptions()
        options.batchSize = 6
        options.seed = 3
        options.workers = 1
        let one = try DataLoader(version: v, split: nil, repository: s.repository, pipeline: Self.pipeline, options: options)
        options.workers = 3
        options.prefetch = 2
        let three = try DataLoader(version: v, split: nil, repository: s.repository, pipeline: Self.pipeline, options: options)
        #expect(one.count == 4)
        let a = try collect(one, epoch: 0), b = try collect(three, epoch: 0), c = try collect(three, epoch: 1)
        #expect(a == b)
        #expect(a != c, "another epoch reshuffles and re-augments")
        let first = try #require(one.epoch(0).next())
        #expect(first.images.shape == [6, 3, 10, 10])
        #expect(first.targets?.shape == [6])
    }

    @Test func balancedSamplingEvensOutClasses() throws {
        let s = Scratch()
        defer { s.cleanup() }
        let v = try Self.dataset(s, count: 40)
        var options = LoaderOptions()
        options.balanced = true
        options.batchSize = 40
        options.cache = true
        let loader = try DataLoader(version: v, split: nil, repository: s.repository, pipeline: Pipeline([.resize(width: 4, height: 4)]), options: options)
        var rare = 0
        for epoch in 0..<5 {
            let batch = try #require(loader.epoch(epoch).next())
            rare += try batch.targets!.int64s().filter { $0 == Int64(loader.classes.firstIndex(of: "rare")!) }.count
        }
        // Without balancing 25 % of samples are rare; balanced, about half.
        #expect(rare > 70 && rare < 130, "rare samples: \(rare) of 200")
    }

    @Test func inconsistentSizesNameTheFiles() throws {
        let s = Scratch()
        defer { s.cleanup() }
        let v = try Self.dataset(s, count: 4, sizes: { $0 == 2 ? 16 : 12 })
        var options = LoaderOptions()
        options.batchSize = 4
        options.shuffle = false
        let loader = try DataLoader(version: v, split: nil, repository: s.repository, pipeline: Pipeline(), options: options)
        #expect { _ = try loader.epoch(0).nextBatch() } throws: { "\($0)".contains("add a resize") }
        #expect(throws: DataError.self) { try DataLoader(version: v, split: "test", repository: s.repository, pipeline: Pipeline()) }
    }

    @Test func segmentationBatchesCarryMasks() throws {
        let s = Scratch()
        defer { s.cleanup() }
        try Synthesizer.cells(out: s.url("cells"), count: 4, size: 32, seed: 3)
        let result = s.builder().ingest(try ArrayImporters.segmentationFolders(images: s.url("cells/images"), masks: s.url("cells/masks")).items)
        let v = DatasetVersion(name: "cells", task: .segmentation, source: "", entries: result.entries)
        var options = LoaderOptions()
        options.batchSize = 4
        let loader = try DataLoader(version: v, split: nil, repository: s.repository, pipeline: Pipeline([.randomCrop(width: 24, height: 24), .elastic(alpha: 2, sigma: 4)]), options: options)
        let batch = try #require(try loader.epoch(0).nextBatch())
        #expect(batch.masks?.shape == [4, 24, 24])
        #expect(Set(try batch.masks!.int64s()) == [0, 1])
    }

    @Test func validationFindsDuplicatesLeakageAndMaskProblems() throws {
        let s = Scratch()
        defer { s.cleanup() }
        try s.png("v/a/1.png", value: 7)
        try s.png("v/b/2.png", value: 7)
        try s.png("v/a/3.png", value: 9)
        var entries = s.builder().ingest(try FolderImporter.items(root: s.url("v"))).entries
        func index(_ path: String) -> Int { entries.firstIndex { $0.path == path }! }
        entries[index("a/1.png")].split = "train"
        entries[index("b/2.png")].split = "test"
        try s.png("m/empty.png", value: 0)
        let emptyMask = try s.builder().put([UInt8](Data(contentsOf: s.url("m/empty.png"))))
        entries[index("a/3.png")].maskSHA256 = emptyMask
        entries.append(DatasetEntry(path: "gone.png", sha256: String(repeating: "0", count: 64), size: 0, format: "png"))
        let report = Validator.validate(DatasetVersion(name: "v", task: .classification, source: "", entries: entries), repository: s.repository)
        #expect(report.duplicates == [["a/1.png", "b/2.png"]])
        #expect(!report.leakage.duplicates.isEmpty)
        #expect(report.emptyMasks == ["a/3.png"])
        #expect(report.unreadable.map(\.path) == ["gone.png"])
        #expect(report.classBalance["all"] == ["a": 2, "b": 1, "(none)": 1])
        #expect(report.sizes["8x8"] == 3 && !report.isClean)
    }
}
