import Crypto
import Foundation
import Testing
@testable import LumenStore

/// The de-identification secret lives in the store: created once, the same for every connection and
/// replica of one store, different between stores.
@Suite struct SecretTests {
    static func bytes(_ key: SymmetricKey) -> [UInt8] { key.withUnsafeBytes { Array($0) } }

    @Test(arguments: Backend.available)
    func createdOnceAndSharedByReplicas(_ backend: Backend) async throws {
        let (first, second, cleanup) = try await Self.twoConnections(backend)
        defer { cleanup() }
        // Many first uses at once, from two connections: one secret comes out.
        let keys = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for i in 0..<16 { group.addTask { Self.bytes(try await (i % 2 == 0 ? first : second).deidentificationSecret()) } }
            return try await group.reduce(into: [[UInt8]]()) { $0.append($1) }
        }
        #expect(Set(keys).count == 1 && keys[0].count == 32)
        #expect(keys[0] != [UInt8](repeating: 0, count: 32))
        #expect(Self.bytes(try await first.deidentificationSecret()) == keys[0])
        let rows = try await first.db.raw("SELECT name FROM lumen_secrets").all()
        #expect(rows.count == 1)
        let other = try await backend.makeStore()
        #expect(Self.bytes(try await other.deidentificationSecret()) != keys[0], "another store, another secret")
        try await other.close()
        try await first.close()
        try await second.close()
    }

    @Test func aMalformedStoredSecretIsAnError() async throws {
        let store = try await Backend.sqlite.makeStore()
        try await store.db.raw("INSERT INTO lumen_secrets (name, value, created) VALUES ('deidentification', 'abc', 0)").run()
        await #expect(throws: StoreError.self) { try await store.deidentificationSecret() }
        try await store.close()
    }

    /// Two stores on one database: two SQLite connections to one file, or two PostgreSQL pools on one schema.
    static func twoConnections(_ backend: Backend) async throws -> (SQLStore, SQLStore, () -> Void) {
        switch backend {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-secret-\(UUID().uuidString)")
            let path = dir.appendingPathComponent("lumen.db").path
            return (try await SQLStore.sqlite(path: path), try await SQLStore.sqlite(path: path), { try? FileManager.default.removeItem(at: dir) })
        case .postgres:
            let url = ProcessInfo.processInfo.environment["LUMEN_TEST_POSTGRES_URL"]!
            let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            return (try await SQLStore.postgres(url: url, schema: schema), try await SQLStore.postgres(url: url, schema: schema), {})
        }
    }
}
