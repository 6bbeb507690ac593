import Testing
import Foundation
import LumenImaging
import LumenNN
import LumenTensor
@testable import LumenTraining

@Suite("Experiment configs")
struct ConfigTests {
    let yaml = """
    experiment: cxr
    data:
      dataset: chest
      augment: [flip, rotate]
    trainer:
      epochs: 5
      early_stopping:
        metric: val_auc
        mode: max
    """

    @Test func defaultsYAMLAndOverrides() throws {
        let c = try ExperimentConfig(yaml: yaml, overrides: ["trainer.epochs=20", "model.name=resnet34", "trainer.lr=0.01", "data.augment=[flip]"])
        #expect(c.experiment == "cxr" && c.dataset == "chest")
        #expect(c.epochs == 20 && c.model == .resnet34 && c.lr == 0.01 && c.augment == [.flip])
        #expect(c.monitor == "val_auc" && c.monitorMode == .max)
        #expect(c.batchSize == 32 && c.optimizer == .adamw && c.imageSize == 64, "documented defaults")
        let params = Dictionary(uniqueKeysWithValues: c.tree.effectiveValues())
        #expect(params["trainer.epochs"] == "20" && params["trainer.batch_size"] == "32")
    }

    @Test func unknownKeysNameTheirPathAndTheAllowedKeys() {
        #expect(throws: TrainingError.self) { try ExperimentConfig(yaml: yaml + "\n  epohcs: 3\n") }
        do {
            _ = try ExperimentConfig(yaml: yaml, overrides: ["trainer.early_stopping.patiense=3"])
            Issue.record("an unknown key was accepted")
        } catch {
            #expect(error == .config(path: "trainer.early_stopping.patiense", reason: "unknown key; allowed under 'trainer.early_stopping': metric, mode, patience"))
        }
        #expect { try ExperimentConfig(yaml: "modle:\n  name: x\ndata:\n  dataset: d\n") } throws: { "\($0)".contains("'modle'") && "\($0)".contains("allowed at the top level: data, experiment, model, run_name, task, trainer") }
    }

    @Test func typesAndValuesAreChecked() throws {
        #expect { try ExperimentConfig(yaml: yaml, overrides: ["trainer.epochs=ten"]) } throws: { "\($0)".contains("trainer.epochs") && "\($0)".contains("integer") }
        #expect { try ExperimentConfig(yaml: yaml, overrides: ["trainer.optimizer=lbfgs"]) } throws: { "\($0)".contains("sgd, adam, adamw") }
        // Every closed set is an enum: an unknown value is refused with its key, never replaced by a default.
        for (key, bad) in [("task", "regression"), ("model.name", "resnet9000"), ("trainer.schedule", "linear"), ("trainer.loss", "hinge"),
                           ("data.normalize", "l2"), ("trainer.early_stopping.mode", "median")] {
            #expect { try ExperimentConfig(yaml: yaml, overrides: ["\(key)=\(bad)"]) } throws: { "\($0)".contains(key) && "\($0)".contains(bad) }
        }
        let focal = try ExperimentConfig(yaml: yaml, overrides: ["trainer.loss=focal"])
        #expect(focal.loss == .focal)
        #expect { try ExperimentConfig(yaml: yaml, overrides: ["task=segmentation", "model.name=unet", "trainer.loss=focal"]) } throws: { "\($0)".contains("trainer.loss") }
        #expect { try ExperimentConfig(yaml: yaml, overrides: ["trainer.batch_size=0"]) } throws: { "\($0)".contains("trainer.batch_size") }
        #expect { try ExperimentConfig(yaml: yaml, overrides: ["data.augment=[spin]"]) } throws: { "\($0)".contains("spin") }
        #expect { try ExperimentConfig(yaml: "trainer:\n  epochs: 3\n") } throws: { "\($0)".contains("data.dataset") && "\($0)".contains("required") }
        #expect { try ExperimentConfig(yaml: "- just\n- a list\n") } throws: { "\($0)".contains("mapping") }
        #expect { try ExperimentConfig(yaml: yaml, overrides: ["epochs"]) } throws: { "\($0)".contains("KEY=VALUE") }
    }

