import Foundation
import LumenImaging
import Testing
@testable import LumenData

@Suite("Importers and dataset versions")
struct ImportTests {
    @Test func classFoldersWithSplitsAndABadFile() throws {
        let s = Scratch()
        defer { s.cleanup() }
        for (split, label, value) in [("train", "normal", 10), ("train", "normal", 11), ("train", "pneumonia", 200), ("test", "normal", 12), ("test", "pneumonia", 201)] {
            try s.png("chest/\(split)/\(label)/\(value).png", value: UInt8(value))
        }
        try s.write(Array("not an image".utf8), "chest/train/normal/broken.png")
        try s.write(Array("path,label\n".utf8), "chest/labels.csv")
        let items = try FolderImporter.items(root: s.url("chest"))
        #expect(items.count == 6, "the CSV side file is ignored")
        let result = s.builder().ingest(items)
        #expect(result.entries.count == 5)
        #expect(result.skipped.map(\.path) == ["train/normal/broken.png"])
        #expect(result.skipped[0].reason.contains("not an image"))
        let entry = try #require(result.entries.first { $0.path == "train/pneumonia/200.png" })
        #expect(entry.label == "pneumonia" && entry.split == "train" && entry.metadata["width"] == "8")
        // Stored by content; the bytes come back.
        #expect(try s.repository.bytes(entry.sha256) == [UInt8](Data(contentsOf: s.url("chest/train/pneumonia/200.png"))))
        // The version id depends on the content only.
        let v1 = DatasetVersion(name: "chest", task: .classification, source: "x", entries: result.entries)
        let again = s.builder().ingest(items)
        let v2 = DatasetVersion(name: "chest", task: .classification, source: "y", entries: again.entries, createdAt: Date(timeIntervalSince1970: 0))
        #expect(v1.id == v2.id)
        try s.repository.save(v1)
        #expect(try s.repository.resolve("chest").id == v1.id)
        #expect(try s.repository.resolve("chest:\(v1.id.prefix(4))").id == v1.id)
        #expect(throws: DataError.self) { try s.repository.resolve("chest:ffff") }
    }

