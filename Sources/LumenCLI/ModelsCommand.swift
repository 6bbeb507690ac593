import ArgumentParser
import Foundation
import LumenStore
import LumenTensor
import LumenTraining
import LumenWorkspace

/// `lumen models …`: the model registry from the terminal.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "The model registry: list, show, register, alias, promote, card, compare, gate, migrate.",
        subcommands: [List.self, Show.self, Register.self, Alias.self, Promote.self, Card.self, Compare.self, Gate.self, Challenge.self, Migrate.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered models with their latest version and aliases.")
        @OptionGroup var options: WorkspaceOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            try await options.withStore { store in
                let models = try await store.registeredModels(nameLike: nil)
                if json { return try printJSON(models) }
                print(table(["name", "latest", "aliases", "updated", "description"], models.map { m in
                    [m.name, m.latestVersion.map(String.init) ?? "-", m.aliases.sorted { $0.key < $1.key }.map { "\($0.key)→\($0.value)" }.joined(separator: " "),
                     formatTime(m.lastUpdatedTime), String(m.description.prefix(40))]
                }))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a model's versions, or one version (NAME@ALIAS or NAME/VERSION) with its lineage.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "NAME, NAME@ALIAS or NAME/VERSION.") var model: String

        func run() async throws {
            try await options.withStore { store in
                if model.contains("@") || model.contains("/") || model.contains(":") {
                    let v = try await resolveModelVersion(model, in: store)
                    let lineage = try await store.lineage(name: v.name, version: v.version)
                    print("\(v.name) version \(v.version)  status \(v.status)  stage \(v.stage)  aliases \(v.aliases.joined(separator: ", "))")
                    print("  source \(v.source)")
                    if let run = lineage.run { print("  run \(run.info.runID) (\(run.info.name)), experiment \(run.info.experimentID)") }
                    for d in lineage.datasets { print("  data \(d.dataset):\(d.version) (\(d.context))") }
                    if let s = v.signature { print("  signature \(s)") }
                    if let p = v.preprocessing { print("  preprocessing \(p)") }
                    if let spec = v.spec { print("  spec \(spec)") } else { print("  spec: none (lumen models migrate)") }
                    for (k, val) in v.tags.sorted(by: { $0.key < $1.key }) { print("  tag \(k) = \(val)") }
                    return
                }
                let m = try await store.registeredModel(name: model)
                print("\(m.name): \(m.description)")
                let versions = try await store.modelVersions(name: m.name, runID: nil)
                print(table(["version", "aliases", "stage", "run", "created", "source"], versions.map { v in
                    [String(v.version), v.aliases.joined(separator: " "), v.stage, String(v.runID?.prefix(8) ?? "-"), formatTime(v.creationTime), v.source]
                }))
            }
        }
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a run's model as the next version of NAME (created when missing).",
            discussion: """
            A finished `lumen train` run registers its best checkpoint with its signature, preprocessing, lineage and a \
            model card (the same as `lumen train --register`). Other runs (logged with the mlflow client, say) register \
            the artifact at --path.
            """)
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "Run id (a unique prefix is enough).") var run: String
        @Argument(help: "Registered model name.") var name: String
        @Option(name: .long, help: "Artifact path of the model inside the run (runs not made by lumen train).") var path = "model"
        @Option(name: .long, help: "Alias to point at the new version (e.g. champion).") var alias: String?

        func run() async throws {
            let ws = try options.open()
            try await options.withStore { store in
                let r = try await resolveRun(run, in: store)
                if let record = try await ModelRegistration.trainingRecord(runID: r.info.runID, store: store, workspace: ws) {
                    let registered = try await ModelRegistration.register(name: name, result: record.result, config: record.config, store: store,
                                                                          workspace: ws, alias: alias, libtorch: Runtime.libtorchVersion)
                    print("registered \(name) version \(registered.version.version) from run \(r.info.runID)\(alias.map { " as @\($0)" } ?? ""); model card: artifact \(registered.card)")
                    return
                }
                if r.tags["lumen.model"] != nil {
                    throw CLIError("run \(r.info.runID) is \(r.info.status.rawValue) and has no training result to register: only finished lumen train runs register (lumen train --resume \(r.info.runID) finishes a stopped one)")
                }
                // A version must point at something: the artifact (or folder of artifacts) at --path of the run.
                let prefix = "\(r.info.experimentID)/\(r.info.runID)/artifacts/"
                let clean = try ArtifactPath.validate(path)
                let file = try await store.artifact(path: prefix + clean)
                let folder = try await store.listArtifacts(directory: prefix + clean)
                guard file != nil || !folder.isEmpty else {
                    throw CLIError("run \(r.info.runID) has no artifact at '\(path)' (its model): nothing to register (give the model's artifact path with --path)")
                }
                if (try? await store.registeredModel(name: name)) == nil {
                    _ = try await store.createRegisteredModel(name: name, description: "", tags: [:])
                }
                let v = try await store.createModelVersion(name: name, source: "runs:/\(r.info.runID)/\(path)", runID: r.info.runID,
                                                           description: "", tags: [:], signature: nil, preprocessing: nil)
                if let alias { try await store.setAlias(name: name, alias: alias, version: v.version) }
                print("registered \(name) version \(v.version) from run \(r.info.runID)\(alias.map { " as @\($0)" } ?? "")")
            }
        }
    }

    struct Alias: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Point an alias of a model at a version, or remove it with --delete.",
            discussion: "The version is the third argument or --version N (as MLflow's CLI spells it): `lumen models alias cxr champion 3` or `lumen models alias cxr champion --version 3`.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "Registered model name.") var name: String
        @Argument(help: "Alias (champion, production, …).") var alias: String
        @Argument(help: "Version number (omit with --delete).") var version: Int64?
        @Option(name: .customLong("version"), help: "Version number (instead of the third argument).") var versionOption: Int64?
        @Flag(name: .long, help: "Remove the alias.") var delete = false

        var chosen: Int64? { versionOption ?? version }

        func validate() throws {
            if version != nil && versionOption != nil && version != versionOption { throw ValidationError("the version is given twice (\(version!) and --version \(versionOption!))") }
            if delete && chosen != nil { throw ValidationError("--delete takes no version") }
            if !delete && chosen == nil { throw ValidationError("give a version (third argument or --version N), or --delete") }
            if let v = chosen, v < 1 { throw ValidationError("versions start at 1, got \(v)") }
        }

        func run() async throws {
            try await options.withStore { store in
                if delete {
                    guard let current = try? await store.modelVersion(name: name, alias: alias) else {
                        _ = try await store.registeredModel(name: name)
                        throw CLIError("\(name) has no alias '\(alias)': nothing removed")
                    }
                    try await store.deleteAlias(name: name, alias: alias)
                    print("removed \(name)@\(alias) (was version \(current.version))")
                } else {
                    try await store.setAlias(name: name, alias: alias, version: chosen!)
                    print("\(name)@\(alias) → version \(chosen!)")
                }
            }
        }
    }

    struct Card: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the model card of a version (NAME@ALIAS, NAME/VERSION or NAME).")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "NAME@ALIAS, NAME/VERSION or NAME.") var model: String

        func run() async throws {
            let ws = try options.open()
            try await options.withStore { store in
                let v = try await store.modelVersion(ModelReference(parsing: model))
                guard let card = try await ModelRegistration.modelCard(v, store: store, workspace: ws) else {
                    throw CLIError("\(v.name) version \(v.version) has no model card (only versions registered from lumen train runs have one)")
                }
                print(card, terminator: card.hasSuffix("\n") ? "" : "\n")
            }
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give every version registered before model specs its ModelSpec (rebuilt from its lumen train run).",
            discussion: "Versions whose run was not made by lumen train are listed with the reason and left as they are.")
        @OptionGroup var options: WorkspaceOptions

        func run() async throws {
            let ws = try options.open()
            try await options.withStore { store in
                var migrated = 0, refused = 0
                for version in try await store.modelVersions(name: nil, runID: nil) where version.spec == nil {
                    do {
                        _ = try await ModelLoader.migrate(version, store: store, workspace: ws)
                        migrated += 1
                        print("\(version.name) version \(version.version): spec added")
                    } catch {
                        refused += 1
                        print("\(version.name) version \(version.version): \(error)")
                    }
                }
                print("\(migrated) version(s) migrated, \(refused) left without a spec")
            }
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move an alias from one place to another: `lumen models promote NAME@staging production` points @production at @staging's version.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "Source: NAME@ALIAS or NAME/VERSION.") var source: String
        @Argument(help: "Target alias.") var alias: String

        func run() async throws {
            try await options.withStore { store in
                let v = try await resolveModelVersion(source, in: store)
                let previous = try? await store.modelVersion(name: v.name, alias: alias)
                try await store.setAlias(name: v.name, alias: alias, version: v.version)
                print("\(v.name)@\(alias) → version \(v.version)" + (previous.map { " (was \($0.version))" } ?? ""))
            }
        }
    }
}

/// A model reference (NAME@ALIAS, NAME/VERSION, NAME, models:/…, runs:/…) to a model version.
func resolveModelVersion(_ text: String, in store: any Store) async throws -> ModelVersion {
    try await store.modelVersion(ModelReference(parsing: text))
}
