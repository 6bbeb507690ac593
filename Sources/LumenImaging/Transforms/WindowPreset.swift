/// CT window presets in Hounsfield units (centre, width), as radiologists use them.
public enum WindowPreset: String, Codable, Sendable, CaseIterable {
    case lung, mediastinum, bone, brain, abdomen, liver, softTissue = "soft-tissue", subdural, stroke

    public var window: Window {
        switch self {
        case .lung: return Window(center: -600, width: 1500)
        case .mediastinum: return Window(center: 50, width: 350)
        case .bone: return Window(center: 400, width: 1800)
        case .brain: return Window(center: 40, width: 80)
        case .abdomen: return Window(center: 40, width: 400)
        case .liver: return Window(center: 60, width: 160)
        case .softTissue: return Window(center: 50, width: 400)
        case .subdural: return Window(center: 75, width: 215)
        case .stroke: return Window(center: 40, width: 40)
        }
    }

    /// A preset name (`lung`) or `C,W` (`-600,1500`).
    public static func parse(_ text: String) throws(ImagingError) -> Window {
        if let preset = WindowPreset(rawValue: text.lowercased()) { return preset.window }
        let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let c = parts[0], let w = parts[1], w > 0 else {
            throw .invalidArgument("window '\(text)' is neither a preset (\(allCases.map(\.rawValue).joined(separator: ", "))) nor CENTER,WIDTH with a positive width")
        }
        return Window(center: c, width: w)
    }
}

extension Window {
    /// Maps a value to 0…1: below the window 0, above it 1, linear inside (DICOM's linear VOI LUT).
    @inline(__always) public func apply(_ v: Float) -> Float {
        let lo = Float(center - width / 2), hi = Float(center + width / 2)
        return min(max((v - lo) / (hi - lo), 0), 1)
    }
}
