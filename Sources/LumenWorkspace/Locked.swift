import Synchronization

/// A value shared between threads, reached only through `withLock`: the one lock helper of Lumen's modules
/// (instead of a class with an `NSLock` and an `@unchecked Sendable` for each shared counter or cache).
/// Sendable because `Mutex` is: the value is only ever touched while the mutex is held.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) { mutex = Mutex(value) }

    /// Runs `body` with exclusive access to the value.
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try mutex.withLock { try body(&$0) }
    }

    /// A copy of the value.
    public var value: Value { mutex.withLock { $0 } }
}
