/// A keyed one-way function: in Lumen, HMAC-SHA256 under the workspace's de-identification secret
/// (`LumenData.WorkspaceKey`, which keeps swift-crypto out of this module). Anyone without the key can
/// neither compute a pseudonym for a guessed patient nor tell two pseudonyms' sources apart.
public protocol KeyedHash: Sendable {
    /// The message authentication code of `message`: at least 16 bytes, the same for the same key and message.
    func authenticationCode(for message: [UInt8]) -> [UInt8]
}

/// Pseudonyms, re-mapped UIDs and date shifts, each derived from the keyed hash of the original value
/// with a purpose label, so that one derivation says nothing about another.
public struct Pseudonyms: Sendable {
    public let key: any KeyedHash

    public init(key: any KeyedHash) { self.key = key }

    /// The keyed digest of `value` for one purpose ("patient", "uid", "date-shift", …).
    public func digest(_ purpose: String, _ value: String) -> [UInt8] {
        let code = key.authenticationCode(for: Array("lumen.deid.v2\u{0}\(purpose)\u{0}".utf8) + Array(value.utf8))
        precondition(code.count >= 16, "a KeyedHash must give at least 16 bytes")
        return code
    }

    /// The patient's pseudonym: "LUMEN-" and 80 bits of the keyed digest of the original Patient ID, in hex.
    public func patientID(_ original: String) -> String {
        "LUMEN-" + Self.hex(digest("patient", original).prefix(10))
    }

    /// The patient's name in de-identified files: "ANONYMOUS^" and the start of the pseudonym.
    public func patientName(_ originalID: String) -> String {
        "ANONYMOUS^" + String(patientID(originalID).dropFirst("LUMEN-".count).prefix(8))
    }

    /// A new UID for `uid`: "2.25." and the decimal value of 128 bits of its keyed digest (at most 44
    /// characters, as PS3.5 B.2 allows for UUID-derived UIDs). The same UID always maps to the same one.
    public func uid(_ uid: String) -> String {
        "2.25." + Self.decimal(digest("uid", uid).prefix(16))
    }

    /// Days by which a patient's dates move: between −3,650 and −365, fixed for the patient and the key.
    public func dateShift(patientID: String) -> Int {
        let v = digest("date-shift", patientID).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return -365 - Int(v % 3286)
    }

    /// `length` hex digits of the keyed digest, for names derived from identifiers (file names).
    public func token(_ purpose: String, _ value: String, length: Int = 12) -> String {
        String(Self.hex(digest(purpose, value)).prefix(length))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The decimal digits of a big-endian unsigned integer (no leading zeros).
    static func decimal(_ bytes: some Sequence<UInt8>) -> String {
        var number = Array(bytes)
        var digits: [UInt8] = []
        while number.contains(where: { $0 != 0 }) {
            var remainder = 0
            for i in number.indices {
                let value = remainder << 8 | Int(number[i])
                number[i] = UInt8(value / 10)
                remainder = value % 10
            }
            digits.append(UInt8(ascii: "0") + UInt8(remainder))
        }
        return digits.isEmpty ? "0" : String(decoding: digits.reversed(), as: UTF8.self)
    }
}
