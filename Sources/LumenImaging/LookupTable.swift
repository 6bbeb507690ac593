import Foundation

/// A DICOM lookup table (PS3.3 C.11.1 Modality LUT, C.11.2 VOI LUT): input values from `firstMapped`
/// on index `values`; inputs below it take the first entry, inputs past the end the last one.
public struct LookupTable: Codable, Sendable, Equatable {
    /// The input value that maps to `values[0]` (may be negative).
    public var firstMapped: Int
    /// Bits of each output value (LUT Descriptor's third value).
    public var bits: Int
    /// The output values, one per entry.
    public var values: [Int]

    public init(firstMapped: Int, bits: Int, values: [Int]) {
        self.firstMapped = firstMapped
        self.bits = bits
        self.values = values
    }

    /// The output for `input`, with the index truncated towards zero and clipped to the table, as
    /// pydicom's `apply_modality_lut` and `apply_voi` do.
    @inline(__always) public func apply(_ input: Double) -> Double {
        guard !values.isEmpty else { return input }
        var index = 0
        if input >= Double(firstMapped) {
            let offset = (input - Double(firstMapped)).rounded(.towardZero)
            index = offset >= Double(values.count - 1) ? values.count - 1 : Int(offset)
        }
        return Double(values[index])
    }

    /// The pixel type that holds the outputs: uint8 for 8-bit tables, uint16 otherwise.
    public var outputType: PixelType { bits <= 8 && values.allSatisfy({ $0 <= 255 }) ? .uint8 : .uint16 }
}

/// The VOI LUT Function (0028,1056) of a window: how values inside the window map to the output.
public enum WindowFunction: String, Codable, Sendable {
    case linear = "LINEAR", linearExact = "LINEAR_EXACT", sigmoid = "SIGMOID"
}

extension MedicalImage {
    /// The values for display, in 0…1, before any MONOCHROME1 inversion: the VOI LUT when the source
    /// has one (scaled by its output range), else `window` with the source's VOI LUT Function
    /// (PS3.3 C.11.2.1.2/3, DICOM's LINEAR by default), else the value range; a `window` given
    /// explicitly overrides them.
    public func displayValues(window override: Window? = nil) -> [Double] {
        let values = doubles()
        if override == nil, let lut = voiLUT {
            let top = Double((1 << lut.bits) - 1)
            return values.map { lut.apply($0) / top }
        }
        if let w = override ?? window {
            let function = override == nil ? WindowFunction(rawValue: tags["VOILUTFunction"]?.uppercased() ?? "") ?? .linear : .linear
            return values.map { MedicalImage.voi($0, window: w, function: function) }
        }
        let (lo, hi) = exactRange()
        return values.map { hi > lo ? ($0 - lo) / (hi - lo) : 0 }
    }

    /// One value through a window (PS3.3 C.11.2.1.2.1 LINEAR, C.11.2.1.3.2 LINEAR_EXACT,
    /// C.11.2.1.3.1 SIGMOID), output in 0…1.
    @inline(__always) static func voi(_ x: Double, window: Window, function: WindowFunction) -> Double {
        switch function {
        case .linear:
            let c = window.center - 0.5, w = max(window.width - 1, 1e-12)
            if x <= c - w / 2 { return 0 }
            if x > c + w / 2 { return 1 }
            return (x - c) / w + 0.5
        case .linearExact:
            let c = window.center, w = max(window.width, 1e-12)
            if x <= c - w / 2 { return 0 }
            if x > c + w / 2 { return 1 }
            return (x - c) / w + 0.5
        case .sigmoid:
            return 1 / (1 + exp(-4 * (x - window.center) / max(window.width, 1e-12)))
        }
    }
}
