import Foundation
import Hummingbird
import HummingbirdTesting
import LumenData
import LumenImaging
import LumenInference
import LumenNN
@testable import LumenServing
import LumenStore
import LumenTensor
import LumenWorkspace
import NIOCore

/// A store with registered SimpleCNN versions of a 2-class grey 32 × 32 classifier (different weights per
/// version, `champion` on version 1), and a server serving `m@champion`.
struct ServingFixture {
    let folder: URL
    let store: SQLStore
    let artifacts: ArtifactStore
    let host: ModelHost
    let logger: PredictionLogger
    let metrics: ServingMetrics
    let service: InferenceService
    /// Weights file of each version, to build an independent predictor from.
    let weights: [Int64: URL]

    static func spec(sha: String) -> ModelSpec {
        ModelSpec(task: .classification, architecture: .simpleCNN, inputChannels: 1, inputHeight: 32, inputWidth: 32, classes: ["normal", "pneumonia"],
                  positiveClass: "pneumonia", preprocessing: Pipeline([.resize(width: 32, height: 32), .channels(1), .normalize(.minMax)]),
                  checkpoint: .init(path: "checkpoints/best.safetensors", sha256: sha), libtorchVersion: Runtime.libtorchVersion, lumenVersion: "test")
    }

    static func make(versions: Int = 2, batching: BatchingOptions = BatchingOptions(), limits: UploadLimits = UploadLimits(), threads: Int = 1,
                     keepInputs: Bool = false) async throws -> ServingFixture {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-serving-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try await SQLStore.sqlite(path: folder.appendingPathComponent("lumen.db").path)
        let artifacts = ArtifactStore(root: folder.appendingPathComponent("artifacts"))
        _ = try await store.createRegisteredModel(name: "m", description: "", tags: [:])
        var weights: [Int64: URL] = [:]
        for v in 1...versions {
            Runtime.manualSeed(UInt64(40 + v))
            let network = try SimpleCNN(inChannels: 1, numClasses: 2)
            let file = folder.appendingPathComponent("v\(v).safetensors")
            try network.save(to: file)
            let (sha, _) = try artifacts.put(try Data(contentsOf: file))
            let version = try await store.createModelVersion(name: "m", source: "test", runID: nil, description: "", tags: [:], signature: nil,
                                                             preprocessing: nil, spec: try spec(sha: sha).json())
            weights[version.version] = file
        }
        try await store.setAlias(name: "m", alias: "champion", version: 1)
        let metrics = ServingMetrics()
        let host = ModelHost(store: store, artifacts: artifacts, pool: ComputePool(threads: threads), options: batching, metrics: metrics)
        try await host.load(ModelReference(parsing: "m@champion"))
        let logger = PredictionLogger(store: store)
        let keeper = keepInputs ? InputKeeper(artifacts: artifacts, deidentifier: DeIdentifier(key: WorkspaceKey(try await store.deidentificationSecret()))) : nil
        let service = InferenceService(host: host, logger: logger, metrics: metrics, limits: limits, keeper: keeper)
        return ServingFixture(folder: folder, store: store, artifacts: artifacts, host: host, logger: logger, metrics: metrics, service: service, weights: weights)
    }

    /// The server over this fixture; `port` 0 (for `.live` tests) takes a free one.
    func app(port: Int = 5000, idleTimeout: Double = 60) -> some ApplicationProtocol {
        var configuration = ServerConfiguration()
        configuration.port = port
        configuration.idleTimeout = idleTimeout
        configuration.inference = service
        configuration.metrics = metrics
        configuration.maxRequestBytes = 1024 * 1024
        return makeServer(store: store, artifacts: artifacts, configuration: configuration)
    }

    /// A predictor of `version` built apart from the server, to compare answers with.
    func reference(_ version: Int64) throws -> Predictor {
        try Predictor(spec: Self.spec(sha: String(repeating: "0", count: 64)), weights: weights[version]!)
    }

    /// Keeps the served model's network busy for `seconds` (as under load), so that requests queue behind it,
    /// or, with `untilQueued`, until that many images wait (at most `seconds`); returns once the job is running.
    func occupyNetwork(seconds: Double, untilQueued: Int? = nil) async throws -> Task<Int, any Error> {
        let batcher = try await host.model("m").batcher
        let job = Task {
            try await batcher.run { _ in
                let end = Date().addingTimeInterval(seconds)
                while Date() < end && (untilQueued.map { batcher.depth < $0 } ?? true) { Thread.sleep(forTimeInterval: 0.01) }
                return 0
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        return job
    }

    func close() async {
        await logger.close()
        try? await store.close()
        try? FileManager.default.removeItem(at: folder)
    }
}

/// A grey PNG of `size` × `size` with a bright square whose place depends on `seed`.
func testPNG(seed: Int, size: Int = 40) throws -> [UInt8] {
    var pixels = [UInt8](repeating: 20, count: size * size)
    let x0 = (seed * 7) % (size / 2), y0 = (seed * 13) % (size / 2)
    for y in y0..<(y0 + size / 3) { for x in x0..<(x0 + size / 4) { pixels[y * size + x] = 230 } }
    return try ImageWriter.encode(".png", data: pixels, width: size, height: size, channels: 1, type: .uint8)
}

/// A multipart/form-data body of `files` (name, bytes) under the boundary `BOUNDARY`.
func multipart(_ files: [(String, [UInt8])], boundary: String = "lumen-test-boundary") -> (ByteBuffer, HTTPFields) {
    var body: [UInt8] = []
    for (name, bytes) in files {
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\(name)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        body += bytes
        body += Array("\r\n".utf8)
    }
    body += Array("--\(boundary)--\r\n".utf8)
    return (ByteBuffer(bytes: body), [.contentType: "multipart/form-data; boundary=\(boundary)"])
}

func json(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]) ?? [:]
}
