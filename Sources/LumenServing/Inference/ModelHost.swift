import Foundation
import LumenInference
import LumenMonitoring
import LumenStore
import LumenTensor
import LumenWorkspace

/// A registered model version loaded, warmed up and answering through its batcher.
public final class ServedModel: Sendable {
    /// The registered model's name (the name in routes).
    public let name: String
    /// How it was asked for (`NAME@ALIAS`, `NAME/3`, `NAME`): what a reload resolves again.
    public let reference: ModelReference
    public let version: ModelVersion
    public let batcher: Batcher
    public let loadedAt: Date
    public var predictor: Predictor { batcher.predictor }
    public var spec: ModelSpec { batcher.predictor.spec }
    /// What the version accepts (its `lumen.gate`), and the gate classifier that gate names, loaded.
    public let gate: InputGate?
    public let gateClassifier: ServedModel?
    /// The PCA of the version's reference profile: each prediction's embedding is logged in its components.
    public let projection: PCA?

    init(name: String, reference: ModelReference, version: ModelVersion, batcher: Batcher, gate: InputGate? = nil, gateClassifier: ServedModel? = nil,
         projection: PCA? = nil) {
        self.name = name
        self.reference = reference
        self.version = version
        self.batcher = batcher
        self.gate = gate
        self.gateClassifier = gateClassifier
        self.projection = projection
        self.loadedAt = Date()
    }

    /// The same loaded version under another reference.
    func renamed(_ reference: ModelReference) -> ServedModel {
        ServedModel(name: name, reference: reference, version: version, batcher: batcher, gate: gate, gateClassifier: gateClassifier, projection: projection)
    }
}

