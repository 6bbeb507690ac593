import Foundation

/// De-identifies DICOM files by the PS3.15 Annex E Basic Profile before Lumen stores them (see
/// `BasicProfile` for the table): identifying attributes removed, emptied or replaced, private tags and
/// elements of unknown type dropped, sequences recursed, the patient given a keyed pseudonym, UIDs
/// re-mapped consistently (a series stays a series) and dates shifted by a per-patient offset (the
/// Retain Longitudinal Temporal Information with Modified Dates option) or removed. DCMTK only reads
/// and writes the elements; every decision is made here.
public struct DeIdentifier: Sendable {
    public var pseudonyms: Pseudonyms
    /// Empty every date and time instead of shifting dates.
    public var removeDates: Bool

    public init(key: any KeyedHash, removeDates: Bool = false) {
        self.pseudonyms = Pseudonyms(key: key)
        self.removeDates = removeDates
    }

    /// Days by which this patient's dates move: between −3,650 and −365, fixed per patient and key.
    public func dateShift(patientID: String) -> Int { pseudonyms.dateShift(patientID: patientID) }

    /// The de-identified Part-10 copy of `bytes`, with what was done to it.
    public func deidentify(_ bytes: [UInt8], source: String) throws(ImagingError) -> DeIdentifiedFile {
        let data = try DICOMDataSet(bytes, source: source)
        let elements = try data.elements()
        func top(_ group: UInt16, _ element: UInt16) -> String {
            let path = DICOMTag(group, element).description
            return (elements.first { $0.path == path }?.value ?? "").trimmingCharacters(in: .whitespaces.union(.controlCharacters))
        }
        let patient = top(0x0010, 0x0020)
        let shift = dateShift(patientID: patient)
        var record = DeIdentificationRecord()
        var cleared: [String] = []  // "path[" of sequences removed or emptied: their items are gone
        for element in elements where !cleared.contains(where: { element.path.hasPrefix($0) }) {
            let step = decide(element, patient: patient, shift: shift)
            switch step {
            case .keep: continue
            case .remove:
                try data.remove(element.path)
                record.removed.append(element.name)
                if element.tag.isPrivate { record.privateRemoved += 1 }
            case .empty:
                try data.set(element.path, to: "")
                record.emptied.append(element.name)
            case .replace(let value), .remap(let value), .shift(let value):
                try data.set(element.path, to: value)
                switch step {
                case .replace: record.replaced.append(element.name)
                case .remap: record.remapped.append(element.name)
                default: record.shifted.append(element.name)
                }
            }
            if case .sequence = element.content { cleared.append(element.path + "[") }
        }
        try mark(data)
        if top(0x0028, 0x0301).uppercased() == "YES" {
            record.warnings.append("Burned In Annotation is YES: the pixels may show identifying text, which Lumen does not remove")
        }
        let study = top(0x0020, 0x000D), series = top(0x0020, 0x000E), instance = top(0x0008, 0x0018)
        let pseudonym = pseudonyms.patientID(patient)
        let path = "\(pseudonym)/study-\(pseudonyms.token("study-path", study, length: 10))/series-\(pseudonyms.token("series-path", series, length: 10))/image-\(pseudonyms.token("instance-path", instance)).dcm"
        return DeIdentifiedFile(bytes: try data.encoded(), patientID: pseudonym, anonymousPath: path, record: record)
    }

    enum Step: Equatable { case keep, remove, empty, replace(String), remap(String), shift(String) }

    /// What happens to one element.
    func decide(_ e: DICOMElement, patient: String, shift: Int) -> Step {
        let tag = e.tag
        let value = e.value ?? ""
        let hasValue = !value.trimmingCharacters(in: .whitespaces).isEmpty
        if e.isMeta {
            if BasicProfile.removedMeta.contains(tag) { return .remove }
            return tag == DICOMTag(0x0002, 0x0003) ? remap(value, tag: tag) : .keep
        }
        if tag.isPrivate { return .remove }
        let nested = e.path.contains("/")
        switch tag {
        case DICOMTag(0x0010, 0x0020): return .replace(pseudonyms.patientID(nested ? value.trimmingCharacters(in: .whitespaces) : patient))
        case DICOMTag(0x0010, 0x0010): return nested ? (hasValue ? .empty : .keep) : .replace(pseudonyms.patientName(patient))
        case DICOMTag(0x0010, 0x0030): return hasValue ? .empty : .keep  // birth date: never shifted, always emptied
        default: break
        }
        let code = BasicProfile.code(for: tag)
        if case .sequence(let items) = e.content {
            switch code {
            case nil, .XZU?: return .keep  // its items' elements follow in the listing and are handled one by one
            case .Z?: return items > 0 ? .empty : .keep
            default: return .remove
            }
        }
        if ["DA", "DT", "TM"].contains(e.vr) && code != .X {
            if !hasValue { return .keep }
            if removeDates { return .empty }
            if e.vr == "TM" { return .keep }  // the time of day is kept; dates move
            let shifted = Self.shiftDates(value, days: shift, vr: e.vr)
            return shifted == value ? .keep : .shift(shifted)
        }
        if case .binary = e.content, code != nil { return .remove }
        switch code {
        case .X?, .XZ?, .XD?, .XZD?, .XZU?: return .remove
        case .Z?, .ZD?: return hasValue ? .empty : .keep
        case .D?: return e.vr == "UI" ? remap(value, tag: tag) : dummy(e)
        case .U?: return e.vr == "UI" ? remap(value, tag: tag) : .remove
        case nil: break
        }
        switch e.vr {
        case "UI": return remap(value, tag: tag)
        case "PN": return hasValue ? .empty : .keep  // a person's name anywhere else
        case "UN": return .remove  // unknown type: cannot be told safe
        default: return .keep
        }
    }

