import Testing
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
        #expect(c.epochs == 20 && c.model == "resnet34" && c.lr == 0.01 && c.augment == ["flip"])
        #expect(c.monitor == "val_auc" && c.monitorMode == "max")
        #expect(c.batchSize == 32 && c.optimizer == "adamw" && c.imageSize == 64, "documented defaults")
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
        #expect { try ExperimentConfig(yaml: "modle:\n  name: x\ndata:\n  dataset: d\n") } throws: { "\($0)".contains("'modle'") && "\($0)".contains("allowed at the top level: data, experiment, model, run_name, trainer") }
    }

    @Test func typesAndValuesAreChecked() {
        #expect { try ExperimentConfig(yaml: yaml, overrides: ["trainer.epochs=ten"]) } throws: { "\($0)".contains("trainer.epochs") && "\($0)".contains("integer") }
        #expect { try ExperimentConfig(yaml: yaml, overrides: ["trainer.optimizer=lbfgs"]) } throws: { "\($0)".contains("sgd, adam, adamw") }
        #expect { try ExperimentConfig(yaml: yaml, overrides: ["trainer.batch_size=0"]) } throws: { "\($0)".contains("trainer.batch_size") }
        #expect { try ExperimentConfig(yaml: yaml, overrides: ["data.augment=[spin]"]) } throws: { "\($0)".contains("spin") }
        #expect { try ExperimentConfig(yaml: "trainer:\n  epochs: 3\n") } throws: { "\($0)".contains("data.dataset") && "\($0)".contains("required") }
        #expect { try ExperimentConfig(yaml: "- just\n- a list\n") } throws: { "\($0)".contains("mapping") }
        #expect { try ExperimentConfig(yaml: yaml, overrides: ["epochs"]) } throws: { "\($0)".contains("KEY=VALUE") }
    }

    @Test func exampleConfigIsValidAndEveryKeyIsDocumented() throws {
        let c = try ExperimentConfig(yaml: ExperimentConfig.example)
        #expect(c.dataset == "cxr" && c.patience == 5)
        let docs = ConfigTree.documentation(ExperimentConfig.schema)
        for key in ExperimentConfig.schema { #expect(docs.contains(key.path) && !key.help.isEmpty) }
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
