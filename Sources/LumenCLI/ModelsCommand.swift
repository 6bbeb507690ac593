import ArgumentParser
import Foundation
import LumenStore
import LumenTensor
import LumenTraining

/// `lumen models …`: the model registry from the terminal.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "The model registry: list, show, register, alias, promote, lineage.",
        subcommands: [List.self, Show.self, Register.self, Alias.self, Promote.self], defaultSubcommand: List.self)

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
                if model.contains("@") || model.contains("/") {
                    let v = try await resolveModelVersion(model, in: store)
                    let lineage = try await store.lineage(name: v.name, version: v.version)
                    print("\(v.name) version \(v.version)  status \(v.status)  stage \(v.stage)  aliases \(v.aliases.joined(separator: ", "))")
                    print("  source \(v.source)")
                    if let run = lineage.run { print("  run \(run.info.runID) (\(run.info.name)), experiment \(run.info.experimentID)") }
                    for d in lineage.datasets { print("  data \(d.dataset):\(d.version) (\(d.context))") }
                    if let s = v.signature { print("  signature \(s)") }
                    if let p = v.preprocessing { print("  preprocessing \(p)") }
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
                    print("registered \(name) version \(registered.version.version) from run \(r.info.runID)\(alias.map { " as @\($0)" } ?? ""); model card: \(registered.card.path)")
                    return
                }
                if r.tags["lumen.model"] != nil {
                    throw CLIError("run \(r.info.runID) is \(r.info.status.rawValue) and has no training result to register: only finished lumen train runs register (lumen train --resume \(r.info.runID) finishes a stopped one)")
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
        static let configuration = CommandConfiguration(abstract: "Point an alias of a model at a version, or remove it with --delete.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "Registered model name.") var name: String
        @Argument(help: "Alias (champion, production, …).") var alias: String
        @Argument(help: "Version number (omit with --delete).") var version: Int64?
        @Flag(name: .long, help: "Remove the alias.") var delete = false

        func validate() throws {
            if !delete && version == nil { throw ValidationError("give a version, or --delete") }
        }

        func run() async throws {
            try await options.withStore { store in
                if delete {
                    try await store.deleteAlias(name: name, alias: alias)
                    print("removed \(name)@\(alias)")
                } else {
                    try await store.setAlias(name: name, alias: alias, version: version!)
                    print("\(name)@\(alias) → version \(version!)")
                }
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

/// `NAME@ALIAS` or `NAME/VERSION` to a model version.
func resolveModelVersion(_ text: String, in store: any Store) async throws -> ModelVersion {
    if let at = text.lastIndex(of: "@") {
        return try await store.modelVersion(name: String(text[..<at]), alias: String(text[text.index(after: at)...]))
    }
    if let slash = text.lastIndex(of: "/"), let version = Int64(text[text.index(after: slash)...]) {
        return try await store.modelVersion(name: String(text[..<slash]), version: version)
    }
    throw CLIError("'\(text)' is not NAME@ALIAS or NAME/VERSION")
}
