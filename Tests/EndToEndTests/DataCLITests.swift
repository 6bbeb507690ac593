import Foundation
import Testing

@Suite struct DataCLITests {
    @Test func synthImportSplitValidateAndConvert() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try lumen(["init", dir.path]).status == 0)
        let synth = try lumen(["data", "synth", "ct", dir.appendingPathComponent("ct").path, "--patients", "4", "--slices", "3", "--size", "48"])
        #expect(synth.status == 0, "\(synth.output)")
        // A broken file among the DICOMs: reported, the rest imported, exit code 3.
        try Data("DICM? no".utf8).write(to: dir.appendingPathComponent("ct/lesion/broken.dcm"))
        let imported = try lumen(["data", "import", dir.appendingPathComponent("ct").path, "--name", "ct", "--split", "0.5,0.25,0.25", "--workspace", dir.path])
        #expect(imported.status == 3, "\(imported.output)")
        #expect(imported.output.contains("imported 12 files as ct:") && imported.output.contains("skipped lesion/broken.dcm"))
        #expect(try lumen(["data", "split", "ct", "--check", "--workspace", dir.path]).status == 0)
        let validated = try lumen(["data", "validate", "ct", "--json", "--workspace", dir.path])
        #expect(validated.status == 0, "\(validated.output)")
        let report = try JSONSerialization.jsonObject(with: Data(validated.output.utf8)) as? [String: Any]
        #expect((report?["modalities"] as? [String: Int])?["CT"] == 12)
        let folds = try lumen(["data", "split", "ct", "--folds", "2", "--workspace", dir.path])
        #expect(folds.status == 0, "\(folds.output)")
        // The folds are in the new version's manifest: every file in fold 0 or 1, both folds used, a patient in one fold.
        let foldedText = try lumen(["data", "show", "ct", "--json", "--workspace", dir.path]).output
        let folded = try #require(try JSONSerialization.jsonObject(with: Data(foldedText.utf8)) as? [String: Any])
        let foldEntries = try #require(folded["entries"] as? [[String: Any]])
        let foldOf = foldEntries.map { (($0["metadata"] as? [String: String])?["fold"], $0["group"] as? String) }
        #expect(foldEntries.count == 12 && Set(foldOf.map(\.0)) == ["0", "1"], "\(foldOf)")
        #expect(Dictionary(grouping: foldOf, by: { $0.1 ?? "" }).values.allSatisfy { Set($0.map(\.0)).count == 1 }, "a patient's slices share a fold")
        let list = try lumen(["data", "list", "--workspace", dir.path])
        #expect(list.output.components(separatedBy: "\nct ").count == 3, "two versions listed: \(list.output)")

        // Train on it from a config with overrides, and register the best checkpoint.
        let config = dir.appendingPathComponent("exp.yaml")
        try "data:\n  dataset: ct\n  image_size: 24\n  window: lung\nmodel:\n  name: simple-cnn\ntrainer:\n  batch_size: 4\n".write(to: config, atomically: true, encoding: .utf8)
        let trained = try lumen(["train", config.path, "trainer.epochs=2", "trainer.threads=1", "--register", "phantom", "--workspace", dir.path])
        #expect(trained.status == 0, "\(trained.output)")
        #expect(trained.output.contains("epoch 2/2") && trained.output.contains("registered phantom version 1"))
        #expect(trained.output.contains("kept epoch ") && trained.output.contains("(best val_loss "), "the final line names the kept epoch: \(trained.output)")
        // A second workspace on the same store and artifact root (another machine or server, say) sees the same
        // datasets, model versions and model cards: nothing lives only in the first one's `.lumen/`.
        let other = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: other) }
        #expect(try lumen(["init", other.path]).status == 0)
        try "store: sqlite:\(dir.path)/.lumen/lumen.db\nartifacts: \(dir.path)/.lumen/artifacts\n".write(to: other.appendingPathComponent(".lumen/config.yaml"), atomically: true, encoding: .utf8)
        #expect(try lumen(["data", "list", "--workspace", other.path]).output.components(separatedBy: "\nct ").count == 3)
        let shown = try lumen(["models", "show", "phantom/1", "--workspace", other.path])
        #expect(shown.status == 0 && shown.output.contains("\"classes\":[\"lesion\",\"normal\"]"), "the spec with classes as a list: \(shown.output)")
        let card = try lumen(["models", "card", "phantom/1", "--workspace", other.path]).output
        #expect(card.contains("# Model card: phantom version 1") && card.contains("95 % CI") && card.contains("## Limitations") && card.contains("trainer.epochs: 2"))
        let typo = try lumen(["train", config.path, "trainer.epoch=2", "--workspace", dir.path])
        #expect(typo.status != 0 && typo.output.contains("trainer.epoch") && typo.output.contains("epochs"))
        #expect(try lumen(["models", "show", "phantom", "--workspace", dir.path]).output.contains("phantom"))
        // The resolved config, every default filled in; it reads back as a config.
        let printed = try lumen(["train", config.path, "trainer.epochs=7", "--print-config"])
        #expect(printed.status == 0 && printed.output.contains("  epochs: 7") && printed.output.contains("  image_size: 24") && printed.output.contains("  optimizer: adamw"), "\(printed.output)")
        let resolved = dir.appendingPathComponent("resolved.yaml")
        try printed.output.write(to: resolved, atomically: true, encoding: .utf8)
        let again = try lumen(["train", resolved.path, "--print-config"])
        #expect(again.status == 0 && again.output.split(separator: "\n").dropFirst() == printed.output.split(separator: "\n").dropFirst())

        // Ctrl-C: the run saves a checkpoint, is marked KILLED, exits 130, and --resume finishes it.
        let long = Process()
        long.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lumen")
        long.arguments = ["train", config.path, "trainer.epochs=40", "trainer.threads=1", "--workspace", dir.path]
        let pipe = Pipe()
        long.standardOutput = pipe
        long.standardError = pipe
        try long.run()
        var text = ""
        while !text.contains("epoch 1/40") {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        long.interrupt()
        text += String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        long.waitUntilExit()
        #expect(long.terminationStatus == 130, "\(text)")
        let runID = try #require(text.components(separatedBy: "lumen train --resume ").last?.prefix(32)).description
        #expect(text.contains("is marked KILLED") && runID.count == 32, "\(text)")
        #expect(try lumen(["runs", "show", runID, "--workspace", dir.path]).output.contains("KILLED"))
        let unfinished = try lumen(["models", "register", runID, "phantom", "--workspace", dir.path])
        #expect(unfinished.status != 0 && unfinished.output.contains("--resume"), "\(unfinished.output)")
        let resumed = try lumen(["train", "--resume", String(runID.prefix(8)), "--workspace", dir.path])
        #expect(resumed.status == 0 && resumed.output.contains("resuming in epoch") && resumed.output.contains("epoch 40/40"), "\(resumed.output)")
        let later = try lumen(["models", "register", runID, "phantom", "--alias", "candidate", "--workspace", dir.path])
        #expect(later.status == 0 && later.output.contains("registered phantom version 2"), "\(later.output)")
        let candidate = try lumen(["models", "show", "phantom@candidate", "--workspace", dir.path])
        #expect(candidate.status == 0 && candidate.output.hasPrefix("phantom version 2 ") && candidate.output.contains("aliases candidate"), "the alias points at the new version: \(candidate.output)")
        #expect(try lumen(["train", "--resume", runID, "--workspace", dir.path]).output.contains("FINISHED"))
        let reportFile = dir.appendingPathComponent("eval.json")
        let evaluated = try lumen(["evaluate", "phantom/1", "--data", "ct", "--split", "val", "--bootstrap", "50", "--out", reportFile.path, "--workspace", dir.path])
        #expect(evaluated.status == 0, "\(evaluated.output)")
        #expect(evaluated.output.contains("ROC-AUC") && evaluated.output.contains("95 % CI"))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("eval.html").path))
        let parsed = try JSONSerialization.jsonObject(with: Data(contentsOf: reportFile)) as? [String: Any]
        #expect(((parsed?["predictions"] as? [Any])?.count ?? 0) > 0)
        #expect(try lumen(["evaluate", "nosuchmodel", "--data", "ct", "--workspace", dir.path]).status != 0)
        let unknownPositive = try lumen(["evaluate", "phantom/1", "--data", "ct", "--split", "val", "--positive", "tumour", "--workspace", dir.path])
        #expect(unknownPositive.status != 0 && unknownPositive.output.contains("'tumour' is not a class of this model (classes: lesion, normal)"), "\(unknownPositive.output)")
        let lesion = try lumen(["evaluate", "phantom/1", "--data", "ct", "--split", "val", "--bootstrap", "0", "--positive", "lesion", "--out", dir.appendingPathComponent("lesion.json").path, "--workspace", dir.path])
        #expect(lesion.status == 0 && lesion.output.contains("(positive class: lesion)"), "\(lesion.output)")
        let lesionReport = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("lesion.json"))) as? [String: Any])
        let lesionClasses = try #require(lesionReport["classes"] as? [String])
        #expect((lesionReport["positive"] as? Int).map { lesionClasses[$0] } == "lesion", "the report scores lesion as the positive class")
        let heatmap = dir.appendingPathComponent("cam.png").path
        let explained = try lumen(["explain", "phantom/1", dir.appendingPathComponent("ct/lesion/SYN00000_000.dcm").path, "--out", heatmap, "--workspace", dir.path])
        #expect(explained.status == 0, "\(explained.output)")
        #expect(try lumen(["image", "info", heatmap]).output.contains("24 x 24"))

        let slice = dir.appendingPathComponent("ct/normal/SYN00001_000.dcm").path
        let info = try lumen(["image", "info", "--json", slice])
        let fields = try JSONSerialization.jsonObject(with: Data(info.output.utf8)) as? [String: String]
        #expect(fields?["modality"] == "CT" && fields?["units"] == "HU" && fields?["size"] == "48 x 48")
        let png = dir.appendingPathComponent("slice.png").path
        #expect(try lumen(["image", "convert", slice, png, "--window", "lung"]).status == 0)
        #expect(try lumen(["image", "info", png]).output.contains("48 x 48"))
        let bad = try lumen(["image", "convert", slice, dir.appendingPathComponent("x.png").path, "--window", "sideways"])
        #expect(bad.status != 0 && bad.output.contains("sideways"))
        let missing = try lumen(["image", "info", dir.appendingPathComponent("nope.dcm").path])
        #expect(missing.status == 1 && missing.output.contains("no such file"))
    }
}

