import Foundation

/// Pipeline files that `lumen pipeline init` writes.
public enum PipelineTemplates {
    public static let names = ["retrain"]

    /// The retraining loop: new images → import → validate → train a challenger with the champion's
    /// config → challenger and champion on the same held-out split → the alias moves only when the rule holds.
    public static func retrain(model: String, data: String, incoming: String, config: String, alias: String, metric: String, margin: Double) -> String {
        """
        # The retraining loop (lumen pipeline init retrain), see docs/pipelines.md:
        #   new images → import → validate → train a challenger with the champion's config → challenger and
        #   champion on the same held-out split → the alias moves only when the rule holds → lumen serve picks
        #   the new version up at its next poll of the registry.
        # Run it: lumen pipeline run THIS_FILE [KEY=VALUE…]; on a schedule: lumen scheduler THIS_FILE.
        # Unchanged images and config: every step is cached and nothing is retrained.
        # (References with {{params}} are quoted: in a [flow list] a bare { would start a mapping.)
        name: retrain-\(model)
        params:
          model: \(model)                 # the registered model: each run registers a new version (the challenger)
          data: \(data)                   # the dataset the images are imported into (a new version each time they change)
          incoming: \(incoming)           # the folder of all images to train on (class folders, as lumen data import reads them)
          ratios: "0.7,0.15,0.15"         # train, val and test shares of the import (patients kept together)
          config: \(config)               # the champion's experiment config
          train_args: ""                  # more KEY=VALUE overrides for lumen train
          alias: \(alias)                 # the alias the server follows
          split: test                     # the held-out split both models predict
          metric: \(metric)               # roc_auc, accuracy, sensitivity, specificity or balanced_accuracy
          margin: "\(margin)"             # the least improvement that promotes
        triggers:
          - cron: "0 3 * * 0"             # Sundays at 03:00 UTC (nothing changed: every step cached)
          - alert: \(model)-drift         # a monitoring alert rule of that name fired (docs/monitoring.md)
        steps:
          import:
            lumen: data import {{incoming}} --name {{data}} --split {{ratios}}
            inputs: ["file:{{incoming}}"]
            outputs: ["dataset:{{data}}"]
          validate:
            lumen: data validate {{data}}
            needs: [import]
            inputs: ["dataset:{{data}}"]
          train:
            shell: lumen train {{config}} data.dataset={{data}} {{train_args}} --register {{model}}
            needs: [validate]
            inputs: ["file:{{config}}", "dataset:{{data}}"]
            outputs: ["model:{{model}}"]
            retries: 1
            retry_delay: 1m
          challenge:
            lumen: models challenge {{model}} --champion {{model}}@{{alias}} --data {{data}} --split {{split}} --metric {{metric}} --margin {{margin}} --promote {{alias}} --out decision.json
            needs: [train]
            inputs: ["model:{{model}}", "model:{{model}}@{{alias}}", "dataset:{{data}}"]
            outputs: [file:decision.json]

        """
    }
}
