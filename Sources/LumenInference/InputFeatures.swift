import Foundation
import LumenImaging

/// What monitoring compares of an input: summary statistics of the model's preprocessed input (what the
/// network actually sees), the same in the reference profile and in every prediction log.
public enum InputFeatures {
    /// The feature names, in order.
    public static let names = ["intensity_mean", "intensity_std", "intensity_p05", "intensity_p50", "intensity_p95", "intensity_entropy"]

    public static func of(_ plane: Plane) -> [String: Double] {
        let values = plane.values
        guard !values.isEmpty else { return [:] }
        let n = Double(values.count)
        let mean = values.reduce(0.0) { $0 + Double($1) } / n
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        // Percentiles and entropy from at most 16,384 evenly spaced values (a 224 × 224 × 3 input has 150,528):
        // a full sort per request would cost as much as a small network's forward pass.
        let sample = values.count > 16_384 ? stride(from: 0, to: values.count, by: (values.count + 16_383) / 16_384).map { values[$0] } : values
        // The three order statistics by selection rather than a full sort: the same values, without sorting
        // 16,384 floats on every request's path.
        var work = sample
        let ranks = [0.05, 0.5, 0.95].map { min(sample.count - 1, Int($0 * Double(sample.count - 1))) }
        let picked = Self.orderStatistics(&work, ranks: ranks)
        let m = Double(sample.count)
        // Shannon entropy (bits) of a 64-bin histogram over the plane's own range.
        // (Predictors refuse non-finite inputs; should one get here, its NaNs and infinities stay out of the bins.)
        var low = Float.infinity, high = -Float.infinity
        for v in sample where v.isFinite { low = min(low, v); high = max(high, v) }
        let lo = low <= high ? Double(low) : 0, hi = low <= high ? Double(high) : 0
        var histogram = [Double](repeating: 0, count: 64)
        if hi > lo {
            for v in sample where v.isFinite { histogram[max(0, min(63, Int((Double(v) - lo) / (hi - lo) * 64)))] += 1 }
        } else { histogram[0] = m }
        let entropy = histogram.reduce(0.0) { $1 > 0 ? $0 - ($1 / m) * log2($1 / m) : $0 }
        return ["intensity_mean": mean, "intensity_std": variance.squareRoot(), "intensity_p05": Double(picked[0]),
                "intensity_p50": Double(picked[1]), "intensity_p95": Double(picked[2]), "intensity_entropy": entropy]
    }

    /// The elements that would sit at `ranks` (ascending, each in `0..<values.count`) if `values` were sorted,
    /// found by quickselect (median-of-three pivots), each search narrowed to the part left by the one
    /// before; `values` is reordered. NaNs are not expected (preprocessed planes are finite).
    static func orderStatistics(_ values: inout [Float], ranks: [Int]) -> [Float] {
        var out: [Float] = []
        var low = 0
        values.withUnsafeMutableBufferPointer { v in
            for k in ranks {
                var lo = max(low, 0), hi = v.count - 1
                while lo < hi {
                    let mid = lo + (hi - lo) / 2
                    // Median of three to the middle, then a Hoare partition around it.
                    if v[mid] < v[lo] { v.swapAt(mid, lo) }
                    if v[hi] < v[lo] { v.swapAt(hi, lo) }
                    if v[hi] < v[mid] { v.swapAt(hi, mid) }
                    let pivot = v[mid]
                    var i = lo, j = hi
                    while i <= j {
                        while v[i] < pivot { i += 1 }
                        while pivot < v[j] { j -= 1 }
                        if i <= j { v.swapAt(i, j); i += 1; j -= 1 }
                    }
                    if k <= j { hi = j } else if k >= i { lo = i } else { break }
                }
                out.append(v[k])
                low = k  // everything before k is ≤ v[k]: the next (larger) rank lies at or after it
            }
        }
        return out
    }

    // MARK: Acquisition

    /// Numeric acquisition features (`lumen monitor` tests them as numbers; few distinct values as categories).
    public static let acquisitionNumbers = ["acq_kvp", "acq_slice_thickness", "acq_pixel_spacing", "img_width", "img_height", "img_bits"]
    /// Categorical acquisition features, and the subgroups `lumen monitor --by` can split served traffic by.
    public static let acquisitionCategories = ["acq_modality", "acq_manufacturer", "img_format", "patient_sex", "patient_age_band"]

    /// What monitoring keeps of how an image was acquired: modality, manufacturer, kVp, slice thickness,
    /// pixel spacing, size, bit depth, format, and the patient's sex and age band (0–17, 18–39, 40–59,
    /// 60–79, 80+): nothing that identifies a patient. Missing values are left out.
    public static func acquisition(of image: MedicalImage) -> [String: String] {
        var out: [String: String] = ["img_format": image.format.rawValue, "img_width": String(image.width), "img_height": String(image.height)]
        let tags = image.tags
        func clean(_ v: String?) -> String? {
            guard let v = v?.trimmingCharacters(in: .whitespaces), !v.isEmpty, v.count <= 64 else { return nil }
            return v
        }
        out["img_bits"] = clean(tags["BitsStored"]) ?? String(image.pixelType.bits)
        if let m = clean(image.modality) { out["acq_modality"] = m.uppercased() }
        if let m = clean(tags["Manufacturer"]) { out["acq_manufacturer"] = m }
        if let k = clean(tags["KVP"]).flatMap(Double.init) { out["acq_kvp"] = String(format: "%g", k) }
        if let t = clean(tags["SliceThickness"]).flatMap(Double.init) { out["acq_slice_thickness"] = String(format: "%g", t) }
        if image.format == .dicom || image.format == .nifti { out["acq_pixel_spacing"] = String(format: "%.4g", image.spacing[0]) }
        if let sex = clean(tags["PatientSex"])?.uppercased(), ["F", "M", "O"].contains(sex) { out["patient_sex"] = sex }
        if let age = clean(tags["PatientAge"]).flatMap(ageYears) {
            out["patient_age_band"] = age < 18 ? "0-17" : age < 40 ? "18-39" : age < 60 ? "40-59" : age < 80 ? "60-79" : "80+"
        }
        return out
    }

    /// Years from a DICOM Age String (`045Y`, `006M`, `003W`, `010D`).
    static func ageYears(_ text: String) -> Double? {
        guard text.count == 4, let n = Double(text.prefix(3)) else { return nil }
        switch text.last {
        case "Y": return n
        case "M": return n / 12
        case "W": return n / 52
        case "D": return n / 365
        default: return nil
        }
    }
}
