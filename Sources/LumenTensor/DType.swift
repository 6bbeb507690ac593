import CTorch

/// Element type of a tensor; raw values are the bridge's dtype codes.
public enum DType: Int32, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case float32 = 0, float64 = 1, float16 = 2, bfloat16 = 3, int64 = 4, int32 = 5, uint8 = 6, bool = 7

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16: return 2
        case .uint8, .bool: return 1
        }
    }

    public var isFloatingPoint: Bool { [.float32, .float64, .float16, .bfloat16].contains(self) }

    /// The name PyTorch prints (`torch.float32`).
    public var description: String {
        switch self {
        case .float32: return "torch.float32"
        case .float64: return "torch.float64"
        case .float16: return "torch.float16"
        case .bfloat16: return "torch.bfloat16"
        case .int64: return "torch.int64"
        case .int32: return "torch.int32"
        case .uint8: return "torch.uint8"
        case .bool: return "torch.bool"
        }
    }

    /// The dtype code used in safetensors headers (`F32`, `I64`, …).
    public var safetensorsName: String {
        switch self {
        case .float32: return "F32"
        case .float64: return "F64"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .int64: return "I64"
        case .int32: return "I32"
        case .uint8: return "U8"
        case .bool: return "BOOL"
        }
    }

    public init?(safetensorsName: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = match
    }
}
