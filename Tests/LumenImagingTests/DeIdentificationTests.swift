import Foundation
import Testing
@testable import LumenImaging

@Suite("De-identification")
struct DeIdentificationTests {
    @Test func basicProfileAttributesAreGoneAndPixelsKept() throws {
        let original = try DICOMFile(syntheticDICOM(), source: "in.dcm")
        let deid = DeIdentifier(salt: "secret")
        let clean = try DICOMFile(deid.deidentify(original), source: "out.dcm")
        for keyword in DeIdentifier.identifyingKeywords {
            #expect(clean[keyword] == nil, "\(keyword) survived: \(clean[keyword] ?? "")")
        }
        #expect(clean["PatientName"] != "Doe^John" && clean["PatientName"]?.hasPrefix("ANONYMOUS") == true)
        #expect(clean["PatientID"] != "PAT-123" && clean["PatientID"]?.hasPrefix("LUMEN-") == true)
        #expect(clean["PatientIdentityRemoved"] == "YES")
        #expect(clean["SOPInstanceUID"] != original["SOPInstanceUID"] && clean["SOPInstanceUID"]?.hasPrefix("2.25.") == true)
        #expect(clean.meta["MediaStorageSOPInstanceUID"] == clean["SOPInstanceUID"])
        #expect(clean["SOPClassUID"] == original["SOPClassUID"])
        #expect(try DICOMReader.image(from: clean).data == DICOMReader.image(from: original).data)
    }

    @Test func mappingIsConsistentAndDatesShiftPerPatient() throws {
        let deid = DeIdentifier(salt: "secret")
        let a = try DICOMFile(deid.deidentify(DICOMFile(syntheticDICOM(sop: "1.2.3.1"), source: "a")), source: "a")
        let b = try DICOMFile(deid.deidentify(DICOMFile(syntheticDICOM(sop: "1.2.3.2"), source: "b")), source: "b")
        let other = try DICOMFile(DeIdentifier(salt: "other").deidentify(DICOMFile(syntheticDICOM(sop: "1.2.3.1"), source: "c")), source: "c")
        #expect(a["SeriesInstanceUID"] == b["SeriesInstanceUID"], "one series stays one series")
        #expect(a["PatientID"] == b["PatientID"], "one patient stays one patient")
        #expect(a["SOPInstanceUID"] != b["SOPInstanceUID"])
        #expect(a["SeriesInstanceUID"] != other["SeriesInstanceUID"], "another salt gives other UIDs")
        let shift = deid.dateShift(patientID: "PAT-123")
        #expect((-3650...(-365)).contains(shift))
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        let shifted = try #require(a["StudyDate"].flatMap { formatter.date(from: $0) })
        let original = formatter.date(from: "20240229")!
        #expect(Int((shifted.timeIntervalSince(original) / 86_400).rounded()) == shift)
        let removed = try DICOMFile(DeIdentifier(salt: "s", removeDates: true).deidentify(DICOMFile(syntheticDICOM(), source: "d")), source: "d")
        #expect(removed["StudyDate"] == nil && removed["StudyTime"] == nil)
    }
}