    /// Every UID of a (multi-valued) UI element re-mapped, except standard ones and class UIDs.
    func remap(_ value: String, tag: DICOMTag) -> Step {
        if BasicProfile.keptUIDs.contains(tag) { return .keep }
        let mapped = value.split(separator: "\\", omittingEmptySubsequences: false).map { raw -> String in
            let uid = raw.trimmingCharacters(in: .whitespaces.union(.controlCharacters))
            return uid.isEmpty || uid.hasPrefix("1.2.840.10008.") ? uid : pseudonyms.uid(uid)
        }.joined(separator: "\\")
        return mapped == value ? .keep : .remap(mapped)
    }

    /// A dummy value of the element's VR (D); binary and tag-valued elements are removed instead.
    func dummy(_ e: DICOMElement) -> Step {
        switch e.vr {
        case "PN": return .replace("ANONYMOUS")
        case "AS": return .replace("000Y")
        case "DS", "IS", "US", "SS", "UL", "SL", "FL", "FD", "UV", "SV": return .replace("0")
        case "AE", "CS", "SH", "LO", "LT", "ST", "UT", "UC", "UR": return .replace("ANONYMIZED")
        default: return .remove
        }
    }

    /// Marks the file as de-identified (PS3.15 E.1.1, PS3.3 C.7.1.1).
    func mark(_ data: DICOMDataSet) throws(ImagingError) {
        try data.set("0012,0062", to: "YES")
        try data.set("0012,0063", to: "PS3.15 Basic Profile\\HMAC-SHA256 pseudonyms and UIDs\\" + (removeDates ? "dates removed" : "dates shifted"))
        try data.remove("0012,0064")
        var codes = [("113100", "Basic Application Confidentiality Profile")]
        if !removeDates { codes.append(("113107", "Retain Longitudinal Temporal Information Modified Dates Option")) }
        for (i, (value, meaning)) in codes.enumerated() {
            try data.set("0012,0064[\(i)]/0008,0100", to: value)
            try data.set("0012,0064[\(i)]/0008,0102", to: "DCM")
            try data.set("0012,0064[\(i)]/0008,0104", to: meaning)
        }
        try data.set("0028,0303", to: removeDates ? "REMOVED" : "MODIFIED")
    }

    /// The attributes that must never survive de-identification (checked by the tests).
    public static let identifyingKeywords = [
        "PatientBirthDate", "InstitutionName", "InstitutionAddress", "ReferringPhysicianName", "PerformingPhysicianName",
        "OperatorsName", "AccessionNumber", "OtherPatientNames", "PatientAddress", "PatientTelephoneNumbers",
        "StationName", "DeviceSerialNumber", "PhysiciansOfRecord", "NameOfPhysiciansReadingStudy", "StudyID",
    ]
}

/// A de-identified file, and what an importer needs to name and group it without the original.
public struct DeIdentifiedFile: Sendable {
    /// The de-identified Part-10 file.
    public var bytes: [UInt8]
    /// The patient's pseudonym (the new Patient ID).
    public var patientID: String
    /// A path built only from keyed digests: "LUMEN-…/study-…/series-…/image-….dcm".
    public var anonymousPath: String
    public var record: DeIdentificationRecord
}

/// What de-identification did to one file: element names (keyword paths such as
/// "ReferencedImageSequence[0].ReferencedSOPInstanceUID"), never their values, by action.
public struct DeIdentificationRecord: Codable, Sendable, Equatable {
    public var removed: [String] = []
    public var emptied: [String] = []
    public var replaced: [String] = []
    public var remapped: [String] = []
    public var shifted: [String] = []
    /// How many of `removed` were private elements.
    public var privateRemoved = 0
    public var warnings: [String] = []
    public init() {}
}
