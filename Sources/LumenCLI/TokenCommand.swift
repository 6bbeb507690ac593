import ArgumentParser
import LumenStore

/// `lumen token …`: API tokens for `lumen serve`.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Create, list and revoke API tokens for the server (stored hashed).",
        subcommands: [Create.self, List.self, Revoke.self], defaultSubcommand: List.self)

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token; its secret is printed once.")
        @OptionGroup var options: WorkspaceOptions
        @Option(name: .long, help: "reader, writer or admin.") var role: String = "writer"
        @Option(name: .long, help: "A name to recognise the token by (who or what uses it).") var name: String = "default"

        func validate() throws {
            guard TokenRole(rawValue: role) != nil else { throw ValidationError("--role must be reader, writer or admin") }
        }

        func run() async throws {
            try await options.withStore { store in
                let (secret, token) = try await store.createToken(name: name, role: TokenRole(rawValue: role)!)
                print(secret)
                print("token \(token.id) '\(token.name)' (\(token.role.rawValue)); the secret above is not stored and cannot be shown again.")
                print("Use it with: export MLFLOW_TRACKING_TOKEN=\(secret)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var options: WorkspaceOptions

        func run() async throws {
            try await options.withStore { store in
                print(table(["id", "name", "role", "created", "state"], try await store.tokens().map {
                    [$0.id, $0.name, $0.role.rawValue, formatTime($0.created), $0.revoked ? "revoked" : "active"]
                }))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by id.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "Token id (see `lumen token list`).") var id: String

        func run() async throws {
            try await options.withStore { store in
                try await store.revokeToken(id: id)
                print("revoked token \(id)")
            }
        }
    }
}