/// `lumen evaluate --by COLUMN`: the classifier's metrics per subgroup of a manifest column, with intervals.
@Suite struct SubgroupCLITests {
    @Test func evaluateBySite() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ws = ["--workspace", dir.path]
        #expect(try lumen(["init", dir.path]).status == 0)
        #expect(try lumen(["data", "synth", "ct", dir.appendingPathComponent("ct").path, "--patients", "8", "--slices", "4", "--size", "32"]).status == 0)
        // A manifest with a site per patient (even patients at A, odd at B).
        var rows = ["path,label,patient_id,site"]
        for label in ["lesion", "normal"] {
            for file in try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("ct/\(label)").path).sorted() where file.hasSuffix(".dcm") {
                let patient = Int(file.dropFirst(3).prefix(5)) ?? 0
                rows.append("\(label)/\(file),\(label),p\(patient),\(patient % 2 == 0 ? "A" : "B")")
            }
        }
        try rows.joined(separator: "\n").write(to: dir.appendingPathComponent("ct/manifest.csv"), atomically: true, encoding: .utf8)
        let imported = try lumen(["data", "import", dir.appendingPathComponent("ct/manifest.csv").path, "--name", "sites", "--split", "0.5,0.5", "--no-deidentify"] + ws)
        #expect(imported.status == 0, "\(imported.output)")
        try "data:\n  dataset: sites\n  image_size: 16\n  positive_class: lesion\nmodel:\n  name: simple-cnn\ntrainer:\n  batch_size: 8\n  epochs: 1\n  threads: 1\n"
            .write(to: dir.appendingPathComponent("exp.yaml"), atomically: true, encoding: .utf8)
        try #require(try lumen(["train", dir.appendingPathComponent("exp.yaml").path, "--register", "m"] + ws).status == 0)
        let out = dir.appendingPathComponent("eval.json")
        let evaluated = try lumen(["evaluate", "m", "--data", "sites", "--split", "test", "--bootstrap", "100", "--by", "site", "--out", out.path] + ws)
        #expect(evaluated.status == 0 && evaluated.output.contains("by site") && evaluated.output.contains("sensitivity"), "\(evaluated.output)")
        let subgroups = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("eval-subgroups.json"))) as? [String: Any])
        let groups = try #require(subgroups["groups"] as? [[String: Any]])
        #expect(Set(groups.compactMap { ($0["values"] as? [String])?.first }).isSubset(of: ["A", "B"]) && !groups.isEmpty)
        #expect(groups.reduce(0) { $0 + ($1["images"] as? Int ?? 0) } <= 16 && groups.allSatisfy { (($0["metrics"] as? [String: Any])?["accuracy"]) != nil })
        let refusedOut = dir.appendingPathComponent("refused.json")
        let unknown = try lumen(["evaluate", "m", "--data", "sites", "--split", "test", "--by", "scanner", "--out", refusedOut.path] + ws)
        #expect(unknown.status != 0 && unknown.output.contains("no column 'scanner'") && unknown.output.contains("site"), "\(unknown.output)")
        #expect(!FileManager.default.fileExists(atPath: refusedOut.path), "refused before evaluating: no report written")
    }
}
