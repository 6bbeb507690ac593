import Foundation
import LumenImaging

/// Train/validation/test ratios; they must sum to 1.
public struct SplitRatios: Sendable, Equatable {
    public var train: Double
    public var val: Double
    public var test: Double

    public init(train: Double, val: Double, test: Double) throws(DataError) {
        guard train >= 0, val >= 0, test >= 0, abs(train + val + test - 1) < 1e-6 else {
            throw .invalidArgument("split ratios \(train), \(val), \(test) must be non-negative and sum to 1")
        }
        self.train = train
        self.val = val
        self.test = test
    }

    /// Parses `0.7,0.15,0.15` (or two numbers for train/test).
    public static func parse(_ text: String) throws(DataError) -> SplitRatios {
        let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.allSatisfy({ $0 != nil }) else { throw .invalidArgument("ratios '\(text)' must be numbers like 0.7,0.15,0.15") }
        let v = parts.map { $0! }
        switch v.count {
        case 2: return try SplitRatios(train: v[0], val: 0, test: v[1])
        case 3: return try SplitRatios(train: v[0], val: v[1], test: v[2])
        default: throw .invalidArgument("ratios '\(text)' must have 2 (train,test) or 3 (train,val,test) numbers")
        }
    }
}

/// Leakage found in a split: groups or identical files in more than one split.
public struct LeakageReport: Codable, Sendable, Equatable {
    /// Groups (patients) with files in several splits, with those splits.
    public var groups: [String: [String]]
    /// SHA-256 of identical files found in several splits, with those splits.
    public var duplicates: [String: [String]]
    public var isClean: Bool { groups.isEmpty && duplicates.isEmpty }
}

/// Stratified, group-aware splits and k-fold assignment, deterministic for a seed.
public enum Splitter {
    /// The stratum of an entry: its label plus the named metadata columns (`label` names the label).
    static func stratum(_ e: DatasetEntry, keys: [String]) -> String {
        keys.map { $0 == "label" ? (e.label ?? "") : (e.metadata[$0] ?? "") }.joined(separator: "\u{1F}")
    }

    /// Checks that every stratification key is `label` or a metadata column some entry has, so that a
    /// typo is an error instead of a split that silently ignores it.
    public static func checkStratifyKeys(_ keys: [String], in entries: [DatasetEntry]) throws(DataError) {
        let columns = Set(entries.flatMap { $0.metadata.keys })
        let unknown = keys.filter { $0 != "label" && !columns.contains($0) }
        guard unknown.isEmpty else {
            let known = (["label"] + columns.filter { $0 != "fold" }.sorted()).joined(separator: ", ")
            throw .invalidArgument("--stratify: no column \(unknown.map { "'\($0)'" }.joined(separator: ", ")) in the dataset; columns are \(known)")
        }
    }

    /// Units that must stay together: one per group, or one per file without a group.
    static func units(_ entries: [DatasetEntry], grouped: Bool) -> [[Int]] {
        var byGroup: [String: [Int]] = [:]
        var units: [[Int]] = []
        for (i, e) in entries.enumerated() {
            if grouped, let g = e.group { byGroup[g, default: []].append(i) } else { units.append([i]) }
        }
        units += byGroup.keys.sorted().map { byGroup[$0]! }
        return units
    }

