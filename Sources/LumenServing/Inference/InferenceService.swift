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
    /// Keeps uploads (de-identified DICOM) in the artifact store when set (`--keep-inputs`).
    public let keeper: InputKeeper?

    public init(host: ModelHost, logger: PredictionLogger?, metrics: ServingMetrics?, limits: UploadLimits = UploadLimits(), keeper: InputKeeper? = nil) {
        self.host = host
        self.logger = logger
        self.metrics = metrics
        self.limits = limits
        self.keeper = keeper
    }

    /// A prediction's outcome with what the logs and the answer need.
    public struct Outcome: Sendable {
        public let model: ServedModel
        /// How the version was chosen: `primary`, `split`, `canary` or `pinned`.
        public let role: String
        public let predictions: [Prediction]
        public let batchSize: Int
        public let latency: Double
        /// The input gate's verdict per image (accepted, since a refusal throws).
        public let verdicts: [GateVerdict]
        /// The id of each prediction, for ground-truth feedback (`POST /api/feedback`).
        public let ids: [String]

        /// The gate part of an answer.
        public var gateJSON: [String: Any] {
            guard model.gate != nil else { return PredictionAnswer.noGate }
            return ["verdict": "accepted", "reason": model.gate!.summary, "images": verdicts.map(\.json)]
        }
    }

    /// The inputs of a request as one version takes them: its planes, and what the log keeps of each.
    /// Whether answers are logged (`--no-prediction-log` turns it off): the routes describe each input only then.
    public var logsPredictions: Bool { logger != nil }

    public typealias Inputs = @Sendable (ServedModel) throws -> (planes: [Plane], described: [[String: String]])

    /// Predicts with the version of `name` that the traffic policy picks (or the pinned `version`),
    /// batched with other requests; a shadow version, when the policy names one, runs on a copy of the
    /// inputs afterwards, its answers logged and never returned.
    public func predict(_ name: String, version: Int64?, stickyKey: String? = nil, started: Double, inputs: @escaping Inputs) async throws -> Outcome {
        let route = try await host.route(name, version: version, stickyKey: stickyKey)
        let model = route.model
        let label = String(model.version.version)
        do {
            let (planes, described) = try await model.batcher.arriving { try inputs(model) }
            for plane in planes where plane.width != model.spec.inputWidth || plane.height != model.spec.inputHeight || plane.channels != model.spec.inputChannels {
                throw ServingError.badInput("input of \(plane.channels) × \(plane.height) × \(plane.width); \(name) version \(label) takes \(model.spec.inputChannels) × \(model.spec.inputHeight) × \(model.spec.inputWidth)")
            }
            var verdicts = planes.map { _ in GateVerdict(accepted: true, reason: "no input gate declared for this version") }
            if let gate = model.gate, let classifier = model.gateClassifier {
                // The gate classifier runs first: what it refuses never reaches the model.
                let (gatePlanes, _) = try inputs(classifier)
                let (answers, _, _, _) = try await classifier.batcher.predict(gatePlanes)
                for (i, p) in answers.enumerated() {
                    verdicts[i] = gate.judge(classifierPrediction: p, classes: classifier.spec.classes, classifier: classifier.reference.description)
                }
                try await refuseIfGated(name, model, verdicts, described, started)
            }
            let (predictions, batchSize, embeddings, logits) = try await model.batcher.predict(planes)
            if let gate = model.gate, gate.method != nil {
                for i in predictions.indices {
                    verdicts[i] = gate.judge(verdicts[i], embedding: embeddings?[i], logits: logits?[i], hasClassifier: model.gateClassifier != nil)
                }
                try await refuseIfGated(name, model, verdicts, described, started)
            }
            let latency = monotonicSeconds() - started
            metrics?.recordPrediction(model: name, version: label, status: 200, seconds: latency)
            let ids = predictions.map { _ in UUID().uuidString.lowercased() }
            let projected = model.projection.flatMap { pca in embeddings.map { $0.map { pca.project($0) } } }
            await log(name, model, route.role, predictions, described, latency, ids: ids, embeddings: projected)
            if let shadow = route.shadow { runShadow(shadow, name: name, inputs: inputs) }
            return Outcome(model: model, role: route.role, predictions: predictions, batchSize: batchSize, latency: latency, verdicts: verdicts, ids: ids)
        } catch let error as ServingError {
            metrics?.recordPrediction(model: name, version: label, status: Int(error.status.code), seconds: monotonicSeconds() - started)
            switch error {
            case .overloaded: metrics?.recordRejection(model: name, reason: "queue_full")
            case .timedOut: metrics?.recordRejection(model: name, reason: "timeout")
            default: break
            }
            if case .gated = error {} else { await logFailure(name, model, status: Int(error.status.code), started: started) }
            throw error
        } catch {
            metrics?.recordPrediction(model: name, version: label, status: 400, seconds: monotonicSeconds() - started)
            await logFailure(name, model, status: 400, started: started)
            throw ServingError.badInput("\(error)")
        }
    }

    /// A failed request in the log (route `error`, its status), for the error rate of anomaly detection and alerts.
    func logFailure(_ name: String, _ model: ServedModel, status: Int, started: Double) async {
        await logger?.log(PredictionLog(modelName: name, modelVersion: model.version.version, features: "{}",
                                        outputs: Self.json(["route": "error", "status": status] as [String: Any]), latency: monotonicSeconds() - started))
    }

    /// Throws a 422 when the gate refused any image, after logging the refusal (no outputs, the reason).
    func refuseIfGated(_ name: String, _ model: ServedModel, _ verdicts: [GateVerdict], _ described: [[String: String]], _ started: Double) async throws {
        guard verdicts.contains(where: { !$0.accepted }) else { return }
        metrics?.recordRejection(model: name, reason: "gate")
        if let logger {
            for (verdict, input) in zip(verdicts, described) where !verdict.accepted {
                await logger.log(PredictionLog(modelName: name, modelVersion: model.version.version, features: Self.json(input),
                                               outputs: Self.json(["route": "gated", "reason": verdict.reason] as [String: Any]), latency: monotonicSeconds() - started))
            }
        }
        let refused = verdicts.filter { !$0.accepted }
        throw ServingError.gated("the input gate of \(name) version \(model.version.version) refused \(refused.count) of \(verdicts.count) image(s): \(refused[0].reason)", verdicts: verdicts)
    }

    /// The shadow version on the same inputs, in the background: logged with role `shadow`, never answered.
    func runShadow(_ shadow: ServedModel, name: String, inputs: @escaping Inputs) {
        Task {
            let started = monotonicSeconds()
            do {
                let (planes, described) = try inputs(shadow)
                let (predictions, _, embeddings, _) = try await shadow.batcher.predict(planes)
                let latency = monotonicSeconds() - started
                metrics?.recordPrediction(model: name, version: "\(shadow.version.version)-shadow", status: 200, seconds: latency)
                let projected = shadow.projection.flatMap { pca in embeddings.map { $0.map { pca.project($0) } } }
                await log(name, shadow, "shadow", predictions, described, latency, embeddings: projected)
            } catch {
                metrics?.recordRejection(model: name, reason: "shadow_failed")
            }
        }
    }

    func log(_ name: String, _ model: ServedModel, _ role: String, _ predictions: [Prediction], _ described: [[String: String]], _ latency: Double,
             ids: [String]? = nil, embeddings: [[Double]]? = nil) async {
        guard let logger else { return }
        for (i, (prediction, input)) in zip(predictions, described).enumerated() {
            var features: [String: Any] = input
            // The embedding in the reference's PCA components (4 significant digits are plenty for drift tests).
            if let e = embeddings?[i], !e.isEmpty { features["embedding"] = e.map { ($0 * 1e4).rounded() / 1e4 } }
            await logger.log(PredictionLog(modelName: name, modelVersion: model.version.version, features: Self.json(features),
                                           outputs: Self.json(["probabilities": prediction.probabilities, "labels": prediction.labels, "route": role]), latency: latency,
                                           id: ids.map { $0[i] }))
        }
    }

    /// What the log keeps of an input: its SHA-256, the monitoring features of the preprocessed input
    /// (`InputFeatures`: intensity mean, spread, percentiles, entropy) and of its acquisition (modality,
    /// manufacturer, kVp, …, sex and age band), never its pixels or anything that identifies a patient.
    public static func describe(bytes: [UInt8]?, plane: Plane, file: String? = nil, image: MedicalImage? = nil) -> [String: String] {
        var out: [String: String] = image.map(InputFeatures.acquisition) ?? [:]
        let digest = bytes.map { SHA256.hash(data: $0) } ?? plane.values.withUnsafeBytes { SHA256.hash(data: $0) }
        out["input_sha256"] = digest.map { String(format: "%02x", $0) }.joined()
        for (name, value) in InputFeatures.of(plane) { out[name] = String(format: "%.6g", value) }
        if let file { out["extension"] = (file as NSString).pathExtension.lowercased() }
        return out
    }

    static func json(_ object: [String: Any]) -> String { String(decoding: JSONWriter.encode(object), as: UTF8.self) }
}
