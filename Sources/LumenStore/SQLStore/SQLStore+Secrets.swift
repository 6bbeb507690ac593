import Crypto
import Foundation
import SQLKit

extension SQLStore {
    static let deidentificationSecretName = "deidentification"

    public func deidentificationSecret() async throws -> SymmetricKey {
        if let existing = try await secret(named: Self.deidentificationSecretName) { return existing }
        var bytes = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        // Two processes creating it at once: one insert wins, both read the winner's. A SQLite writer that
        // finds the database locked by the other one reads again (the other's insert is then visible).
        var lastError: (any Error)?
        for attempt in 0..<40 {
            do {
                try await db.raw("""
                    INSERT INTO lumen_secrets (name, value, created) VALUES (\(bind: Self.deidentificationSecretName), \(bind: hex), \(bind: Clock.nowMillis()))
                    ON CONFLICT (name) DO NOTHING
                    """).run()
            } catch {
                lastError = error
                if attempt > 0 { try await Task.sleep(nanoseconds: 50_000_000) }
            }
            if let stored = try await secret(named: Self.deidentificationSecretName) { return stored }
        }
        throw StoreError.database("the de-identification secret could not be stored: \(lastError.map { "\($0)" } ?? "no row")")
    }

    func secret(named name: String) async throws -> SymmetricKey? {
        guard let row = try await db.raw("SELECT value FROM lumen_secrets WHERE name = \(bind: name)").first() else { return nil }
        let hex = try row.decode(column: "value", as: String.self)
        let chars = Array(hex.utf8)
        var bytes: [UInt8] = []
        var i = 0
        while i + 1 < chars.count, let byte = UInt8(String(decoding: chars[i...(i + 1)], as: UTF8.self), radix: 16) {
            bytes.append(byte)
            i += 2
        }
        guard chars.count == 64, bytes.count == 32 else {
            throw StoreError.database("the stored secret '\(name)' is malformed (expected 64 hex digits)")
        }
        return SymmetricKey(data: bytes)
    }
}
