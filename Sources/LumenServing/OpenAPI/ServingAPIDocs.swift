import Foundation

/// Hand-written documentation of the serving, model and operations routes, and the schemas they use.
enum ServingAPIDocs {
    typealias Operation = OpenAPIDocument.Operation

    static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }

    static func json(_ schema: [String: Any], required: Bool = true) -> [String: Any] {
        ["required": required, "content": ["application/json": ["schema": schema]]]
    }

    static func operation(method: String, path: String) -> Operation? {
        let version = (name: "version", description: "serve this version only (it must be the one served, or one a traffic policy loaded)", schema: ["type": "integer", "minimum": 1] as [String: Any])
        switch (method, path) {
        case ("get", "/health"): return Operation(tag: "operations", summary: "Liveness of the process", response: ["type": "string"], responseType: "text/plain")
        case ("get", "/version"): return Operation(tag: "operations", summary: "Lumen's version", response: ["type": "string"], responseType: "text/plain")
        case ("get", "/metrics"): return Operation(tag: "operations", summary: "Prometheus metrics (text exposition format)", response: ["type": "string"], responseType: "text/plain")
        case ("get", "/openapi.json"): return Operation(tag: "operations", summary: "This OpenAPI document")
        case ("get", "/docs"): return Operation(tag: "operations", summary: "This API, rendered as a page (no external resources)", response: ["type": "string"], responseType: "text/html")
        case ("get", "/v2/health/live"): return Operation(tag: "inference", summary: "OIP: server live", response: ref("Liveness"))
        case ("get", "/v2/health/ready"): return Operation(tag: "inference", summary: "OIP: every model loaded and warmed up", response: ref("Readiness"))
        case ("get", "/v2"): return Operation(tag: "inference", summary: "OIP: server metadata", response: ref("ServerMetadata"))
        case ("get", "/v2/models/{name}"), ("get", "/v2/models/{name}/versions/{version}"):
            return Operation(tag: "inference", summary: "OIP: model metadata (input tensor, outputs, task, classes)", response: ref("ModelMetadata"))
        case ("get", "/v2/models/{name}/ready"), ("get", "/v2/models/{name}/versions/{version}/ready"):
            return Operation(tag: "inference", summary: "OIP: model ready (200) or not (4xx)", response: ref("Readiness"))
        case ("post", "/v2/models/{name}/infer"), ("post", "/v2/models/{name}/versions/{version}/infer"):
            return Operation(tag: "inference", summary: "OIP: infer on the network's input tensor (N × C × H × W, preprocessed)",
                             description: "JSON tensors, or the binary tensor extension: the JSON header first (its length in the Inference-Header-Content-Length header), then the raw little-endian tensors. Requests are batched with others; the traffic policy picks the version unless the path names one.",
                             requestBody: ["required": true, "content": ["application/json": ["schema": ref("InferRequest")],
                                                                        "application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]],
                             response: ref("InferResponse"), statuses: ["413", "422", "503"])
        case ("post", "/api/predict/{name}"):
            return Operation(tag: "inference", summary: "Predict uploaded images (DICOM, NIfTI, PNG, JPEG, TIFF) with the model's own preprocessing",
                             description: "multipart/form-data with one or more files, or one file as the body. The answer holds class probabilities (multi-label: findings; segmentation: a mask PNG), the version that answered and the input gate's verdict.",
                             requestBody: ["required": true, "content": ["multipart/form-data": ["schema": ["type": "object", "properties": ["files": ["type": "array", "items": ["type": "string", "format": "binary"]]]]],
                                                                        "application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]],
                             response: ref("PredictAnswer"),
                             query: [version, ("explain", "gradcam: add a Grad-CAM heat map (PNG, base64) per image", ["type": "string", "enum": ["gradcam"]]),
                                     ("filename", "the file's name when it is sent as the body", ["type": "string"])],
                             statuses: ["413", "422", "503"])
        case ("post", "/api/feedback"):
            return Operation(tag: "models", summary: "Ground truth for served predictions, by the prediction_id their answers gave; writer",
                             requestBody: json(["type": "object", "properties": ["feedback": ["type": "array", "items": ["type": "object", "required": ["prediction_id", "label"],
                                 "properties": ["prediction_id": ["type": "string"], "label": ["type": "string"]]]]]]),
                             response: ["type": "object", "properties": ["recorded": ["type": "integer"], "updated": ["type": "integer"], "unknown": ["type": "array", "items": ["type": "string"]]]],
                             statuses: ["413"])
        case ("get", "/api/models"): return Operation(tag: "models", summary: "Served models: version, task, classes, input, queue", response: ["type": "object", "properties": ["models": ["type": "array", "items": ref("ServedModel")]]])
        case ("post", "/api/models/{name}/reload"): return Operation(tag: "models", summary: "Load the version the model's alias names now (beside the old one, then swap); admin",
                                                                     response: ["type": "object", "properties": ["model": ["type": "string"], "version": ["type": "integer"], "changed": ["type": "boolean"]]])
        case ("get", "/api/models/{name}/traffic"): return Operation(tag: "models", summary: "The model's traffic policy", response: ["type": "object"])
        case ("put", "/api/models/{name}/traffic"): return Operation(tag: "models", summary: "Set the traffic policy (A/B split, canary, shadow); admin",
                                                                     requestBody: json(ref("TrafficPolicy")), response: ["type": "object"])
        case ("delete", "/api/models/{name}/traffic"): return Operation(tag: "models", summary: "Remove the traffic policy; admin", response: ["type": "object"])
        default: return nil
        }
    }

    static var schemas: [String: Any] {
        let tensor: [String: Any] = ["type": "object", "required": ["name", "shape", "datatype"], "properties": [
            "name": ["type": "string"], "shape": ["type": "array", "items": ["type": "integer", "minimum": 0]],
            "datatype": ["type": "string", "enum": ["FP32", "FP64", "FP16", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "BOOL"]],
            "data": ["type": "array"], "parameters": ["type": "object"]]]
        return [
            "Error": ["type": "object", "description": "why the request was refused (OIP: error; MLflow: error_code and message)",
                      "properties": ["error": ["type": "string"], "error_code": ["type": "string"], "message": ["type": "string"], "gate": ["type": "object"]]],
            "Liveness": ["type": "object", "properties": ["live": ["type": "boolean"]]],
            "Readiness": ["type": "object", "properties": ["ready": ["type": "boolean"]]],
            "ServerMetadata": ["type": "object", "required": ["name", "version", "extensions"],
                               "properties": ["name": ["type": "string"], "version": ["type": "string"], "extensions": ["type": "array", "items": ["type": "string"]]]],
            "TensorMetadata": ["type": "object", "properties": ["name": ["type": "string"], "datatype": ["type": "string"], "shape": ["type": "array", "items": ["type": "integer"]]]],
            "ModelMetadata": ["type": "object", "required": ["name", "versions", "platform", "inputs", "outputs"], "properties": [
                "name": ["type": "string"], "versions": ["type": "array", "items": ["type": "string"]], "platform": ["type": "string"],
                "inputs": ["type": "array", "items": ref("TensorMetadata")], "outputs": ["type": "array", "items": ref("TensorMetadata")], "parameters": ["type": "object"]]],
            "InferRequest": ["type": "object", "required": ["inputs"], "properties": [
                "id": ["type": "string"], "inputs": ["type": "array", "items": tensor],
                "outputs": ["type": "array", "items": ["type": "object", "properties": ["name": ["type": "string"], "parameters": ["type": "object"]]]],
                "parameters": ["type": "object"]]],
            "InferResponse": ["type": "object", "required": ["model_name", "outputs"], "properties": [
                "model_name": ["type": "string"], "model_version": ["type": "string"], "id": ["type": "string"], "outputs": ["type": "array", "items": tensor]]],
            "PredictAnswer": ["type": "object", "required": ["model", "version", "predictions", "gate"], "properties": [
                "model": ["type": "string"], "version": ["type": "integer"], "served_as": ["type": "string"], "route": ["type": "string"],
                "latency_ms": ["type": "number"], "batch_size": ["type": "integer"], "gate": ["type": "object"],
                "predictions": ["type": "array", "items": ["type": "object", "properties": [
                    "file": ["type": "string"], "label": ["type": "string"], "probabilities": ["type": "object", "additionalProperties": ["type": "number"]],
                    "findings": ["type": "array", "items": ["type": "string"]], "mask": ["type": "object"], "gradcam_png_base64": ["type": "string"]]]]]],
            "ServedModel": ["type": "object", "properties": ["name": ["type": "string"], "version": ["type": "integer"], "served_as": ["type": "string"],
                                                             "task": ["type": "string"], "classes": ["type": "array", "items": ["type": "string"]], "queue": ["type": "integer"]]],
            "TrafficPolicy": ["type": "object", "additionalProperties": false, "properties": [
                "split": ["type": "array", "items": ["type": "object", "required": ["model", "weight"], "properties": ["model": ["type": "string"], "weight": ["type": "number", "minimum": 0]]]],
                "canary": ["type": "object", "required": ["model", "percent"], "properties": ["model": ["type": "string"], "percent": ["type": "number", "minimum": 0, "maximum": 100]]],
                "shadow": ["type": "string"], "sticky_header": ["type": "string"]]],
        ]
    }
}