    /// Assigns `train`/`val`/`test` to every entry: within each stratum (by `stratifyBy`, default the
    /// label) units are shuffled with `seed` and cut by `ratios`; with `grouped`, all files of a group
    /// (patient) land in the same split, the group taking the stratum of its most common label.
    public static func split(_ entries: [DatasetEntry], ratios: SplitRatios, seed: UInt64, stratifyBy: [String] = ["label"], grouped: Bool = true) throws(DataError) -> [DatasetEntry] {
        try checkStratifyKeys(stratifyBy, in: entries)
        var out = entries
        let groups = units(entries, grouped: grouped)
        var strata: [String: [[Int]]] = [:]
        for unit in groups {
            let keys = unit.map { stratum(entries[$0], keys: stratifyBy) }
            let counts = Dictionary(keys.map { ($0, 1) }, uniquingKeysWith: +)
            let key = counts.max { ($0.value, $1.key) < ($1.value, $0.key) }!.key
            strata[key, default: []].append(unit)
        }
        var rng = SeededGenerator(seed: seed)
        var shuffled: [String: [[Int]]] = [:]
        for key in strata.keys.sorted() {
            var members = strata[key]!
            members.shuffle(using: &rng)
            shuffled[key] = members
        }
        if groups.allSatisfy({ $0.count == 1 }) {
            // Single files: totals as scikit-learn's train_test_split gives them (test = ⌈N·ratio⌉), shared
            // out over the strata by largest remainder, so a 75/25 split of ELPV's 2,624 cells is 1,968/656.
            let keys = strata.keys.sorted()
            let sizes = keys.map { shuffled[$0]!.count }
            let n = sizes.reduce(0, +)
            let nTest = min(n, Int((Double(n) * ratios.test - 1e-9).rounded(.up)))
            let nVal = min(n - nTest, Int((Double(n) * ratios.val - 1e-9).rounded(.up)))
            let testShares = largestRemainder(sizes, total: nTest)
            let valShares = largestRemainder(zip(sizes, testShares).map { $0 - $1 }, total: nVal)
            for (k, key) in keys.enumerated() {
                for (position, unit) in shuffled[key]!.enumerated() {
                    let split = position < testShares[k] ? "test" : (position < testShares[k] + valShares[k] ? "val" : "train")
                    for i in unit { out[i].split = split }
                }
            }
            return out
        }
        for key in strata.keys.sorted() {
            let members = shuffled[key]!
            let total = Double(members.reduce(0) { $0 + $1.count })
            let names = ["train", "val", "test"]
            let targets = [ratios.train, ratios.val, ratios.test].map { $0 * total }
            var assigned = [0.0, 0.0, 0.0]
            for unit in members {
                // The split furthest below its target takes the unit (exact proportions for single files,
                // the closest possible for groups).
                var k = 0
                var best = -Double.infinity
                for j in 0..<3 where targets[j] > 0 {
                    let deficit: Double = targets[j] - assigned[j]
                    if deficit > best { best = deficit; k = j }
                }
                for i in unit { out[i].split = names[k] }
                assigned[k] += Double(unit.count)
            }
        }
        return out
    }

    /// Shares `total` over groups of the given sizes in proportion, rounding by largest remainder.
    static func largestRemainder(_ sizes: [Int], total: Int) -> [Int] {
        let n = sizes.reduce(0, +)
        guard n > 0, total > 0 else { return sizes.map { _ in 0 } }
        let exact = sizes.map { Double($0) * Double(total) / Double(n) }
        var shares = exact.map { Int($0) }
        let order = exact.indices.sorted { (exact[$0] - Double(shares[$0]), -$0) > (exact[$1] - Double(shares[$1]), -$1) }
        var left = total - shares.reduce(0, +)
        for i in order where left > 0 && shares[i] < sizes[i] {
            shares[i] += 1
            left -= 1
        }
        return shares
    }

    /// Assigns `metadata["fold"]` = 0..<k, stratified and group-aware like `split`.
    public static func kFold(_ entries: [DatasetEntry], k: Int, seed: UInt64, stratifyBy: [String] = ["label"], grouped: Bool = true) throws(DataError) -> [DatasetEntry] {
        guard k >= 2 else { throw .invalidArgument("k-fold needs k ≥ 2, got \(k)") }
        try checkStratifyKeys(stratifyBy, in: entries)
        let allUnits = units(entries, grouped: grouped)
        guard allUnits.count >= k else {
            let what = grouped && entries.contains(where: { $0.group != nil }) ? "patients/groups" : "files"
            throw .invalidArgument("\(k) folds need at least \(k) \(what); the dataset has \(allUnits.count), so some folds would be empty")
        }
        var out = entries
        var strata: [String: [[Int]]] = [:]
        for unit in allUnits {
            strata[stratum(entries[unit[0]], keys: stratifyBy), default: []].append(unit)
        }
        var rng = SeededGenerator(seed: seed)
        var sizes = [Int](repeating: 0, count: k)
        for key in strata.keys.sorted() {
            var members = strata[key]!
            members.shuffle(using: &rng)
            // Largest units first, each to the currently smallest fold: balanced folds even with big groups.
            for unit in members.sorted(by: { $0.count > $1.count }) {
                let fold = sizes.indices.min { (sizes[$0], $0) < (sizes[$1], $1) }!
                for i in unit { out[i].metadata["fold"] = String(fold) }
                sizes[fold] += unit.count
            }
        }
        return out
    }

    /// Checks a split for groups and identical files that appear in more than one split.
    public static func leakage(_ entries: [DatasetEntry]) -> LeakageReport {
        var groupSplits: [String: Set<String>] = [:]
        var fileSplits: [String: Set<String>] = [:]
        for e in entries {
            guard let split = e.split else { continue }
            if let g = e.group { groupSplits[g, default: []].insert(split) }
            fileSplits[e.sha256, default: []].insert(split)
        }
        return LeakageReport(groups: groupSplits.filter { $0.value.count > 1 }.mapValues { $0.sorted() },
                             duplicates: fileSplits.filter { $0.value.count > 1 }.mapValues { $0.sorted() })
    }
}
