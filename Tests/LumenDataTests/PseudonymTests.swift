import Crypto
import Foundation
import LumenImaging
import Testing
@testable import LumenData

/// Pseudonyms from HMAC-SHA256 under the workspace secret: unique, and unpredictable without the secret
/// even to someone who knows other id → pseudonym pairs. Inputs are random: a fresh seed each run,
/// printed; `LUMEN_DEID_SEED=N swift test --filter PseudonymTests` replays one.
@Suite struct PseudonymTests {
    static func generator(_ name: String) -> SeededGenerator {
        let seed = ProcessInfo.processInfo.environment["LUMEN_DEID_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64(UInt32.max))
        print("\(name): LUMEN_DEID_SEED=\(seed)")
        return SeededGenerator(seed: seed)
    }

    static func key(_ rng: inout SeededGenerator) -> SymmetricKey {
        SymmetricKey(data: (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    @Test func noTwoOf100000IdsOrUIDsCollide() {
        var rng = Self.generator("100,000 ids")
        let pseudonyms = Pseudonyms(key: WorkspaceKey(Self.key(&rng)))
        // Sequential medical record numbers (the hardest case for a weak hash) and random ones.
        var ids = Set((0..<50_000).map { String(format: "MRN%07d", 1_000_000 + $0) })
        while ids.count < 100_000 { ids.insert("P" + String(UInt64.random(in: 0...UInt64(1e12), using: &rng))) }
        let patientIDs = Set(ids.map(pseudonyms.patientID))
        #expect(patientIDs.count == ids.count)
        #expect(patientIDs.allSatisfy { $0.count == 26 && $0.hasPrefix("LUMEN-") })
        let uids = Set(ids.map { pseudonyms.uid("1.2.840.113619.2.55.3.\($0)") })
        #expect(uids.count == ids.count && uids.allSatisfy { $0.count <= 64 && $0.hasPrefix("2.25.") })
        #expect(Set(ids.prefix(1000).map { pseudonyms.dateShift(patientID: $0) }).count > 200, "shifts spread over the range")
    }

    @Test func aKnownPairRevealsNothingAboutOtherIds() {
        var rng = Self.generator("known pair")
        let secret = Self.key(&rng)
        let pseudonyms = Pseudonyms(key: WorkspaceKey(secret))
        let known = "MRN\(Int.random(in: 1_000_000...9_999_999, using: &rng))", guessed = "MRN\(Int.random(in: 1_000_000...9_999_999, using: &rng))"
        let knownPseudonym = pseudonyms.patientID(known), target = pseudonyms.patientID(guessed)
        #expect(known != guessed && knownPseudonym != target)

        // The attack that broke the old scheme (FNV-1a, salted, with an invertible finaliser): invert the
        // finaliser and the hash over the known id to recover the salted state, then run it over a
        // guessed id. Against the old scheme it forges the guessed patient's pseudonym …
        let salt = secret.withUnsafeBytes { Data($0).map { String(format: "%02x", $0) }.joined() }
        let oldKnown = OldScheme.pseudonym(known, salt: salt)
        #expect(OldScheme.forge(guessed, from: known, knownPseudonym: oldKnown) == OldScheme.bits(OldScheme.pseudonym(guessed, salt: salt)))
        // … against HMAC-SHA256 it gives nothing (compared on the same 64 bits).
        #expect(OldScheme.forge(guessed, from: known, knownPseudonym: knownPseudonym) != OldScheme.bits(target))

        // Without the secret, the guessed id's pseudonym cannot be computed: not with an empty or a wrong
        // key, not with the old scheme under any salt tried.
        for attempt in [Pseudonyms(key: WorkspaceKey(SymmetricKey(data: Data()))).patientID(guessed),
                        Pseudonyms(key: WorkspaceKey(Self.key(&rng))).patientID(guessed),
                        Pseudonyms(key: WorkspaceKey(SymmetricKey(data: Data(salt.utf8)))).patientID(guessed),
                        OldScheme.pseudonym(guessed, salt: salt), OldScheme.pseudonym(guessed, salt: "")] {
            #expect(attempt != target, "\(attempt)")
        }

        // No structure to learn from pairs: ids one character apart give pseudonyms ~half of whose bits differ.
        var differing = 0, total = 0
        for n in 0..<500 {
            let a = pseudonyms.digest("patient", "MRN\(2_000_000 + n)"), b = pseudonyms.digest("patient", "MRN\(2_000_000 + n + 1)")
            differing += zip(a.prefix(10), b.prefix(10)).reduce(0) { $0 + ($1.0 ^ $1.1).nonzeroBitCount }
            total += 80
        }
        #expect(abs(Double(differing) / Double(total) - 0.5) < 0.02, "\(differing) of \(total) bits differ")
    }

    @Test func theSameSecretGivesTheSameValuesAndAnotherDoesNot() {
        var rng = Self.generator("consistency")
        let secret = Self.key(&rng)
        let a = Pseudonyms(key: WorkspaceKey(secret)), b = Pseudonyms(key: WorkspaceKey(secret)), c = Pseudonyms(key: WorkspaceKey(Self.key(&rng)))
        #expect(a.patientID("MRN1") == b.patientID("MRN1") && a.uid("1.2.3") == b.uid("1.2.3") && a.dateShift(patientID: "MRN1") == b.dateShift(patientID: "MRN1"))
        #expect(a.patientID("MRN1") != c.patientID("MRN1") && a.uid("1.2.3") != c.uid("1.2.3"))
        // Purposes are separated: a patient id and a UID of the same text share no digest.
        #expect(a.digest("patient", "1.2.3") != a.digest("uid", "1.2.3"))
    }
}

/// Lumen's de-identification before HMAC (the C++ `fnv1a` + `hex_digest`), kept here to show what the
/// change defends against.
enum OldScheme {
    static let prime: UInt64 = 1_099_511_628_211, golden: UInt64 = 0x9E37_79B9_7F4A_7C15
    static let c1: UInt64 = 0xBF58_476D_1CE4_E5B9, c2: UInt64 = 0x94D0_49BB_1331_11EB

    static func finalise(_ x: UInt64) -> UInt64 {
        var h = x &+ golden
        h = (h ^ (h >> 30)) &* c1
        h = (h ^ (h >> 27)) &* c2
        return h ^ (h >> 31)
    }

    static func pseudonym(_ id: String, salt: String) -> String {
        var h: UInt64 = 1_469_598_103_934_665_603 ^ 1
        for b in (salt + "|" + id).utf8 { h = (h ^ UInt64(b)) &* prime }
        return "LUMEN-" + String(format: "%016llx", finalise(h))
    }

    static func inverse(_ c: UInt64) -> UInt64 {
        var x = c
        for _ in 0..<6 { x = x &* (2 &- c &* x) }
        return x
    }

    static func unshift(_ y: UInt64, _ s: UInt64) -> UInt64 {
        var x = y
        for _ in 0..<(64 / Int(s) + 1) { x = y ^ (x >> s) }
        return x
    }

    /// The first 64 bits of a pseudonym, in hex.
    static func bits(_ pseudonym: String) -> String { String(pseudonym.dropFirst("LUMEN-".count).prefix(16)) }

    /// The first 64 bits of `guessed`'s pseudonym, computed from one known pair and no salt.
    static func forge(_ guessed: String, from known: String, knownPseudonym: String) -> String {
        guard let v = UInt64(bits(knownPseudonym), radix: 16) else { return "" }
        var h = unshift(unshift(unshift(v, 31) &* inverse(c2), 27) &* inverse(c1), 30) &- golden
        for b in known.utf8.reversed() { h = (h &* inverse(prime)) ^ UInt64(b) }
        for b in guessed.utf8 { h = (h ^ UInt64(b)) &* prime }
        return String(format: "%016llx", finalise(h))
    }
}
