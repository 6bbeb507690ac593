import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LumenStore
import LumenWorkspace
import Testing

/// Two `lumen` processes on one embedded store, and the registry commands checked by their effect.
@Suite struct SharedStoreCLITests {
    /// Starts `lumen` without waiting for it (for concurrent writers).
    func start(_ arguments: [String]) throws -> (Process, Pipe) {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lumen")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return (process, pipe)
    }

    @Test func twoWriterProcessesWaitForEachOtherInsteadOfFailing() async throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try lumen(["init", dir.path]).status == 0)
        // Two processes, each creating 12 experiments back to back: every start opens the store (WAL, migrations
        // under BEGIN IMMEDIATE) and writes, so the two keep meeting on SQLite's write lock.
        var failures: [String] = []
        for round in 0..<12 {
            let a = try start(["experiments", "create", "a-\(round)", "--workspace", dir.path])
            let b = try start(["experiments", "create", "b-\(round)", "--workspace", dir.path])
            for (process, pipe) in [a, b] {
                let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                if process.terminationStatus != 0 { failures.append(output) }
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(2))")
        let store = try await Workspace.find(explicit: dir.path).openStore()
        let names = Set(try await store.experiments(includeDeleted: false).map(\.name))
        #expect((0..<12).allSatisfy { names.contains("a-\($0)") && names.contains("b-\($0)") }, "every acknowledged write is there: \(names.sorted())")
        try await store.close()
    }

    @Test func aliasTakesVersionAsAnOptionAndRefusesToRemoveWhatIsNotThere() async throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try lumen(["init", dir.path]).status == 0)
        let store = try await Workspace.find(explicit: dir.path).openStore()
        _ = try await store.createRegisteredModel(name: "cxr", description: "", tags: [:])
        for _ in 0..<2 { _ = try await store.createModelVersion(name: "cxr", source: "s3://bucket/model", runID: nil, description: "", tags: [:], signature: nil, preprocessing: nil) }
        try await store.close()

        // MLflow's spelling: --version N sets the alias (it used to print Lumen's version and set nothing).
        let set = try lumen(["models", "alias", "cxr", "champion", "--version", "2", "--workspace", dir.path])
        #expect(set.status == 0, "\(set.output)")
        let check = try await Workspace.find(explicit: dir.path).openStore()
        #expect(try await check.modelVersion(name: "cxr", alias: "champion").version == 2)
        try await check.close()
        #expect(try lumen(["models", "alias", "cxr", "champion", "1", "--version", "2", "--workspace", dir.path]).status != 0, "two different versions")
        #expect(try lumen(["--version"]).output.contains("0.2.0"))

        let missing = try lumen(["models", "alias", "cxr", "nope", "--delete", "--workspace", dir.path])
        #expect(missing.status != 0 && missing.output.contains("no alias 'nope'"), "\(missing.output)")
        let removed = try lumen(["models", "alias", "cxr", "champion", "--delete", "--workspace", dir.path])
        #expect(removed.status == 0 && removed.output.contains("was version 2"), "\(removed.output)")
        let after = try await Workspace.find(explicit: dir.path).openStore()
        await #expect(throws: StoreError.self) { try await after.modelVersion(name: "cxr", alias: "champion") }
        try await after.close()
    }
}

/// Commands that never touch a tensor or an image start without libtorch, OpenCV or DCMTK: each native bridge
/// is loaded on first use only (`lumen --version` went from 0.28 s to 0.04 s, `lumen runs list` from 0.34 s to 0.08 s).
@Suite struct StartupCLITests {
    func lumenWithoutBridge(_ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lumen")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["LUMEN_TORCH_BRIDGE"] = "/nonexistent/libLumenTorchBridge.so"
        environment["LUMEN_IMAGING_BRIDGE"] = "/nonexistent/libLumenImagingBridge.so"
        environment.removeValue(forKey: "LUMEN_HOME")
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func bookkeepingCommandsNeverLoadLibtorch() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try lumen(["init", dir.path]).status == 0)
        // With the bridge pointed at nothing, commands that load it would fail: these must not.
        for arguments in [["--version"], ["--help"], ["runs", "list"], ["models"], ["experiments"], ["data", "list"], ["token", "list"]] {
            let result = try lumenWithoutBridge(arguments, in: dir)
            #expect(result.status == 0, "\(arguments): \(result.output)")
        }
        // A command that needs libtorch says clearly why it cannot start.
        let info = try lumenWithoutBridge(["info"], in: dir)
        #expect(info.status == 70 && info.output.contains("cannot load the libtorch bridge") && info.output.contains("/nonexistent/libLumenTorchBridge.so"), "\(info.output)")
        try Data([0x89, 0x50, 0x4E, 0x47]).write(to: dir.appendingPathComponent("x.png"))
        let image = try lumenWithoutBridge(["image", "info", dir.appendingPathComponent("x.png").path], in: dir)
        #expect(image.status == 70 && image.output.contains("cannot load the imaging bridge") && image.output.contains("/nonexistent/libLumenImagingBridge.so"), "\(image.output)")
    }
}