/// The models `lumen serve` answers for, by name. A model is loaded and warmed up beside the version it
/// replaces, then swapped in one step; the old version answers what it already queued, then is released.
/// So a moved alias is picked up with no failed request.
public actor ModelHost {
    public let store: any Store
    let artifacts: ArtifactStore
    public let pool: ComputePool
    let options: BatchingOptions
    let metrics: ServingMetrics?
    private var models: [String: ServedModel] = [:]
    private var loading: Set<String> = []
    /// Other versions loaded for traffic policies, by name and version.
    var variants: [String: [Int64: ServedModel]] = [:]
    /// Traffic policies by model name, and their routes resolved to versions.
    var policies: [String: TrafficPolicy] = [:]
    var routes: [String: ResolvedRoutes] = [:]

    /// Whether served versions compute what monitoring logs beyond the answer (the embedding in the
    /// reference's PCA components); off with `--no-prediction-log`.
    let monitoring: Bool

    public init(store: any Store, artifacts: ArtifactStore, pool: ComputePool, options: BatchingOptions = BatchingOptions(), metrics: ServingMetrics? = nil,
                monitoring: Bool = true) {
        self.monitoring = monitoring
        self.store = store
        self.artifacts = artifacts
        self.pool = pool
        self.options = options
        self.metrics = metrics
    }

    /// Every model served now, by name.
    public var all: [ServedModel] { models.keys.sorted().map { models[$0]! } }

    /// Whether every requested model is loaded and none is loading.
    public var isReady: Bool { loading.isEmpty }

    /// The model served under `name`; with `version`, only if that is the version loaded.
    public func model(_ name: String, version: Int64? = nil) throws(ServingError) -> ServedModel {
        guard let m = models[name] else {
            if loading.contains(name) { throw .notReady("model '\(name)' is loading") }
            throw .notFound("no model named '\(name)' is served here (served: \(models.keys.sorted().joined(separator: ", ")))")
        }
        if let version, version != m.version.version {
            if let variant = variants[name]?[version] { return variant }
            let served = ([m.version.version] + (variants[name]?.keys.sorted() ?? [])).map(String.init).joined(separator: ", ")
            throw .notFound("model '\(name)' version \(version) is not served here (served: \(served))")
        }
        return m
    }

    /// Loads what `reference` names (unless that version is already served), warms it up and serves it.
    /// Returns the model served and the version it replaced.
    @discardableResult
    public func load(_ reference: ModelReference) async throws -> (model: ServedModel, replaced: Int64?) {
        let version = try await store.modelVersion(reference)
        // The same version with the same gate and reference profile is served already (a new gate or
        // profile is a reason to load it again).
        let gateChanged = models[version.name].map {
            $0.version.tags[InputGate.tag] != version.tags[InputGate.tag] || $0.version.tags[ReferenceProfile.tag] != version.tags[ReferenceProfile.tag]
        } ?? false
        if let current = models[version.name], current.version.version == version.version, !gateChanged {
            if current.reference != reference { models[version.name] = current.renamed(reference) }
            return (models[version.name]!, nil)
        }
        loading.insert(version.name)
        defer { loading.remove(version.name) }
        let served = try await instantiate(version, reference: reference, fresh: gateChanged)
        let old = models[version.name]
        models[version.name] = served
        if let old, !isInUse(old.batcher) { pool.retire(old.batcher) }
        if gateChanged && old?.version.version == version.version { return (served, nil) }
        if policies[version.name] != nil { try? await resolvePolicy(version.name) }
        return (served, old?.version.version)
    }

    /// A served model for `version`: the batcher of that version when it is loaded already, else its
    /// predictor built on a thread of its own, given a batcher and warmed up.
    func instantiate(_ version: ModelVersion, reference: ModelReference, fresh: Bool = false) async throws -> ServedModel {
        let loaded = ([models[version.name]] + Array((variants[version.name] ?? [:]).values)).compactMap { $0 }
        if !fresh, let same = loaded.first(where: { $0.version.version == version.version }) { return same.renamed(reference) }
        let artifacts = self.artifacts
        let gate = try InputGate.load(version, artifacts: artifacts)
        var gateClassifier: ServedModel?
        if let classifier = gate?.classifier {
            let reference = try ModelReference(parsing: classifier)
            let gateVersion = try await store.modelVersion(reference)
            guard gateVersion.name != version.name else { throw ServingError.badInput("\(version.name) version \(version.version) names itself as its gate classifier") }
            gateClassifier = try await instantiate(gateVersion, reference: reference)
        }
        let predictor = try await onOwnThread { try Predictor.load(version, artifacts: artifacts) }
        let projection = monitoring ? try Self.projection(version, artifacts: artifacts) : nil
        let label = (version.name, String(version.version))
        let metrics = self.metrics
        let batcher = pool.batcher(for: predictor, options: options, embeddings: gate?.method == .mahalanobis || projection != nil,
                                   logits: gate?.method == .energy) { size in
            metrics?.recordBatch(size, model: label.0, version: label.1)
        }
        // Warm-up on its compute thread, so the first request is not the slow one: one image, then a full batch
        // (oneDNN compiles its kernels per batch size, and packed Winograd layers make their whole-batch weights at
        // the first batch of three or more).
        let spec = predictor.spec
        // (A batch never holds more than the queue does; past 32 images the kernels are the same and a warm-up
        // would only cost memory: `--max-batch` goes up to 4,096.)
        let full = min(options.maxBatch, options.queueCapacity, 32)
        let sizes = full >= 3 ? [1, full] : [1]
        do {
            for n in sizes {
                _ = try await batcher.run { p in
                    try p.predict(batch: Tensor.zeros([n, spec.inputChannels, spec.inputHeight, spec.inputWidth])).predictions.count
                }
            }
        } catch {
            pool.retire(batcher)
            throw error
        }
        return ServedModel(name: version.name, reference: reference, version: version, batcher: batcher, gate: gate, gateClassifier: gateClassifier,
                           projection: projection)
    }

    /// The embedding PCA of a version's reference profile, if it has one.
    static func projection(_ version: ModelVersion, artifacts: ArtifactStore) throws -> PCA? {
        guard let sha = version.tags[ReferenceProfile.tag] else { return nil }
        do {
            return try ReferenceProfile.decode(Data(contentsOf: try artifacts.url(for: sha))).embeddings?.pca
        } catch {
            throw ServingError.badInput("\(version.name) version \(version.version): its reference profile \(sha.prefix(12)) cannot be read: \(error)")
        }
    }

    /// Whether a batcher still serves the primary version or a variant of some model.
    func isInUse(_ batcher: Batcher) -> Bool {
        models.values.contains { $0.batcher === batcher } || variants.values.contains { $0.values.contains { $0.batcher === batcher } }
    }

    /// Resolves `name`'s reference again and loads the version it names now, if it moved.
    public func reload(_ name: String) async throws -> (model: ServedModel, replaced: Int64?) {
        guard let current = models[name] else { throw ServingError.notFound("no model named '\(name)' is served here") }
        return try await load(current.reference)
    }

    /// Reloads every model whose reference names another version than the one served; returns the
    /// names it moved. Errors are reported to `onError`, and the model keeps serving its version.
    public func poll(onError: @Sendable (String, any Error) -> Void = { _, _ in }) async -> [String] {
        var moved: [String] = []
        for (name, model) in models {
            do {
                let now = try await store.modelVersion(model.reference)
                if now.version != model.version.version || now.tags[InputGate.tag] != model.version.tags[InputGate.tag] {
                    try await load(model.reference)
                    moved.append(name)
                } else if policies[name] != nil, try await policyMoved(name) {
                    try await resolvePolicy(name)
                    moved.append(name)
                }
            } catch {
                onError(name, error)
            }
        }
        return moved.sorted()
    }
}

/// Runs `body` on a thread of its own (loading a network is libtorch work, kept off Swift's cooperative pool).
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 16 << 20
        thread.start()
    }
}
