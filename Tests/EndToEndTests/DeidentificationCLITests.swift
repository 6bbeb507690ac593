import Foundation
import Testing

/// `lumen data import` of a DICOM tree laid out as hospitals export them, folders and file names carrying
/// the medical record and accession numbers that the tags hold: afterwards no identifying value and no
/// original path component is anywhere in the workspace (every byte of `.lumen/` is searched).
@Suite struct DeidentificationCLITests {
    /// Synthetic CT slices (fake identifying tags: PatientID SYN0000n, AccessionNumber ACC00000n, …) moved
    /// into `MRN-SYN00000-export/SYN0000n_Patientn/ACC00000n/SYN0000n_ACC00000n_IMn.dcm` under class folders.
    static func hospitalTree(in dir: URL) throws -> (root: URL, secrets: [String]) {
        let synth = try lumen(["data", "synth", "ct", dir.appendingPathComponent("synth").path, "--patients", "3", "--slices", "2", "--size", "32"])
        #expect(synth.status == 0, "\(synth.output)")
        let root = dir.appendingPathComponent("MRN-SYN00000-export")
        var secrets: Set<String> = ["MRN-SYN00000-export", "Synthetic^Patient", "Synthetic General Hospital", "Doctor^Example", "20250314"]
        for label in ["lesion", "normal"] {
            let folder = dir.appendingPathComponent("synth/\(label)")
            for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".dcm") {
                let patient = String(name.prefix(8)), p = Int(patient.dropFirst(3))!, slice = name.dropFirst(9).prefix(3)
                let accession = String(format: "ACC%06d", p)
                let target = root.appendingPathComponent("\(label)/\(patient)_Patient\(p)/\(accession)/\(patient)_\(accession)_IM\(slice).dcm")
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                let bytes = try Data(contentsOf: folder.appendingPathComponent(name))
                try bytes.write(to: target)
                secrets.formUnion([patient, accession, "\(patient)_Patient\(p)", "\(patient)_\(accession)_IM\(slice)"])
                // The birth date the synthesiser wrote (YYYY0101, 30 to 85 years before 2025).
                let text = String(decoding: bytes, as: UTF8.self)
                for year in 1935...1995 where text.contains("\(year)0101") { secrets.insert("\(year)0101") }
            }
        }
        #expect(secrets.contains { $0.hasSuffix("0101") }, "birth dates found in the originals")
        return (root, secrets.sorted())
    }

    /// Every file under `folder` (hidden and binary ones included) holding one of `needles`, with the needle.
    static func occurrences(of needles: [String], under folder: URL, except: Set<String> = []) -> [String] {
        var found: [String] = []
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true, !except.contains(url.path),
                  let data = try? Data(contentsOf: url) else { continue }
            for needle in needles where data.range(of: Data(needle.utf8)) != nil { found.append("\(url.lastPathComponent): \(needle)") }
        }
        return found
    }

    @Test func nothingIdentifyingSurvivesAnywhereInTheWorkspace() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (root, secrets) = try Self.hospitalTree(in: dir)
        let workspace = dir.appendingPathComponent("ws")
        try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        #expect(try lumen(["init", workspace.path]).status == 0)
        let imported = try lumen(["data", "import", root.path, "--name", "ct", "--workspace", workspace.path])
        #expect(imported.status == 0, "\(imported.output)")
        #expect(imported.output.contains("imported 6 files") && imported.output.contains("de-identified 6 DICOM files"), "\(imported.output)")
        #expect(imported.output.contains("original file names were not kept"))
        let shown = try lumen(["data", "show", "ct", "--json", "--workspace", workspace.path])
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any])
        let entries = try #require(manifest["entries"] as? [[String: Any]])
        #expect(entries.count == 6 && Set(entries.compactMap { $0["group"] as? String }).count == 3)
        #expect(Set(entries.compactMap { $0["label"] as? String }) == ["lesion", "normal"], "labels from class folders are kept")
        let report = try #require(manifest["deidentificationReport"] as? String)
        let reportFile = workspace.appendingPathComponent(".lumen/artifacts/sha256/\(report.prefix(2))/\(report.dropFirst(2))")
        let reportJSON = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: reportFile)) as? [String: Any])
        #expect((reportJSON["files"] as? [[String: Any]])?.count == 6)
        // The dataset is usable: it validates and exports de-identified files.
        #expect(try lumen(["data", "validate", "ct", "--workspace", workspace.path]).status == 0)

        let leaks = Self.occurrences(of: secrets, under: workspace.appendingPathComponent(".lumen"))
        #expect(leaks.isEmpty, "identifying values left in the workspace: \(leaks)")

        // The same search finds them when de-identification is off: it can see what it looks for.
        let control = dir.appendingPathComponent("control")
        try FileManager.default.createDirectory(at: control, withIntermediateDirectories: true)
        #expect(try lumen(["init", control.path]).status == 0)
        #expect(try lumen(["data", "import", root.path, "--name", "raw", "--no-deidentify", "--workspace", control.path]).status == 0)
        let seen = Set(Self.occurrences(of: secrets, under: control.appendingPathComponent(".lumen")).map { $0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces) })
        #expect(seen == Set(secrets), "the control finds every value: missing \(Set(secrets).subtracting(seen))")
    }

    @Test func keepMappingKeepsOriginalNamesOwnerOnlyAndNowhereElse() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (root, secrets) = try Self.hospitalTree(in: dir)
        let workspace = dir.appendingPathComponent("ws")
        try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        #expect(try lumen(["init", workspace.path]).status == 0)
        let imported = try lumen(["data", "import", root.path, "--name", "ct", "--keep-mapping", "--workspace", workspace.path])
        #expect(imported.status == 0, "\(imported.output)")
        let line = try #require(imported.output.split(separator: "\n").first { $0.hasPrefix("original names kept in ") })
        let mapping = String(line.dropFirst("original names kept in ".count).prefix { $0 != " " })
        #expect(mapping.hasPrefix(workspace.appendingPathComponent(".lumen/artifacts/deidentification/ct/").path))
        let permissions = try FileManager.default.attributesOfItem(atPath: mapping)[.posixPermissions] as? NSNumber
        #expect(permissions?.intValue == 0o600)
        let text = try String(contentsOfFile: mapping, encoding: .utf8)
        #expect(text.contains("SYN00000_Patient0/ACC000000/") && text.contains(root.path))
        let leaks = Self.occurrences(of: secrets, under: workspace.appendingPathComponent(".lumen"), except: [mapping])
        #expect(leaks.isEmpty, "identifying values outside the mapping: \(leaks)")
    }
}
