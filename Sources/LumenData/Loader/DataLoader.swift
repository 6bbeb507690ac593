import Foundation
import LumenWorkspace
import LumenImaging
import LumenTensor

/// How a loader draws and batches samples.
public struct LoaderOptions: Sendable {
    public var batchSize = 32
    public var shuffle = true
    public var seed: UInt64 = 0
    /// Threads that decode and transform samples.
    public var workers = 2
    /// Batches prepared ahead of the consumer.
    public var prefetch = 4
    /// Draw samples with probability inversely proportional to their class frequency (with replacement).
    public var balanced = false
    /// Keep decoded images in memory after their first use (transforms still run every epoch).
    public var cache = false
    public var dropLast = false
    /// Targets as multi-hot vectors (multi-label) instead of class indices.
    public var multiLabel = false
    public init() {}
}

/// A batch: images N × C × H × W (float32), targets (class indices N, or multi-hot N × K), masks N × H × W
/// (int64 class indices) for segmentation, and the paths of the samples.
public struct Batch: Sendable {
    public var images: Tensor
    public var targets: Tensor?
    public var masks: Tensor?
    public var paths: [String]
}

/// Batches of tensors from a dataset version through a transform pipeline: seeded shuffling, N worker
/// threads with prefetch, optional class-balanced sampling and an optional cache of decoded samples.
/// The same seed gives the same batches whatever the number of workers.
public final class DataLoader: Sendable {
    public let entries: [DatasetEntry]
    public let classes: [String]
    public let pipeline: Pipeline
    public let options: LoaderOptions
    let repository: DatasetRepository
    let cache: DecodedCache

    public init(version: DatasetVersion, split: String?, repository: DatasetRepository, pipeline: Pipeline, options: LoaderOptions = LoaderOptions(), classes: [String]? = nil) throws(DataError) {
        entries = version.entries(in: split)
        guard !entries.isEmpty else { throw .invalidArgument("\(version.reference) has no files\(split.map { " in split '\($0)'" } ?? "")") }
        guard options.batchSize > 0, options.workers > 0, options.prefetch > 0 else { throw .invalidArgument("batch size, workers and prefetch must be positive") }
        self.classes = classes ?? version.classes
        self.pipeline = pipeline
        self.options = options
        self.repository = repository
        self.cache = DecodedCache(enabled: options.cache)
    }

    /// Batches per epoch.
    public var count: Int {
        options.dropLast ? entries.count / options.batchSize : (entries.count + options.batchSize - 1) / options.batchSize
    }

    /// The sample order of `epoch`.
    public func order(epoch: Int) -> [Int] {
        var rng = SeededGenerator(seed: options.seed, stream: 0xE90C, index: UInt64(epoch))
        if options.balanced {
            let counts = Dictionary(entries.map { ($0.label ?? "", 1) }, uniquingKeysWith: +)
            let weights = entries.map { 1.0 / Double(counts[$0.label ?? ""] ?? 1) }
            var cumulative: [Double] = []
            var total = 0.0
            for w in weights { total += w; cumulative.append(total) }
            return (0..<entries.count).map { _ in
                let r = rng.uniform(0, total)
                var lo = 0, hi = cumulative.count - 1
                while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] <= r { lo = mid + 1 } else { hi = mid } }
                return lo
            }
        }
        var order = Array(entries.indices)
        if options.shuffle { order.shuffle(using: &rng) }
        return order
    }

    /// Iterates over the batches of one epoch, prepared by the worker threads.
    public func epoch(_ epoch: Int) -> EpochIterator { EpochIterator(loader: self, epoch: epoch) }

    /// One transformed sample; the generator depends on (seed, epoch, position) only.
    func sample(_ index: Int, epoch: Int, position: Int) throws -> Sample {
        let e = entries[index]
        let decoded = try cache.get(e.sha256 + (e.maskSHA256 ?? "")) { () throws -> Sample in
            let image = try ImageReader.read(repository.bytes(e.sha256), source: e.path)
            let plane = try Plane(image, slice: image.depth / 2)
            var mask: Plane?
            if let m = e.maskSHA256 {
                let maskImage = try ImageReader.read(repository.bytes(m), source: e.maskPath ?? e.path)
                var p = try Plane(maskImage, slice: maskImage.depth / 2)
                if p.channels > 1 { p = Plane(width: p.width, height: p.height, channels: 1, values: stride(from: 0, to: p.values.count, by: p.channels).map { p.values[$0] }) }
                // Binary masks stored as 0/255 become 0/1.
                if p.values.allSatisfy({ $0 == 0 || $0 == 255 }) { p.values = p.values.map { $0 > 0 ? 1 : 0 } }
                mask = p
            }
            return Sample(image: plane, mask: mask)
        }
        var rng = SeededGenerator(seed: options.seed, stream: UInt64(epoch) &+ 1, index: UInt64(position))
        return try pipeline.apply(decoded, rng: &rng)
    }

    /// Builds batch `b` of `epoch` from `order`.
    func batch(_ b: Int, epoch: Int, order: [Int]) throws -> Batch {
        let positions = b * options.batchSize..<min((b + 1) * options.batchSize, order.count)
        var samples: [Sample] = []
        for p in positions { samples.append(try sample(order[p], epoch: epoch, position: p)) }
        let first = samples[0].image
        for (s, p) in zip(samples, positions) where s.image.width != first.width || s.image.height != first.height || s.image.channels != first.channels {
            throw DataError.invalidArgument("\(entries[order[p]].path) is \(s.image.width) x \(s.image.height) x \(s.image.channels) after the transforms, \(entries[order[positions.lowerBound]].path) is \(first.width) x \(first.height) x \(first.channels): add a resize (and a channels step) to the pipeline")
        }
        var values: [Float] = []
        values.reserveCapacity(samples.count * first.values.count)
        for s in samples { values += s.image.channelsFirst() }
        let images = try Tensor(values, shape: [samples.count, first.channels, first.height, first.width])
        var targets: Tensor?
        let labelled = positions.map { entries[order[$0]] }
        if labelled.allSatisfy({ $0.label != nil }) && !classes.isEmpty {
            let index = Dictionary(classes.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            if options.multiLabel {
                var hot = [Float](repeating: 0, count: labelled.count * classes.count)
                for (i, e) in labelled.enumerated() { for l in e.labels { if let c = index[l] { hot[i * classes.count + c] = 1 } } }
                targets = try Tensor(hot, shape: [labelled.count, classes.count])
            } else {
                targets = try Tensor(labelled.map { Int64(index[$0.label!] ?? -1) }, shape: [labelled.count])
            }
        }
        var masks: Tensor?
        if samples.allSatisfy({ $0.mask != nil }) {
            var m: [Int64] = []
            for s in samples { m += s.mask!.values.map { Int64($0.rounded()) } }
            masks = try Tensor(m, shape: [samples.count, first.height, first.width])
        }
        return Batch(images: images, targets: targets, masks: masks, paths: labelled.map(\.path))
    }
}

