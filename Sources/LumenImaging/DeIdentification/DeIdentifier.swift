import Foundation

/// De-identifies DICOM files by the PS3.15 Annex E Basic Profile before Lumen stores them: names,
/// IDs, birth date, institution, physicians, accession number and the other identifying attributes
/// are removed or emptied, private tags dropped, the patient given a pseudonym, UIDs re-mapped
/// (consistently, so a series stays a series) and dates shifted by a per-patient offset or removed.
public struct DeIdentifier: Sendable {
    /// A secret of the workspace: the same salt maps the same patient and UIDs to the same values.
    public var salt: String
    /// Empty every date and time instead of shifting dates.
    public var removeDates: Bool

    public init(salt: String, removeDates: Bool = false) {
        self.salt = salt
        self.removeDates = removeDates
    }

    /// Days by which this patient's dates move: between −3,650 and −365, fixed per patient and salt.
    public func dateShift(patientID: String) -> Int {
        -365 - Int(fnv1a(salt + "|shift|" + patientID) % 3286)
    }

    /// A de-identified Part-10 copy of `file`.
    public func deidentify(_ file: DICOMFile) throws(ImagingError) -> [UInt8] {
        try file.deidentified(salt: salt, dateShiftDays: dateShift(patientID: file["PatientID"] ?? ""), removeDates: removeDates)
    }

    /// The attributes that must never survive de-identification (checked by the tests).
    public static let identifyingKeywords = [
        "PatientBirthDate", "InstitutionName", "InstitutionAddress", "ReferringPhysicianName", "PerformingPhysicianName",
        "OperatorsName", "AccessionNumber", "OtherPatientNames", "PatientAddress", "PatientTelephoneNumbers",
        "StationName", "DeviceSerialNumber", "PhysiciansOfRecord", "NameOfPhysiciansReadingStudy", "StudyID",
    ]

    func fnv1a(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in text.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01B3
        }
        return h
    }
}
