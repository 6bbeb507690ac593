import Foundation
import Testing
@testable import LumenImaging

/// A stand-in keyed function for policy tests (the HMAC and its properties are tested in LumenDataTests):
/// FNV-1a over key and message, stretched to 32 bytes. Not a secure MAC.
struct TestKey: KeyedHash {
    var key: String
    func authenticationCode(for message: [UInt8]) -> [UInt8] {
        (0..<4).flatMap { round -> [UInt8] in
            var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(round)
            for b in Array(key.utf8) + [0] + message { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
            h ^= h >> 29; h = h &* 0xBF58_476D_1CE4_E5B9; h ^= h >> 32
            return (0..<8).map { UInt8(truncatingIfNeeded: h >> (8 * $0)) }
        }
    }
}

/// A CT slice carrying what a hospital's files carry: names, IDs and dates at the top level and inside
/// sequences, private tags, file meta AE titles, references to other instances.
func identifyingDICOM(patientID: String = "MRN-4471902", sop: String = "1.2.3.4.5.6.7") throws -> [UInt8] {
    let data = try DICOMDataSet(syntheticDICOM(patientID: patientID, sop: sop), source: "rich.dcm")
    let extra: [(String, String, String?)] = [
        ("0002,0016", "HOSPITAL_PACS", nil),                                  // Source Application Entity Title
        ("0010,1000", "OLD-MRN-99", nil), ("0010,1040", "1 Main St, Springfield", nil), ("0010,1010", "064Y", nil),
        ("0010,1002[0]/0010,0020", "MRN-ALT-777", nil),                      // Other Patient IDs Sequence
        ("0008,1140[0]/0008,1150", "1.2.840.10008.5.1.4.1.1.2", nil),        // Referenced Image Sequence: class kept
        ("0008,1140[0]/0008,1155", "1.2.3.4.5.6.99", nil),                   // … instance re-mapped
        ("0040,0275[0]/0040,1001", "REQ-5555", nil),                         // Request Attributes Sequence: removed
        ("0008,1032[0]/0008,0100", "CTCHEST", nil),                          // Procedure Code Sequence: kept, recursed
        ("0008,1032[0]/0040,a123", "Nurse^Nancy", nil),                      // a person name inside it
        ("0009,0010", "ACME 1.0", "LO"), ("0009,1001", "MRN-4471902", "LO"), // private creator and element
        ("0008,0022", "20240301", nil), ("0008,002a", "20240301093000.000000", nil), ("0020,0052", "1.2.3.4.5.6.10", nil),
        ("0008,1030", "CT chest for Doe", nil), ("0018,1000", "SN-1234", nil),
    ]
    for (path, value, vr) in extra { try data.set(path, to: value, vr: vr) }
    return try data.encoded()
}

@Suite("De-identification")
struct DeIdentificationTests {
    let deid = DeIdentifier(key: TestKey(key: "secret"))