    /// `Codable`: a config encodes as its resolved, typed values and decodes through the same checks; the
    /// resolved YAML reads back to the same config.
    @Test func codableAndResolvedYAML() throws {
        func effective(_ c: ExperimentConfig) -> [String] { c.tree.effectiveValues().map { "\($0.0)=\($0.1)" } }
        let c = try ExperimentConfig(yaml: yaml, overrides: ["trainer.lr=1e-5", "data.positive_class=yes", "experiment=on"])
        #expect(c.positiveClass == "yes" && c.experiment == "on", "text keys keep YAML 1.1 booleans as written")
        let json = try JSONEncoder().encode(c)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let trainer = try #require(object["trainer"] as? [String: Any]), data = try #require(object["data"] as? [String: Any])
        #expect(trainer["epochs"] as? Int == 5 && trainer["lr"] as? Double == 1e-5 && trainer["class_weights"] as? Bool == false)
        #expect(data["augment"] as? [String] == ["flip", "rotate"] && data["positive_class"] as? String == "yes")
        #expect((trainer["early_stopping"] as? [String: Any])?["metric"] as? String == "val_auc")
        #expect(effective(try JSONDecoder().decode(ExperimentConfig.self, from: json)) == effective(c))
        let text = try c.resolvedYAML()
        #expect(text.contains("lr: 1.0e-05") && text.contains("positive_class: 'yes'") && text.contains("augment: [flip, rotate]"), "\(text)")
        #expect(effective(try ExperimentConfig(yaml: text)) == effective(c))
        #expect { try JSONDecoder().decode(ExperimentConfig.self, from: Data(#"{"data": {"dataset": "d"}, "trainer": {"epohcs": 3}}"#.utf8)) } throws: {
            "\($0)".contains("trainer.epohcs") && "\($0)".contains("allowed under 'trainer'")
        }
        #expect { try JSONDecoder().decode(ExperimentConfig.self, from: Data(#"{"data": {"dataset": "d", "image_size": "big"}}"#.utf8)) } throws: {
            "\($0)".contains("data.image_size") && "\($0)".contains("'big'")
        }
        // An empty list is none; an empty value is the default.
        #expect(try ExperimentConfig(yaml: "data: {dataset: d, augment: []}\n").augment == [])
        #expect(try ExperimentConfig(yaml: "data: {dataset: d, augment: []}\n", overrides: ["data.augment="]).augment == [.flip])
        #expect(try ExperimentConfig(yaml: "data: {dataset: d}\n", overrides: ["data.augment=[]"]).resolvedYAML().contains("augment: []"))
    }

    /// YAML that `Yams.load` traps on or that expands without bound is refused by path; merge keys work.
    @Test func awkwardYAMLIsReadOrRefusedByPath() throws {
        #expect { try ExperimentConfig(yaml: "? [a, b]\n: c\n") } throws: { "\($0)".contains("plain word") }
        #expect { try ExperimentConfig(yaml: "data:\n  dataset: d\n  ? {x: 1}\n  : 2\n") } throws: { "\($0)".contains("'data'") && "\($0)".contains("mapping") }
        #expect { try ExperimentConfig(yaml: yaml, overrides: ["data.augment={[flip]: 1}"]) } throws: { "\($0)".contains("data.augment") }
        // Ten levels of ten aliases each would be 10^10 nodes.
        var bomb = "x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n"
        for level in 1..<10 { bomb += "x\(level): &x\(level) [" + Array(repeating: "*x\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        #expect { try ExperimentConfig(yaml: bomb + "data: {dataset: d}\n") } throws: { "\($0)".contains("too many YAML nodes") }
        let sweep = "base: b.yaml\nparameters:\n  data.augment: [" + bomb.split(separator: "\n").map { "{" + $0 + "}" }.joined(separator: ", ") + "]\n"
        #expect { try SweepConfig(yaml: sweep, loadBase: { _ in "data: {dataset: d}\n" }) } throws: { "\($0)".contains("too many YAML nodes") }
        // `<<: *defaults` merges, keys written beside it win.
        let merged = try ExperimentConfig(yaml: "data:\n  <<: {dataset: d, image_size: 32, augment: [flip]}\n  image_size: 48\ntrainer: {<<: [{epochs: 3}, {epochs: 4, lr: 0.5}]}\n")
        #expect(merged.dataset == "d" && merged.imageSize == 48 && merged.augment == [.flip])
        #expect(merged.epochs == 3 && merged.lr == 0.5, "the first mapping of a merge list wins, as in YAML 1.1")
    }

    @Test func exampleConfigIsValidAndEveryKeyIsDocumented() throws {
        let c = try ExperimentConfig(yaml: ExperimentConfig.example)
        #expect(c.dataset == "cxr" && c.patience == 5)
        // The published page, not the text generated from the same schema.
        let page = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/configuration.md"), encoding: .utf8)
        for key in ExperimentConfig.schema { #expect(page.contains("\(key.path) (") && !key.help.isEmpty, "\(key.path) is not in docs/configuration.md") }
    }
}

@Suite("Metrics")
struct MetricTests {
    @Test func aucMatchesHandComputedValues() {
        // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        #expect(ClassificationMetrics.rocAUC(scores: [0.1, 0.4, 0.35, 0.8], positive: [false, false, true, true]) == 0.75)
        // ties count half: roc_auc_score([0, 1], [0.5, 0.5]) == 0.5
        #expect(ClassificationMetrics.rocAUC(scores: [0.5, 0.5], positive: [false, true]) == 0.5)
        #expect(ClassificationMetrics.rocAUC(scores: [0.2, 0.3], positive: [true, true]).isNaN)
        let p: [[Double]] = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]
        #expect(ClassificationMetrics.accuracy(probabilities: p, labels: [0, 1, 1, 1]) == 0.75)
        #expect(ClassificationMetrics.auc(probabilities: p, labels: [0, 1, 1, 1]) == 1.0)
    }
}

@Suite("Evaluation report")
struct EvaluationReportTests {
    @Test func binaryReportMatchesHandComputedScikitLearnValues() {
        // y = [0, 0, 1, 1], p(1) = [0.1, 0.4, 0.35, 0.8]
        let predictions = zip([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).enumerated().map { ScoredImage(path: "\($0.offset)", label: $0.element.0, probabilities: [1 - $0.element.1, $0.element.1]) }
        let r = ClassificationReport(classes: ["neg", "pos"], predictions: predictions, bootstrap: 100)
        #expect(abs(r.prAUC - 0.8333333333) < 1e-9)          // average_precision_score
        #expect(r.rocAUC == 0.75)                             // roc_auc_score
        #expect(r.confusionMatrix == [[2, 0], [1, 1]])        // predictions at 0.5: [0, 0, 0, 1]
        #expect(r.accuracy == 0.75 && r.balancedAccuracy == 0.75)
        #expect(r.perClass[1].recall == 0.5 && r.perClass[1].specificity == 1 && r.perClass[1].precision == 1)
        #expect(abs(r.macro["f1"]! - (0.8 + 2.0 / 3) / 2) < 1e-12)
        let youden = try! #require(r.threshold)
        #expect(youden.threshold == 0.8 && youden.sensitivity == 0.5 && youden.specificity == 1)
        let sensitive = ClassificationReport(classes: ["neg", "pos"], predictions: predictions, targetSensitivity: 1, bootstrap: 0)
        #expect(sensitive.threshold?.threshold == 0.35 && sensitive.threshold?.sensitivity == 1)
        let ci = try! #require(r.confidenceIntervals["accuracy"])
        #expect(ci.low <= 0.75 && 0.75 <= ci.high)
    }

    /// The finding as the first class ("lesion" before "normal"): the same figures as with the classes swapped.
    @Test func thePositiveClassIsNeverANegativeFindingByDefault() throws {
        #expect(try Trainer.positiveIndex(nil, classes: ["lesion", "normal"], option: "data.positive_class") == 0)
        #expect(try Trainer.positiveIndex(nil, classes: ["NORMAL", "PNEUMONIA"], option: "data.positive_class") == 1)
        #expect(try Trainer.positiveIndex(nil, classes: ["benign", "malignant"], option: "data.positive_class") == 1)
        #expect(try Trainer.positiveIndex(nil, classes: ["0", "1"], option: "data.positive_class") == 1)
        #expect(try Trainer.positiveIndex(nil, classes: ["covid", "healthy"], option: "data.positive_class") == 0)
        #expect(try Trainer.positiveIndex("normal", classes: ["lesion", "normal"], option: "data.positive_class") == 1, "named explicitly, it is obeyed")
        #expect(try Trainer.positiveIndex(nil, classes: ["a", "b", "c"], option: "data.positive_class") == 1, "no positive class for three classes")
        for unclear in [["cat", "dog"], ["normal", "negative"]] {
            #expect { try Trainer.positiveIndex(nil, classes: unclear, option: "data.positive_class") } throws: { "\($0)".contains("data.positive_class") && "\($0)".contains("cannot be told") }
        }
    }

    @Test func positiveClassMayBeTheFirst() {
        let labels = [0, 0, 1, 1, 0, 1, 1, 0], p0 = [0.9, 0.6, 0.3, 0.45, 0.2, 0.1, 0.55, 0.7]
        let first = zip(labels, p0).enumerated().map { ScoredImage(path: "\($0.offset)", label: $0.element.0, probabilities: [$0.element.1, 1 - $0.element.1]) }
        let swapped = first.map { ScoredImage(path: $0.path, label: 1 - $0.label, probabilities: $0.probabilities.reversed()) }
        let a = ClassificationReport(classes: ["lesion", "normal"], predictions: first, bootstrap: 200, positive: 0)
        let b = ClassificationReport(classes: ["normal", "lesion"], predictions: swapped, bootstrap: 200)
        #expect(a.positiveIndex == 0 && b.positiveIndex == 1)
        #expect(a.rocAUC == b.rocAUC && a.prAUC == b.prAUC)
        #expect(a.perClass[0].recall == b.perClass[1].recall && a.perClass[0].specificity == b.perClass[1].specificity)
        #expect(a.threshold?.threshold == b.threshold?.threshold && a.threshold?.sensitivity == b.threshold?.sensitivity)
        for name in ["sensitivity", "specificity", "roc_auc", "accuracy"] {
            #expect(a.confidenceIntervals[name]?.low == b.confidenceIntervals[name]?.low && a.confidenceIntervals[name]?.high == b.confidenceIntervals[name]?.high, "\(name)")
        }
        // Not the same as taking the second class: sensitivity of "lesion" differs from that of "normal".
        let second = ClassificationReport(classes: ["lesion", "normal"], predictions: first, bootstrap: 0)
        // scikit-learn: average_precision_score(y == 0, p0) = 25/28, average_precision_score(y == 1, 1 - p0) = 193/240.
        #expect(second.positiveIndex == 1)
        #expect(abs(a.prAUC - 25.0 / 28) < 1e-12 && abs(second.prAUC - 193.0 / 240) < 1e-12, "\(a.prAUC) \(second.prAUC)")
    }

    @Test func calibrationErrorOfAPerfectlyCalibratedAndAnOverconfidentModel() {
        let calibrated = (0..<10).map { ScoredImage(path: "\($0)", label: $0 < 8 ? 1 : 0, probabilities: [0.2, 0.8]) }
        #expect(abs(ClassificationReport(classes: ["a", "b"], predictions: calibrated, bootstrap: 0).expectedCalibrationError) < 1e-12)
        let overconfident = (0..<10).map { ScoredImage(path: "\($0)", label: $0 < 5 ? 1 : 0, probabilities: [0.01, 0.99]) }
        #expect(abs(ClassificationReport(classes: ["a", "b"], predictions: overconfident, bootstrap: 0).expectedCalibrationError - 0.49) < 1e-9)
    }
}

@Suite("HTML report")
struct HTMLReportTests {
    @Test func chartsTablesAndEscaping() {
        let predictions = (0..<20).map { i in ScoredImage(path: "img<\(i)>.png", label: i % 2, probabilities: i % 3 == 0 ? [0.3, 0.7] : [0.8, 0.2]) }
        let report = ClassificationReport(classes: ["<script>alert(1)</script>", "pos"], predictions: predictions, bootstrap: 50)
        let html = HTMLReport.render(report, title: "t & co", curves: ["train_loss": [1, 0.5, 0.3], "val_auc": [0.6, 0.8, 0.9]], thumbnails: ["img<0>.png": [0x89, 0x50]])
        #expect(html.components(separatedBy: "<svg").count - 1 == 5, "ROC, PR, confusion, reliability, training curves")
        #expect(!html.contains("<script>") && html.contains("&lt;script&gt;") && html.contains("t &amp; co"))
        #expect(html.contains("data:image/png;base64,iVA="))
        #expect(html.contains("Worst-predicted images") && html.contains("95 % bootstrap"))
        #expect(!html.contains("src=\"http") && !html.contains("<link"), "self-contained")
    }
}

/// Mutated and hostile configs: each parses or is refused with a `TrainingError`; none crashes.
@Suite("Config fuzz")
struct ConfigFuzzTests {
    /// A fresh seed each run (more inputs tried over time), printed so that a failure can be replayed with
    /// `LUMEN_FUZZ_SEED=N swift test --filter ConfigFuzzTests`.
    static func generator(_ name: String) -> SeededGenerator {
        let seed = ProcessInfo.processInfo.environment["LUMEN_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64(UInt32.max))
        print("\(name): LUMEN_FUZZ_SEED=\(seed)")
        return SeededGenerator(seed: seed)
    }

    @Test func mutatedExampleConfigsParseOrAreRefused() {
        var rng = Self.generator("mutated configs")
        let base = Array(ExperimentConfig.example.utf8)
        var parsed = 0, refused = 0
        for _ in 0..<1_500 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.remove(at: i)
                case 2: bytes.insert(contentsOf: Array(["\n", ":", "[", "{", "- ", "&a", "*a", "'", "\"", "\t", "9999999999999999999999"].randomElement(using: &rng)!.utf8), at: i)
                default: bytes.insert(contentsOf: bytes[i..<min(bytes.count, i + 40)], at: i)
                }
            }
            do {
                _ = try ExperimentConfig(yaml: String(decoding: bytes, as: UTF8.self))
                parsed += 1
            } catch {
                refused += 1
                // Refused as a configuration problem that names its key, not as some other failure.
                if case .config(let path, let reason) = error { #expect(!reason.isEmpty, "\(path)") } else { Issue.record("not a config error: \(error)") }
            }
        }
        #expect(parsed > 0 && refused > 0, "parsed \(parsed), refused \(refused)")
    }

    @Test func mutatedSweepFilesParseOrAreRefused() {
        var rng = Self.generator("mutated sweep files")
        let base = Array("base: b.yaml\nmethod: random\ntrials: 5\nseed: 4\nmetric: val_auc\nmode: max\nparameters:\n  trainer.lr: {min: 0.0001, max: 0.1, log: true}\n  trainer.batch_size: {min: 8, max: 64, int: true}\n  model.name: [simple-cnn, resnet18]\n".utf8)
        var parsed = 0, refused = 0
        for _ in 0..<1_000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                if Bool.random(using: &rng) { bytes[i] = UInt8.random(in: 0...255, using: &rng) } else { bytes.insert(contentsOf: Array(["-1", "1e308", "{", "]", "\n  x: ", "nan"].randomElement(using: &rng)!.utf8), at: i) }
            }
            do {
                let sweep = try SweepConfig(yaml: String(decoding: bytes, as: UTF8.self), loadBase: { _ in "data: {dataset: d}\n" })
                _ = sweep.trialOverrides()  // expanding a parsed sweep must not trap either
                parsed += 1
            } catch {
                refused += 1
                if case .config = error {} else { Issue.record("not a config error: \(error)") }
            }
        }
        #expect(refused > 0, "parsed \(parsed), refused \(refused)")
    }

    @Test(arguments: ["data.image_size=51200", "data.image_size=99999999999999999999999", "trainer.batch_size=1e9", "trainer.lr=.inf",
                      "trainer.lr=nan", "trainer.momentum=1.5", "trainer.weight_decay=-1", "trainer.threads=-3", "data.workers=100000",
                      "trainer.epochs=-1", "model.unet_width=1e30", "data.label_threshold=.nan", "trainer.epochs=[1, 2]", "model={}", "=3", "trainer.lr="])
    func hostileOverridesAreRefused(_ override: String) {
        #expect(throws: TrainingError.self, "\(override)") { try ExperimentConfig(yaml: "data: {dataset: d}\n", overrides: [override]) }
    }
}