/// Decoded samples kept across epochs when the loader's cache is on.
final class DecodedCache: Sendable {
    let enabled: Bool
    private let storage = Locked<[String: Sample]>([:])
    init(enabled: Bool) { self.enabled = enabled }
    func get(_ key: String, _ make: () throws -> Sample) throws -> Sample {
        guard enabled else { return try make() }
        if let hit = storage.withLock({ $0[key] }) { return hit }
        let value = try make()
        storage.withLock { $0[key] = value }
        return value
    }
}

/// Shared between an epoch's iterator and its workers, so that dropping the iterator stops them.
/// `@unchecked Sendable`: every field is only touched while holding `condition`, a condition variable
/// (workers wait on it for room ahead of the consumer, which `Locked` cannot express).
final class EpochState: @unchecked Sendable {
    let condition = NSCondition()
    var results: [Int: Result<Batch, Error>] = [:]
    var claimed = 0
    var consumed = 0
    var stopped = false

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}

/// The batches of one epoch; worker threads build up to `prefetch` batches ahead of `next()`.
public final class EpochIterator: IteratorProtocol, Sequence {
    let loader: DataLoader
    let epoch: Int
    let total: Int
    private let state = EpochState()
    /// The first error a batch raised; iteration ends there.
    public private(set) var error: Error?

    init(loader: DataLoader, epoch: Int) {
        self.loader = loader
        self.epoch = epoch
        let order = loader.order(epoch: epoch)
        total = loader.count
        let (state, total, prefetch) = (state, total, loader.options.prefetch)
        for _ in 0..<Swift.min(loader.options.workers, Swift.max(total, 1)) {
            let thread = Thread {
                while true {
                    state.condition.lock()
                    while !state.stopped && state.claimed < total && state.claimed - state.consumed >= prefetch { state.condition.wait() }
                    if state.stopped || state.claimed >= total { state.condition.unlock(); return }
                    let b = state.claimed
                    state.claimed += 1
                    state.condition.unlock()
                    let result = Result { try loader.batch(b, epoch: epoch, order: order) }
                    state.condition.lock()
                    state.results[b] = result
                    state.condition.broadcast()
                    state.condition.unlock()
                }
            }
            thread.stackSize = 4 << 20
            thread.start()
        }
    }

    deinit { state.stop() }

    /// The next batch, or nil at the end of the epoch (or after an error, kept in `error`).
    public func next() -> Batch? {
        state.condition.lock()
        defer { state.condition.unlock() }
        guard state.consumed < total, error == nil else {
            state.stopped = true
            state.condition.broadcast()
            return nil
        }
        while state.results[state.consumed] == nil { state.condition.wait() }
        let result = state.results.removeValue(forKey: state.consumed)!
        state.consumed += 1
        state.condition.broadcast()
        switch result {
        case .success(let batch): return batch
        case .failure(let e):
            error = e
            state.stopped = true
            return nil
        }
    }

    /// The next batch, throwing the error a worker hit.
    public func nextBatch() throws -> Batch? {
        let batch = next()
        if let error { throw error }
        return batch
    }
}
