import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLiteKit
import SQLKit

/// The `Store` on SQL: SQLite (embedded default, WAL) or PostgreSQL (shared by a team and by several
/// servers), with the same schema, migrations and queries. Every query is parameterised.
public final class SQLStore: Store {
    let db: any SQLDatabase
    let flavor: SQLFlavor
    /// SQLite has one connection per process: transactions on it are taken one at a time.
    let gate: AsyncGate?
    private let closer: @Sendable () async throws -> Void

    init(db: any SQLDatabase, flavor: SQLFlavor, closer: @escaping @Sendable () async throws -> Void) {
        self.db = db
        self.flavor = flavor
        self.gate = flavor == .sqlite ? AsyncGate() : nil
        self.closer = closer
    }

    /// Opens a SQLite database file (created when missing), in WAL mode, and migrates it.
    public static func sqlite(path: String) async throws -> SQLStore {
        let storage: SQLiteConnection.Storage = path == ":memory:" ? .memory : .file(path: path)
        if path != ":memory:" {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: storage, threadPool: .singleton, logger: Logger(label: "lumen.store"),
                                                         on: MultiThreadedEventLoopGroup.singleton.any()).get()
        } catch {
            throw StoreError.badStoreURI("cannot open SQLite database \(path): \(error)")
        }
        let db = connection.sql()
        // A second process (another `lumen` command, a server) holding the write lock makes this one wait up to
        // 30 s instead of failing with "database is locked".
        _ = try await db.raw("PRAGMA busy_timeout=30000").all()
        if path != ":memory:" {
            _ = try await db.raw("PRAGMA journal_mode=WAL").all()
            try await db.raw("PRAGMA synchronous=NORMAL").run()
        }
        try await db.raw("PRAGMA foreign_keys=ON").run()
        // Search builds temporary indexes for IN-subqueries and sorts: keep them in memory, with a 64 MiB page cache.
        try await db.raw("PRAGMA temp_store=MEMORY").run()
        try await db.raw("PRAGMA cache_size=-65536").run()
        let store = SQLStore(db: db, flavor: .sqlite) { try await connection.close().get() }
        try await Migrations.run(on: db, flavor: .sqlite)
        return store
    }

    /// Connects to PostgreSQL (`postgres://user:password@host:port/database`) with a connection pool, and migrates.
    /// `schema` keeps Lumen's tables in their own PostgreSQL schema (created when missing).
    public static func postgres(url: String, schema: String? = nil, connectionsPerLoop: Int = 4) async throws -> SQLStore {
        var configuration: SQLPostgresConfiguration
        do { configuration = try SQLPostgresConfiguration(url: url) } catch {
            throw StoreError.badStoreURI("'\(redacted(url))' is not a PostgreSQL URL (postgres://user:password@host:port/database)")
        }
        if let schema {
            guard !schema.isEmpty, schema.count <= 63, schema.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "_" }) else {
                throw StoreError.badStoreURI("invalid PostgreSQL schema name '\(schema)'")
            }
            let admin = EventLoopGroupConnectionPool(source: PostgresConnectionSource(sqlConfiguration: configuration),
                                                     maxConnectionsPerEventLoop: 1, logger: quietPoolLogger, on: MultiThreadedEventLoopGroup.singleton)
            do {
                try await Migrations.createSchema(schema, on: admin.database(logger: quietPoolLogger).sql())
                try await admin.shutdownAsync()
            } catch {
                try? await admin.shutdownAsync()
                throw StoreError.badStoreURI("cannot use PostgreSQL at \(redacted(url)): \(explain(error))")
            }
            configuration.searchPath = [schema]
        }
        let pool = EventLoopGroupConnectionPool(source: PostgresConnectionSource(sqlConfiguration: configuration),
                                                maxConnectionsPerEventLoop: connectionsPerLoop, logger: quietPoolLogger, on: MultiThreadedEventLoopGroup.singleton)
        let db = pool.database(logger: quietPoolLogger).sql()
        let box = PoolBox(pool: pool)
        let store = SQLStore(db: db, flavor: .postgres) { try await box.pool.shutdownAsync() }
        do {
            try await Migrations.run(on: db, flavor: .postgres)
        } catch {
            try? await box.pool.shutdownAsync()
            throw StoreError.badStoreURI("cannot use PostgreSQL at \(redacted(url)): \(explain(error))")
        }
        return store
    }

    public func close() async throws { try await closer() }

    /// Runs `body` in one transaction on one connection; rolls back on any error.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        if let gate { await gate.enter() }
        do {
            let result = try await db.withSession { session in
                try await session.raw(SQLQueryString(self.flavor == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN")).run()
                do {
                    let value = try await body(session)
                    try await session.raw("COMMIT").run()
                    return value
                } catch {
                    try? await session.raw("ROLLBACK").run()
                    throw error
                }
            }
            if let gate { await gate.leave() }
            return result
        } catch {
            if let gate { await gate.leave() }
            throw error
        }
    }

    /// A URL with its password replaced, for messages.
    public static func redacted(_ url: String) -> String {
        guard var c = URLComponents(string: url), c.password != nil else { return url }
        c.password = "***"
        return c.string ?? url
    }
}