@Suite("Sweep files")
struct SweepConfigTests {
    let yaml = "experiment: cxr\ndata: {dataset: chest}\ntrainer: {early_stopping: {metric: val_auc, mode: max}}\n"

    @Test func sweepFilesAreCheckedAndExpanded() throws {
        let text = yaml
        let base: (String) throws -> String = { _ in text }
        let grid = try SweepConfig(yaml: "base: b.yaml\nparameters:\n  trainer.lr: [0.1, 0.01, 0.001]\n  model.name: [simple-cnn, resnet18]\n", loadBase: base)
        #expect(grid.metric == "val_auc" && grid.mode == "max", "the base config's early-stopping metric by default")
        let combos = grid.trialOverrides()
        #expect(combos.count == 6 && Set(combos.map { $0.joined(separator: " ") }).count == 6)
        #expect(combos.first == ["trainer.lr=0.1", "model.name=simple-cnn"])

        let random = "base: b.yaml\nmethod: random\ntrials: 20\nseed: 4\nparameters:\n  trainer.lr: {min: 0.0001, max: 0.1, log: true}\n  trainer.batch_size: {min: 8, max: 64, int: true}\n  model.name: [simple-cnn, resnet18]\n"
        let r = try SweepConfig(yaml: random, loadBase: base)
        let draws = r.trialOverrides()
        let again = try SweepConfig(yaml: random, loadBase: base).trialOverrides()
        #expect(draws.count == 20 && draws == again, "seeded draws repeat")
        for d in draws {
            let lr = Double(d[0].dropFirst("trainer.lr=".count))!
            let batch = Int(d[1].dropFirst("trainer.batch_size=".count))!
            #expect(lr >= 0.0001 && lr <= 0.1 && batch >= 8 && batch <= 64)
            _ = try ExperimentConfig(yaml: yaml, overrides: d)
        }
        #expect(Set(draws.map { $0[0] }).count > 15, "log-uniform draws differ")

        func refused(_ text: String, _ fragment: String) {
            #expect { try SweepConfig(yaml: text, loadBase: base) } throws: { "\($0)".contains(fragment) }
        }
        refused("base: b.yaml\nparameters:\n  trainer.lrr: [1]\n", "parameters.trainer.lrr")
        refused("base: b.yaml\nparameters:\n  trainer.optimizer: [adamw, sgdd]\n", "sgdd")
        refused("base: b.yaml\nmethod: bayes\nparameters:\n  trainer.lr: [1]\n", "grid, random")
        refused("base: b.yaml\nparameters:\n  trainer.lr: {min: 0.1, max: 1}\n", "method: random")
        refused("base: b.yaml\nmethod: random\nparameters:\n  trainer.lr: {min: -1e308, max: 1e308}\n", "finite")
        refused("base: b.yaml\nmethod: random\nparameters:\n  trainer.epochs: {min: 1, max: 1e300, int: true}\n", "±9e15")
        refused("base: b.yaml\ntrails: 3\nparameters:\n  trainer.lr: [1]\n", "trails")
        refused("parameters:\n  trainer.lr: [1]\n", "base")
        refused("base: b.yaml\n", "parameters")
    }
}