    @Test func aVersionDerivedInTheSameSecondIsTheLatest() throws {
        let s = Scratch()
        defer { s.cleanup() }
        // Manifests keep whole seconds; a split saved right after its import must still be what NAME means.
        let when = Date(timeIntervalSince1970: 1_800_000_000.2)
        let entries = (0..<4).map { DatasetEntry(path: "\($0).png", sha256: String(repeating: "\($0)", count: 64), size: 1, format: "png", label: "a") }
        let imported = DatasetVersion(name: "d", task: .classification, source: "t", entries: entries, createdAt: when)
        var splitEntries = entries
        for i in splitEntries.indices { splitEntries[i].split = i < 2 ? "train" : "test" }
        let split = DatasetVersion(name: "d", task: .classification, source: "t", parent: imported.id, entries: splitEntries, createdAt: when.addingTimeInterval(0.5))
        _ = try s.repository.save(split)
        _ = try s.repository.save(imported)
        for _ in 0..<3 { #expect(try s.repository.resolve("d").id == split.id) }
        #expect(try s.repository.versions(of: "d").map(\.id) == [imported.id, split.id])
    }

    @Test func blobsArePackedOnceAndSurviveANewRepository() throws {
        let s = Scratch()
        defer { s.cleanup() }
        for i in 0..<6 { try s.png("d/x/\(i).png", value: UInt8(i % 3)) }  // three distinct contents, twice each
        let items = try FolderImporter.items(root: s.url("d"))
        let first = s.builder().ingest(items)
        #expect(Set(first.entries.map(\.sha256)).count == 3)
        let packs = { (try? FileManager.default.contentsOfDirectory(atPath: s.url("artifacts/packs").path)) ?? [] }
        let before = packs().filter { $0.hasSuffix(".pack") }
        #expect(!before.isEmpty && packs().filter { $0.hasSuffix(".idx") }.count == before.count)
        let packedBytes = before.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: s.url("artifacts/packs/\($1)").path)[.size] as? Int) ?? 0) }
        let unique = Dictionary(first.entries.map { ($0.sha256, Int($0.size)) }, uniquingKeysWith: { a, _ in a })
        #expect(packedBytes == unique.values.reduce(0, +), "each content stored once")
        _ = s.builder().ingest(items)
        #expect(packs().filter { $0.hasSuffix(".pack") } == before, "a re-import stores nothing new")
        let fresh = DatasetRepository(folder: s.url("datasets"), artifacts: s.repository.artifacts)
        for e in first.entries { #expect(try fresh.bytes(e.sha256) == [UInt8](Data(contentsOf: s.url("d/\(e.path)")))) }
        // A pack cut short is an error naming the pack, not a crash.
        let pack = s.url("artifacts/packs/\(before[0])")
        try Data().write(to: pack)
        let other = DatasetRepository(folder: s.url("datasets"), artifacts: s.repository.artifacts)
        #expect(throws: DataError.self) { for e in first.entries { _ = try other.bytes(e.sha256) } }
    }

    @Test func whitespaceManifestWithoutHeaderKeepsExtraColumns() throws {
        let s = Scratch()
        defer { s.cleanup() }
        try s.png("images/cell0001.png", value: 1)
        try s.png("images/cell0002.png", value: 2)
        try s.write(Array("images/cell0001.png  1.0  mono\nimages/cell0002.png  0.3333333333333333  poly\nimages/missing.png 0.0 mono\n".utf8), "labels.csv")
        var csv = CSVImporter()
        csv.columns = ["path", "label", "type"]
        let items = try csv.items(csv: s.url("labels.csv"))
        #expect(items.count == 3)
        #expect(items[1].label == "0.3333333333333333" && items[1].metadata["type"] == "poly")
        let result = s.builder().ingest(items)
        #expect(result.entries.count == 2 && result.skipped.first?.path == "images/missing.png")
        #expect(result.skipped.first?.reason.contains("no such file") == true)
    }

    @Test func quotedCSVWithPatientAndSplitColumns() throws {
        let s = Scratch()
        defer { s.cleanup() }
        try s.png("a.png", value: 1)
        try s.write(Array("filename,diagnosis,patient_id,split,note\na.png,\"effusion, left\",P1,Validation,\"says \"\"hi\"\"\"\n".utf8), "m.csv")
        let items = try CSVImporter().items(csv: s.url("m.csv"))
        #expect(items[0].label == "effusion, left" && items[0].group == "P1" && items[0].split == "val" && items[0].metadata["note"] == "says \"hi\"")
        #expect { try CSVImporter().items(csv: s.url("nope.csv")) } throws: { "\($0)".contains("nope.csv") }
    }

    @Test func dicomIsDeidentifiedAndGroupedByPseudonym() throws {
        let s = Scratch()
        defer { s.cleanup() }
        try Synthesizer.ctPhantom(out: s.url("ct"), patients: 2, slicesPerPatient: 2, size: 32, seed: 1)
        let result = s.builder().ingest(try FolderImporter.items(root: s.url("ct")))
        #expect(result.entries.count == 4 && result.skipped.isEmpty)
        let groups = Set(result.entries.compactMap(\.group))
        #expect(groups.count == 2 && groups.allSatisfy { $0.hasPrefix("LUMEN-") })
        for e in result.entries {
            let file = try DICOMFile(s.repository.bytes(e.sha256), source: e.path)
            #expect(file["PatientName"]?.contains("Synthetic") == false)
            #expect(file["InstitutionName"] == nil && file["PatientBirthDate"] == nil && file["AccessionNumber"] == nil)
            #expect(e.metadata["modality"] == "CT" && e.metadata["deidentified"] == "yes")
            // Named from keyed digests, the patient's pseudonym first; labels stay in the label field.
            #expect(e.path.hasPrefix(e.group! + "/study-") && e.path.hasSuffix(".dcm") && !e.path.contains("SYN") && !e.path.contains("lesion") && !e.path.contains("normal"))
            #expect(e.label == "lesion" || e.label == "normal")
        }
        #expect(Set(result.entries.map(\.path)).count == 4)
        #expect(result.renamedPaths.map(\.original).sorted() == ["lesion/SYN00000_000.dcm", "normal/SYN00000_001.dcm", "normal/SYN00001_000.dcm", "normal/SYN00001_001.dcm"])
        #expect(Set(result.renamedPaths.map(\.stored)) == Set(result.entries.map(\.path)))
        let report = try #require(result.report)
        #expect(report.files.map(\.path) == result.entries.map(\.path) && report.files.allSatisfy { $0.record.removed.contains("InstitutionName") && $0.record.shifted.contains("StudyDate") })
        #expect(report.totals["files"] == 4 && report.totals["re-mapped"]! >= 4 * 4)
        // A manifest's patient column is pseudonymised with the same key: the same groups as from the files.
        let manifest = s.builder().ingest(try CSVImporter().items(csv: s.url("ct/labels.csv")))
        #expect(Set(manifest.entries.compactMap(\.group)) == groups && manifest.entries.allSatisfy { !$0.path.contains("SYN") })
        // A second import with the same key stores byte-identical files under the same names.
        #expect(manifest.entries.map(\.sha256).sorted() == result.entries.map(\.sha256).sorted() && manifest.entries.map(\.path) == result.entries.map(\.path))
        // An unreadable file among de-identified ones is listed under a neutral name.
        try s.write(Array("DICM? no".utf8), "ct/lesion/SYN00009_MRN.dcm")
        let withBroken = s.builder().ingest(try FolderImporter.items(root: s.url("ct")))
        #expect(withBroken.skipped.count == 1 && withBroken.skipped[0].path.hasPrefix("unreadable/") && !"\(withBroken.skipped)".contains("SYN00009"))
        #expect(withBroken.renamedPaths.contains { $0.original == "lesion/SYN00009_MRN.dcm" && $0.stored == withBroken.skipped[0].path })
        var optOut = ImportOptions()
        optOut.deidentify = false
        let raw = DatasetBuilder(storingAsIs: s.repository, options: optOut).ingest(try FolderImporter.items(root: s.url("ct")))
        #expect(Set(raw.entries.compactMap(\.group)) == ["SYN00000", "SYN00001"] && raw.report == nil && raw.renamedPaths.isEmpty)
        #expect(raw.entries.map(\.path).contains("lesion/SYN00000_000.dcm"))
    }

    @Test func theMappingIsWrittenOwnerOnly() throws {
        let s = Scratch()
        defer { s.cleanup() }
        try Synthesizer.ctPhantom(out: s.url("ct"), patients: 1, slicesPerPatient: 2, size: 32, seed: 3)
        let result = s.builder().ingest(try FolderImporter.items(root: s.url("ct")))
        let version = DatasetVersion(name: "ct", task: .classification, source: "withheld", entries: result.entries)
        let file = try DeIdentificationMapping.save(result.renamedPaths, source: s.url("ct").path, version: version, in: s.repository)
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let folder = try FileManager.default.attributesOfItem(atPath: file.deletingLastPathComponent().path)
        #expect((folder[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        let contents = try JSONDecoder().decode(DeIdentificationMapping.Contents.self, from: Data(contentsOf: file))
        #expect(contents.files.count == 2 && contents.files.allSatisfy { $0.original.contains("SYN00000") } && contents.source == s.url("ct").path)
    }

    @Test func segmentationPairsAndStacks() throws {
        let s = Scratch()
        defer { s.cleanup() }
        try Synthesizer.cells(out: s.url("cells"), count: 3, size: 32, seed: 2)
        try s.png("cells/images/orphan.png", value: 3, size: 32)
        let (items, unmatched) = try ArrayImporters.segmentationFolders(images: s.url("cells/images"), masks: s.url("cells/masks"))
        #expect(items.count == 3 && unmatched.map(\.path) == ["orphan.png"])
        let result = s.builder().ingest(items)
        #expect(result.entries.allSatisfy { $0.maskSHA256 != nil && Int($0.metadata["mask_foreground"]!)! > 0 })
        // A mask of another size is refused with both sizes named.
        try s.png("bad/images/x.png", value: 1, size: 32)
        try s.png("bad/masks/x.png", value: 1, size: 16)
        let bad = s.builder().ingest(try ArrayImporters.segmentationFolders(images: s.url("bad/images"), masks: s.url("bad/masks")).items)
        #expect(bad.entries.isEmpty && bad.skipped[0].reason.contains("16 x 16"))
    }

    @Test func medMNISTArchive() throws {
        let s = Scratch()
        defer { s.cleanup() }
        let images = npy(shape: [3, 4, 5], descr: "|u1", data: (0..<60).map { UInt8($0) })
        let labels = npy(shape: [3, 1], descr: "<i8", data: [Int64(2), 0, 1].withUnsafeBytes { Array($0) })
        try s.write(storedZip(["train_images.npy": images, "train_labels.npy": labels]), "mnist.npz")
        let items = try ArrayImporters.medMNIST(s.url("mnist.npz"))
        #expect(items.map(\.label) == ["2", "0", "1"] && items.allSatisfy { $0.split == "train" })
        let image = try ImageReader.read(items[1].bytes!, source: "x")
        #expect(image.width == 5 && image.height == 4 && image.floats() == (20..<40).map(Float.init))
        try s.write(Array("PK garbage".utf8), "bad.npz")
        #expect { try ArrayImporters.medMNIST(s.url("bad.npz")) } throws: { "\($0)".contains("bad.npz") }
    }

    @Test func diffReportsAddedRemovedRelabelledAndMoved() {
        let a = DatasetVersion(name: "d", task: .classification, source: "", entries: [
            DatasetEntry(path: "1.png", sha256: "a", size: 1, format: "png", label: "x", split: "train"),
            DatasetEntry(path: "2.png", sha256: "b", size: 1, format: "png", label: "x", split: "train"),
        ])
        let b = DatasetVersion(name: "d", task: .classification, source: "", entries: [
            DatasetEntry(path: "2.png", sha256: "b", size: 1, format: "png", label: "y", split: "test"),
            DatasetEntry(path: "3.png", sha256: "c", size: 1, format: "png", label: "x"),
        ])
        let d = b.diff(from: a)
        #expect(d.added == ["3.png"] && d.removed == ["1.png"] && d.resplit == ["2.png"])
        #expect(d.relabelled == [.init(path: "2.png", from: "x", to: "y")])
        #expect(a.id != b.id)
    }
}

func npy(shape: [Int], descr: String, data: [UInt8]) -> [UInt8] {
    var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", ")),), }"
    header += String(repeating: " ", count: (64 - (10 + header.count + 1) % 64) % 64) + "\n"
    return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + Array(header.utf8) + data
}

/// A zip archive with stored (uncompressed) entries; CRCs are left at zero (the reader does not check them).
func storedZip(_ files: [String: [UInt8]]) -> [UInt8] {
    func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    func le32(_ v: Int) -> [UInt8] { le16(v & 0xFFFF) + le16(v >> 16) }
    var out: [UInt8] = [], central: [UInt8] = []
    for (name, data) in files.sorted(by: { $0.key < $1.key }) {
        let offset = out.count
        let n = Array(name.utf8)
        out += le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(data.count) + le32(data.count) + le16(n.count) + le16(0) + n + data
        central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(data.count) + le32(data.count)
            + le16(n.count) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset) + n
    }
    let start = out.count
    return out + central + le32(0x0605_4B50) + le16(0) + le16(0) + le16(files.count) + le16(files.count) + le32(central.count) + le32(start) + le16(0)
}