/// `lumen serve` on a port in use, and a store URL that reaches no PostgreSQL: clear messages, no banner, no dump.
@Suite struct ServeErrorsCLITests {
    @Test func aBusyPortIsNamedBeforeAnyBanner() async throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try lumen(["init", dir.path]).status == 0)
        let port = 20_000 + Int.random(in: 0..<20_000)
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lumen")
        let first = Process()
        first.executableURL = binary
        first.arguments = ["serve", "--port", String(port), "--workspace", dir.path]
        let firstOut = Pipe()
        first.standardOutput = firstOut
        first.standardError = firstOut
        try first.run()
        defer { first.terminate(); first.waitUntilExit() }
        // Wait until the first server answers.
        var up = false
        for _ in 0..<100 where !up {
            if let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/version")!), String(decoding: data, as: UTF8.self) == "0.2.0" {
                up = true
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(up, "the first server answers /version with Lumen's version")
        let second = try lumen(["serve", "--port", String(port), "--workspace", dir.path])
        #expect(second.status != 0 && second.output.contains("already in use") && !second.output.contains("lumen serve: http"), "\(second.output)")
    }

    @Test func anUnreachablePostgresIsExplainedWithoutTheDriverDump() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try lumen(["init", dir.path]).status == 0)
        try "store: postgres://lumen:s3cret@127.0.0.1:1/lumen\n".write(to: dir.appendingPathComponent(".lumen/config.yaml"), atomically: true, encoding: .utf8)
        let listed = try lumen(["runs", "list", "--workspace", dir.path])
        #expect(listed.status != 0 && listed.output.contains("connection refused") && !listed.output.contains("PSQLError") && !listed.output.contains("s3cret"), "\(listed.output)")
    }
}

/// Two workspaces (two machines, say) on one PostgreSQL database and one artifact root: each sees the
/// datasets (through the store's index), model versions and model cards the other made. Runs under
/// `make unit`, which starts PostgreSQL; required there (LUMEN_REQUIRE_POSTGRES=1).
@Suite struct SharedPostgresCLITests {
    @Test func twoWorkspacesOnOnePostgresSeeTheSameThings() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["LUMEN_TEST_POSTGRES_URL"] else {
            #expect(environment["LUMEN_REQUIRE_POSTGRES"] != "1", "PostgreSQL is required under make unit")
            return
        }
        let a = try temporaryFolder(), b = try temporaryFolder(), shared = try temporaryFolder()
        defer { for d in [a, b, shared] { try? FileManager.default.removeItem(at: d) } }
        let schema = "e2e_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        for dir in [a, b] {
            #expect(try lumen(["init", dir.path]).status == 0)
            try "store: \(url)\(url.contains("?") ? "&" : "?")schema=\(schema)\nartifacts: \(shared.path)\n".write(to: dir.appendingPathComponent(".lumen/config.yaml"), atomically: true, encoding: .utf8)
        }
        #expect(try lumen(["data", "synth", "ct", a.appendingPathComponent("ct").path, "--patients", "4", "--slices", "2", "--size", "32"]).status == 0)
        let imported = try lumen(["data", "import", a.appendingPathComponent("ct").path, "--name", "ct", "--split", "0.5,0.5", "--workspace", a.path])
        #expect(imported.status == 0, "\(imported.output)")
        try "data:\n  dataset: ct\n  image_size: 16\nmodel:\n  name: simple-cnn\ntrainer:\n  batch_size: 4\n  epochs: 1\n  threads: 1\n".write(to: a.appendingPathComponent("exp.yaml"), atomically: true, encoding: .utf8)
        let trained = try lumen(["train", a.appendingPathComponent("exp.yaml").path, "--register", "phantom", "--workspace", a.path])
        #expect(trained.status == 0, "\(trained.output)")
        // The other workspace: the dataset through the store's index (its manifest under the shared root), the model, its card.
        let listed = try lumen(["data", "list", "--json", "--workspace", b.path])
        let records = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]], "\(listed.output)")
        #expect(records.count == 1 && records[0]["name"] as? String == "ct" && (records[0]["manifestPath"] as? String)?.hasPrefix("datasets/ct/") == true)
        #expect(FileManager.default.fileExists(atPath: shared.appendingPathComponent(records[0]["manifestPath"] as? String ?? "none").path))
        #expect(try lumen(["data", "show", "ct", "--workspace", b.path]).status == 0)
        let shown = try lumen(["models", "show", "phantom/1", "--workspace", b.path])
        #expect(shown.status == 0 && shown.output.contains("\"classes\":[\"lesion\",\"normal\"]"), "\(shown.output)")
        #expect(try lumen(["models", "card", "phantom/1", "--workspace", b.path]).output.contains("# Model card: phantom version 1"))
        // And the other way: a split made in b is indexed for a.
        #expect(try lumen(["data", "split", "ct", "--ratios", "0.75,0.25", "--workspace", b.path]).status == 0)
        let again = try lumen(["data", "list", "--json", "--workspace", a.path])
        #expect((try JSONSerialization.jsonObject(with: Data(again.output.utf8)) as? [[String: Any]])?.count == 2, "\(again.output)")
    }
}