/// Carries the PostgreSQL pool into the `close` closure. `@unchecked Sendable`: AsyncKit's
/// `EventLoopGroupConnectionPool` guards its state with a lock and is documented as safe to use from
/// any thread; it is only missing the annotation.
struct PoolBox: @unchecked Sendable {
    let pool: EventLoopGroupConnectionPool<PostgresConnectionSource>
}

/// An async mutual-exclusion gate (first come, first served) that does not block threads.
actor AsyncGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        if !busy { busy = true; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func leave() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}

/// The connection pools' logger: a failed connection attempt is reported once, by the error Lumen throws,
/// not also as a driver dump on stderr for every attempt.
let quietPoolLogger: Logger = {
    var logger = Logger(label: "lumen.store.pool")
    logger.logLevel = .critical
    return logger
}()

/// What went wrong with PostgreSQL, in words: the server's own message (bad password, unknown database),
/// or the connection failure (refused, unknown host, timed out), never the driver's internal dump.
func explain(_ error: any Error) -> String {
    guard let psql = error as? PSQLError else { return "\(error)" }
    if let message = psql.serverInfo?[.message] {
        return "the server says: \(message)" + (psql.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
    }
    if psql.code == .connectionError, let underlying = psql.underlying {
        let text = "\(underlying)"
        if text.contains("Connection refused") { return "connection refused: is the server running and listening on that host and port?" }
        if text.lowercased().contains("timed out") || text.contains("connectTimeout") { return "the connection timed out" }
        if text.contains("resolve") || text.contains("NXDOMAIN") || text.contains("unknown host") { return "the host name does not resolve" }
        return "cannot connect: \(text.prefix(200))"
    }
    return "\(psql.code)" + (psql.underlying.map { ": \(String(describing: $0).prefix(200))" } ?? "")
}

/// Opens the store a URI names: `sqlite:PATH` (relative to `base`), `sqlite::memory:`, or `postgres://…`.
public func openStore(uri: String, base: URL? = nil) async throws -> any Store {
    if uri.hasPrefix("postgres://") || uri.hasPrefix("postgresql://") {
        // `?schema=NAME` keeps Lumen's tables in a schema of their own (several workspaces or teams on one database).
        var url = uri.replacingOccurrences(of: "postgresql://", with: "postgres://")
        var schema: String?
        if var parts = URLComponents(string: url), let items = parts.queryItems, let value = items.first(where: { $0.name == "schema" })?.value {
            schema = value
            let rest = items.filter { $0.name != "schema" }
            parts.queryItems = rest.isEmpty ? nil : rest
            url = parts.string ?? url
        }
        return try await SQLStore.postgres(url: url, schema: schema)
    }
    if uri.hasPrefix("sqlite:") {
        var path = String(uri.dropFirst("sqlite:".count))
        if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
        guard !path.isEmpty else { throw StoreError.badStoreURI("'\(uri)' names no database file (sqlite:PATH)") }
        if path != ":memory:" && !path.hasPrefix("/"), let base { path = base.appendingPathComponent(path).path }
        return try await SQLStore.sqlite(path: path)
    }
    throw StoreError.badStoreURI("unsupported store URI '\(SQLStore.redacted(uri))': use sqlite:PATH or postgres://user:password@host:port/database")
}
