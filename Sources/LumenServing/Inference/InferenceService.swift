import Crypto
import Foundation
import LumenImaging
import LumenInference
import LumenStore

/// Limits on what a prediction request may carry.
public struct UploadLimits: Sendable {
    /// Largest request body (all files together), in bytes.
    public var maxBytes = 64 * 1024 * 1024
    /// Most files in one upload.
    public var maxFiles = 64
    public init() {}
}

/// Prediction for the routes: the served model looked up, the inputs batched with other requests on a
/// compute thread, the answer timed, counted in `/metrics` and logged to the store in the background.
public struct InferenceService: Sendable {
    public let host: ModelHost
    public let logger: PredictionLogger?
    public let metrics: ServingMetrics?
    public let limits: UploadLimits

    public init(host: ModelHost, logger: PredictionLogger?, metrics: ServingMetrics?, limits: UploadLimits = UploadLimits()) {
        self.host = host
        self.logger = logger
        self.metrics = metrics
        self.limits = limits
    }

    /// A prediction's outcome with what the logs and the answer need.
    public struct Outcome: Sendable {
        public let model: ServedModel
        /// How the version was chosen: `primary`, `split`, `canary` or `pinned`.
        public let role: String
        public let predictions: [Prediction]
        public let batchSize: Int
        public let latency: Double
    }

    /// The inputs of a request as one version takes them: its planes, and what the log keeps of each.
    public typealias Inputs = @Sendable (ServedModel) throws -> (planes: [Plane], described: [[String: String]])

    /// Predicts with the version of `name` that the traffic policy picks (or the pinned `version`),
    /// batched with other requests; a shadow version, when the policy names one, runs on a copy of the
    /// inputs afterwards, its answers logged and never returned.
    public func predict(_ name: String, version: Int64?, stickyKey: String? = nil, started: Double, inputs: @escaping Inputs) async throws -> Outcome {
        let route = try await host.route(name, version: version, stickyKey: stickyKey)
        let model = route.model
        let label = String(model.version.version)
        do {
            let (planes, described) = try inputs(model)
            for plane in planes where plane.width != model.spec.inputWidth || plane.height != model.spec.inputHeight || plane.channels != model.spec.inputChannels {
                throw ServingError.badInput("input of \(plane.channels) × \(plane.height) × \(plane.width); \(name) version \(label) takes \(model.spec.inputChannels) × \(model.spec.inputHeight) × \(model.spec.inputWidth)")
            }
            let (predictions, batchSize) = try await model.batcher.predict(planes)
            let latency = monotonicSeconds() - started
            metrics?.recordPrediction(model: name, version: label, status: 200, seconds: latency)
            await log(name, model, route.role, predictions, described, latency)
            if let shadow = route.shadow { runShadow(shadow, name: name, inputs: inputs) }
            return Outcome(model: model, role: route.role, predictions: predictions, batchSize: batchSize, latency: latency)
        } catch let error as ServingError {
            metrics?.recordPrediction(model: name, version: label, status: Int(error.status.code), seconds: monotonicSeconds() - started)
            switch error {
            case .overloaded: metrics?.recordRejection(model: name, reason: "queue_full")
            case .timedOut: metrics?.recordRejection(model: name, reason: "timeout")
            default: break
            }
            throw error
        } catch {
            metrics?.recordPrediction(model: name, version: label, status: 400, seconds: monotonicSeconds() - started)
            throw ServingError.badInput("\(error)")
        }
    }

    /// The shadow version on the same inputs, in the background: logged with role `shadow`, never answered.
    func runShadow(_ shadow: ServedModel, name: String, inputs: @escaping Inputs) {
        Task {
            let started = monotonicSeconds()
            do {
                let (planes, described) = try inputs(shadow)
                let (predictions, _) = try await shadow.batcher.predict(planes)
                let latency = monotonicSeconds() - started
                metrics?.recordPrediction(model: name, version: "\(shadow.version.version)-shadow", status: 200, seconds: latency)
                await log(name, shadow, "shadow", predictions, described, latency)
            } catch {
                metrics?.recordRejection(model: name, reason: "shadow_failed")
            }
        }
    }

    func log(_ name: String, _ model: ServedModel, _ role: String, _ predictions: [Prediction], _ described: [[String: String]], _ latency: Double) async {
        guard let logger else { return }
        for (prediction, input) in zip(predictions, described) {
            await logger.log(PredictionLog(modelName: name, modelVersion: model.version.version, features: Self.json(input),
                                           outputs: Self.json(["probabilities": prediction.probabilities, "labels": prediction.labels, "route": role]), latency: latency))
        }
    }

    /// What the log keeps of an input: its SHA-256 and a few statistics (for drift), not its pixels.
    public static func describe(bytes: [UInt8]?, plane: Plane, file: String? = nil) -> [String: String] {
        var out: [String: String] = [:]
        let digest = bytes.map { SHA256.hash(data: $0) } ?? plane.values.withUnsafeBytes { SHA256.hash(data: $0) }
        out["input_sha256"] = digest.map { String(format: "%02x", $0) }.joined()
        let n = Double(max(plane.values.count, 1))
        let mean = plane.values.reduce(0.0) { $0 + Double($1) } / n
        let variance = plane.values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        out["mean"] = String(format: "%.6g", mean)
        out["std"] = String(format: "%.6g", variance.squareRoot())
        if let file { out["extension"] = (file as NSString).pathExtension.lowercased() }
        return out
    }

    static func json(_ object: [String: Any]) -> String { String(decoding: JSONWriter.encode(object), as: UTF8.self) }
}