    @Test func elementsCanBeListedSetAndRemovedAtAnyDepth() throws {
        let data = try DICOMDataSet(identifyingDICOM(), source: "rich.dcm")
        let elements = try data.elements()
        let nested = try #require(elements.first { $0.path == "0008,1140[0]/0008,1155" })
        #expect(nested.value == "1.2.3.4.5.6.99" && nested.keyword == "ReferencedSOPInstanceUID" && nested.name == "ReferencedImageSequence[0].ReferencedSOPInstanceUID")
        #expect(elements.first { $0.path == "0008,1140" }?.content == .sequence(items: 1))
        #expect(elements.first { $0.path == "0009,1001" }?.value == "MRN-4471902")
        #expect(elements.first { $0.path == "0002,0016" }?.isMeta == true)
        if case .binary(let n)? = elements.first(where: { $0.path == "7fe0,0010" })?.content { #expect(n == 16 * 16 * 2) } else { Issue.record("pixel data is not listed as binary") }
        let removedOnce = try data.remove("0008,1140[0]/0008,1155"), removedTwice = try data.remove("0008,1140[0]/0008,1155")
        #expect(removedOnce && !removedTwice)
        try data.set("0010,0010", to: "Tab\there")
        let again = try DICOMDataSet(data.encoded(), source: "again.dcm").elements()
        #expect(!again.contains { $0.path == "0008,1140[0]/0008,1155" } && again.first { $0.path == "0010,0010" }?.value == "Tab\there")
        #expect(throws: ImagingError.self) { try data.set("0008,1140[5]/0008,1155", to: "1.2") }
        #expect(throws: ImagingError.self) { try data.set("0009,1002", to: "x") }  // private, no VR given
        #expect(throws: ImagingError.self) { try data.set("nonsense", to: "x") }
    }

    @Test func basicProfileAttributesAreGoneEverywhereAndPixelsKept() throws {
        let original = try identifyingDICOM()
        let result = try deid.deidentify(original, source: "in.dcm")
        let clean = try DICOMDataSet(result.bytes, source: "out.dcm").elements()
        let values = clean.compactMap(\.value).joined(separator: "|")
        for secret in ["MRN-4471902", "OLD-MRN-99", "MRN-ALT-777", "Main St", "Doe", "John", "House", "Gregory", "A12345", "General Hospital",
                       "Tech", "CT01", "19600102", "HOSPITAL_PACS", "REQ-5555", "Nancy", "ACME", "SN-1234", "20240229", "20240301", "1.2.3.4.5.6"] {
            #expect(!values.contains(secret), "\(secret) survived")
        }
        #expect(!clean.contains { $0.tag.isPrivate } && !clean.contains { $0.path.hasPrefix("0040,0275") || $0.path.hasPrefix("0010,1002") })
        let file = try DICOMFile(result.bytes, source: "out.dcm")
        for keyword in DeIdentifier.identifyingKeywords { #expect(file[keyword] == nil, "\(keyword) survived: \(file[keyword] ?? "")") }
        // Independently of the implementation's own lists: the attributes this file carries, by tag, with their
        // action in PS3.15 Table E.1-1 (Basic Profile; D = dummy, Z = empty or dummy, X = remove, U = new UID), and
        // the Retain Longitudinal Temporal Information with Modified Dates option for dates (shifted).
        let byTag = Dictionary(clean.map { ($0.path, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
        let table: [(tag: String, original: String, action: String)] = [
            ("0010,0010", "Doe^John", "Z"), ("0010,0020", "MRN-4471902", "Z"), ("0010,0030", "19600102", "Z"), ("0008,0080", "General Hospital", "X"),
            ("0008,0090", "House^Gregory", "Z"), ("0008,0050", "A12345", "Z"), ("0008,1070", "Tech^Tom", "X"), ("0008,1010", "CT01", "X"),
            ("0010,1000", "OLD-MRN-99", "X"), ("0010,1040", "1 Main St, Springfield", "X"), ("0010,1010", "064Y", "X"), ("0018,1000", "SN-1234", "X"),
            ("0008,1030", "CT chest for Doe", "X"), ("0002,0016", "HOSPITAL_PACS", "X"), ("0008,0020", "20240229", "shifted"),
            ("0008,0022", "20240301", "shifted"), ("0020,0052", "1.2.3.4.5.6.10", "U"), ("0020,000d", "1.2.3.4.5.6.9", "U"), ("0008,0018", "1.2.3.4.5.6.7", "U"),
        ]
        let before = Dictionary(try DICOMDataSet(original, source: "in.dcm").elements().map { ($0.path, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
        for (tag, original, action) in table {
            #expect(before[tag] == original, "the test file carries (\(tag)) = \(original)")
            let value = byTag[tag]
            switch action {
            case "X": #expect(value == nil, "(\(tag)) must be removed; it is '\(value ?? "")'")
            case "Z": #expect(value == nil || value!.isEmpty || value != original, "(\(tag)) must be emptied or replaced")
            default: #expect(value != nil && value != original && !value!.isEmpty, "(\(tag)) must be replaced (\(action)), not removed or kept: '\(value ?? "nil")'")
            }
        }
        #expect(file["PatientID"] == result.patientID && result.patientID.hasPrefix("LUMEN-") && file["PatientName"]?.hasPrefix("ANONYMOUS^") == true)
        #expect(file["PatientIdentityRemoved"] == "YES" && file["LongitudinalTemporalInformationModified"] == "MODIFIED")
        #expect(clean.first { $0.path == "0012,0064[0]/0008,0100" }?.value == "113100" && clean.first { $0.path == "0012,0064[1]/0008,0100" }?.value == "113107")
        #expect(clean.first { $0.path == "0008,1032[0]/0008,0100" }?.value == "CTCHEST", "non-identifying sequences are kept")
        #expect(clean.first { $0.path == "0008,1140[0]/0008,1150" }?.value == "1.2.840.10008.5.1.4.1.1.2", "class UIDs are kept")
        #expect(file["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.2" && file.meta["MediaStorageSOPInstanceUID"] == file["SOPInstanceUID"])
        #expect(try DICOMReader.image(from: file).data == DICOMReader.image(from: DICOMFile(original, source: "in")).data)
        // The report names what was done, never a value.
        #expect(result.record.removed.contains("InstitutionName") && result.record.removed.contains("OtherPatientIDsSequence") && result.record.privateRemoved == 2)
        #expect(result.record.remapped.contains("ReferencedImageSequence[0].ReferencedSOPInstanceUID") && result.record.shifted.contains("StudyDate"))
        #expect(result.record.emptied.contains("AccessionNumber") && result.record.replaced.contains("ProcedureCodeSequence[0].PersonName"))
        #expect(!"\(result.record)".contains("MRN") && !result.anonymousPath.contains("MRN"))
    }

    @Test func uidsAreValidConsistentAndReferencesFollow() throws {
        let a = try deid.deidentify(identifyingDICOM(sop: "1.2.3.4.5.6.7"), source: "a")
        let b = try deid.deidentify(identifyingDICOM(sop: "1.2.3.4.5.6.99"), source: "b")
        let fa = try DICOMFile(a.bytes, source: "a"), fb = try DICOMFile(b.bytes, source: "b")
        #expect(fa["SeriesInstanceUID"] == fb["SeriesInstanceUID"] && fa["PatientID"] == fb["PatientID"], "one series, one patient")
        #expect(fa["SOPInstanceUID"] != fb["SOPInstanceUID"])
        let reference = try DICOMDataSet(a.bytes, source: "a").elements().first { $0.path == "0008,1140[0]/0008,1155" }?.value
        #expect(reference == fb["SOPInstanceUID"], "a reference to instance b points at b's new UID")
        for uid in [fa["SOPInstanceUID"], fa["StudyInstanceUID"], fa["FrameOfReferenceUID"]].map({ $0 ?? "" }) {
            #expect(uid.hasPrefix("2.25.") && uid.count <= 64 && uid.allSatisfy { $0.isNumber || $0 == "." }, "\(uid)")
            let digits = uid.dropFirst(5)
            #expect(digits == "0" || !digits.hasPrefix("0"), "no leading zero: \(uid)")
        }
        let other = try DeIdentifier(key: TestKey(key: "other")).deidentify(identifyingDICOM(), source: "c")
        #expect(try DICOMFile(other.bytes, source: "c")["SeriesInstanceUID"] != fa["SeriesInstanceUID"], "another key gives other UIDs")
        #expect(Pseudonyms.decimal([0xFF] + [UInt8](repeating: 0xFF, count: 15)) == "340282366920938463463374607431768211455")
        #expect(Pseudonyms.decimal([0, 0, 1, 0]) == "256" && Pseudonyms.decimal([0, 0]) == "0")
    }

    @Test func datesShiftPerPatientOrAreRemoved() throws {
        let shift = deid.dateShift(patientID: "MRN-4471902")
        #expect((-3650...(-365)).contains(shift))
        let a = try DICOMFile(deid.deidentify(identifyingDICOM(), source: "a").bytes, source: "a")
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        for (keyword, original) in [("StudyDate", "20240229"), ("AcquisitionDate", "20240301")] {
            let shifted = try #require(a[keyword].flatMap { formatter.date(from: $0) }, "\(keyword)")
            #expect(Int((shifted.timeIntervalSince(formatter.date(from: original)!) / 86_400).rounded()) == shift, "\(keyword)")
        }
        #expect(a["AcquisitionDateTime"]?.hasSuffix("093000.000000") == true && a["StudyTime"] == "120000", "times of day are kept")
        #expect(DeIdentifier.shiftDates("20240229\\20000101-20000301\\nonsense", days: -1, vr: "DA") == "20240228\\19991231-20000229\\")
        #expect(DeIdentifier.shiftDates("20240301120000+0100", days: -1, vr: "DT") == "20240229120000+0100")
        let removed = try DICOMFile(DeIdentifier(key: TestKey(key: "s"), removeDates: true).deidentify(identifyingDICOM(), source: "d").bytes, source: "d")
        #expect(removed["StudyDate"] == nil && removed["StudyTime"] == nil && removed["AcquisitionDateTime"] == nil)
        #expect(removed["LongitudinalTemporalInformationModified"] == "REMOVED")
    }
}
