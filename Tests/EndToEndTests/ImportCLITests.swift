import Foundation
import Testing

/// `lumen data import` and `data split` refusing what would otherwise succeed without doing what was
/// asked, and `--group-pattern` finding patients in Kaggle-style file names. Each case checks the store,
/// not only the message.
@Suite struct ImportCLITests {
    /// A Kaggle chest X-ray layout (train/test, NORMAL/PNEUMONIA, patient ids in file names) of small PNGs.
    func chestXRayLayout(in dir: URL) throws -> URL {
        let cells = dir.appendingPathComponent("cells")
        let synth = try lumen(["data", "synth", "cells", cells.path, "--count", "8", "--size", "32"])
        try #require(synth.status == 0, "\(synth.output)")
        let pngs = try FileManager.default.contentsOfDirectory(atPath: cells.appendingPathComponent("images").path).filter { $0.hasSuffix(".png") }.sorted()
        try #require(pngs.count == 8)
        let layout = [
            "train/NORMAL/IM-0115-0001.png", "train/NORMAL/IM-0115-0002.png", "train/NORMAL/NORMAL2-IM-1427-0001.png",
            "train/PNEUMONIA/person1_bacteria_1.png", "train/PNEUMONIA/person1_virus_6.png", "train/PNEUMONIA/person2_bacteria_2.png",
            "test/PNEUMONIA/person1_bacteria_9.png", "test/NORMAL/IM-0001-0001.png",
        ]
        let root = dir.appendingPathComponent("chest_xray")
        for (png, path) in zip(pngs, layout) {
            let target = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: cells.appendingPathComponent("images").appendingPathComponent(png), to: target)
        }
        return root
    }

    func manifest(_ dir: URL, _ reference: String) throws -> [[String: Any]] {
        let shown = try lumen(["data", "show", reference, "--json", "--workspace", dir.path])
        try #require(shown.status == 0, "\(shown.output)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any])
        return try #require(object["entries"] as? [[String: Any]])
    }

    func versionCount(_ dir: URL) throws -> Int {
        try lumen(["data", "list", "--workspace", dir.path]).output.split(separator: "\n").filter { $0.hasPrefix("xray ") || $0.hasPrefix("m ") }.count
    }

    @Test func groupPatternFindsPatientsAndValidateReportsLeakage() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try lumen(["init", dir.path]).status == 0)
        let root = try chestXRayLayout(in: dir)

        // Mistakes are refused before anything is stored.
        let invalid = try lumen(["data", "import", root.path, "--name", "xray", "--group-pattern", "person(\\d+", "--workspace", dir.path])
        #expect(invalid.status != 0 && invalid.output.contains("not a valid regular expression"), "\(invalid.output)")
        let noCapture = try lumen(["data", "import", root.path, "--name", "xray", "--group-pattern", "person\\d+_", "--workspace", dir.path])
        #expect(noCapture.status != 0 && noCapture.output.contains("no capture group"), "\(noCapture.output)")
        let nothing = try lumen(["data", "import", root.path, "--name", "xray", "--group-pattern", "patient-(\\d+)", "--workspace", dir.path])
        #expect(nothing.status != 0 && nothing.output.contains("matched none of 8"), "\(nothing.output)")
        #expect(try versionCount(dir) == 0, "a refused import stores no version")

        let imported = try lumen(["data", "import", root.path, "--name", "xray", "--group-pattern", "person(\\d+)_|IM-(\\d+)-", "--workspace", dir.path])
        #expect(imported.status == 0, "\(imported.output)")
        #expect(imported.output.contains("5 patients/groups found"), "\(imported.output)")
        let entries = try manifest(dir, "xray")
        let groups = Dictionary(uniqueKeysWithValues: entries.map { ($0["path"] as! String, $0["group"] as? String) })
        #expect(groups["train/NORMAL/IM-0115-0001.png"] == "0115")
        #expect(groups["train/NORMAL/IM-0115-0002.png"] == "0115")
        #expect(groups["train/NORMAL/NORMAL2-IM-1427-0001.png"] == "1427")
        #expect(groups["train/PNEUMONIA/person1_virus_6.png"] == "1")
        #expect(groups["test/PNEUMONIA/person1_bacteria_9.png"] == "1")
        #expect(groups["train/PNEUMONIA/person2_bacteria_2.png"] == "2")
        #expect(groups["test/NORMAL/IM-0001-0001.png"] == "0001")

        // person1 is in the Kaggle train and test folders: validation and the split check say so.
        let validated = try lumen(["data", "validate", "xray", "--workspace", dir.path])
        #expect(validated.status == 1 && validated.output.contains("leakage: group 1 in test, train"), "\(validated.output)")
        #expect(try lumen(["data", "split", "xray", "--check", "--workspace", dir.path]).status == 1)
        // A fresh group-aware split keeps every patient in one split.
        let resplit = try lumen(["data", "split", "xray", "--ratios", "0.5,0.5", "--workspace", dir.path])
        #expect(resplit.status == 0, "\(resplit.output)")
        let after = try manifest(dir, "xray")
        var splitsOf: [String: Set<String>] = [:]
        for e in after { splitsOf[e["group"] as! String, default: []].insert(e["split"] as! String) }
        #expect(splitsOf.count == 5 && splitsOf.values.allSatisfy { $0.count == 1 }, "\(splitsOf)")
    }

    @Test func splitRefusesTooFewGroupsAndUnknownColumns() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try lumen(["init", dir.path]).status == 0)
        let root = try chestXRayLayout(in: dir)
        #expect(try lumen(["data", "import", root.path, "--name", "xray", "--group-pattern", "person(\\d+)_|IM-(\\d+)-", "--workspace", dir.path]).status == 0)
        #expect(try versionCount(dir) == 1)
        let folds = try lumen(["data", "split", "xray", "--folds", "6", "--workspace", dir.path])
        #expect(folds.status != 0 && folds.output.contains("6 folds need at least 6 patients/groups; the dataset has 5"), "\(folds.output)")
        let column = try lumen(["data", "split", "xray", "--stratify", "label,sex", "--workspace", dir.path])
        #expect(column.status != 0 && column.output.contains("no column 'sex'"), "\(column.output)")
        #expect(try versionCount(dir) == 1, "neither refused split stored a version")
        let five = try lumen(["data", "split", "xray", "--folds", "5", "--workspace", dir.path])
        #expect(five.status == 0, "\(five.output)")
        let folded = try manifest(dir, "xray")
        #expect(Set(folded.compactMap { ($0["metadata"] as? [String: String])?["fold"] }) == ["0", "1", "2", "3", "4"], "every fold holds a patient")
        let importSplit = try lumen(["data", "import", root.path, "--name", "xray", "--split", "0.5,0.5", "--stratify", "label, site", "--workspace", dir.path])
        #expect(importSplit.status != 0 && importSplit.output.contains("no column 'site'"), "\(importSplit.output)")
        #expect(try versionCount(dir) == 2)
    }

    @Test func manifestWithoutLabelsIsRefusedUnlessUnlabelled() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try lumen(["init", dir.path]).status == 0)
        let root = try chestXRayLayout(in: dir)
        let csv = root.appendingPathComponent("files.csv")
        try "path,site\ntrain/NORMAL/IM-0115-0001.png,a\ntrain/PNEUMONIA/person1_virus_6.png,b\n".write(to: csv, atomically: true, encoding: .utf8)
        let refused = try lumen(["data", "import", csv.path, "--name", "m", "--workspace", dir.path])
        #expect(refused.status != 0 && refused.output.contains("no label column") && refused.output.contains("--unlabelled"), "\(refused.output)")
        #expect(try versionCount(dir) == 0)
        let flat = dir.appendingPathComponent("flat")
        try FileManager.default.createDirectory(at: flat, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: root.appendingPathComponent("train/NORMAL/IM-0115-0001.png"), to: flat.appendingPathComponent("a.png"))
        let flatRefused = try lumen(["data", "import", flat.path, "--name", "m", "--workspace", dir.path])
        #expect(flatRefused.status != 0 && flatRefused.output.contains("no class subfolders"), "\(flatRefused.output)")
        let accepted = try lumen(["data", "import", csv.path, "--name", "m", "--unlabelled", "--workspace", dir.path])
        #expect(accepted.status == 0, "\(accepted.output)")
        let entries = try manifest(dir, "m")
        #expect(entries.count == 2 && entries.allSatisfy { $0["label"] == nil })
    }
}
