import Testing
@testable import LumenData

@Suite("Splits")
struct SplitTests {
    @Test func groupAwareStratifiedSplitHasNoLeakage() throws {
        let entries = syntheticEntries(patients: 60, perPatient: 3)
        let split = try Splitter.split(entries, ratios: try SplitRatios.parse("0.6,0.2,0.2"), seed: 5)
        #expect(Splitter.leakage(split).isClean)
        let counts = Dictionary(split.map { ($0.split!, 1) }, uniquingKeysWith: +)
        #expect(counts["train"] == 108 && counts["val"] == 36 && counts["test"] == 36)
        for s in ["train", "val", "test"] {
            let labels = split.filter { $0.split == s }.map(\.label!)
            #expect(labels.filter { $0 == "a" }.count == labels.filter { $0 == "b" }.count, "stratified: \(s)")
        }
        #expect(try Splitter.split(entries, ratios: try SplitRatios.parse("0.6,0.2,0.2"), seed: 5) == split, "deterministic")
        #expect(try Splitter.split(entries, ratios: try SplitRatios.parse("0.6,0.2,0.2"), seed: 6) != split)
    }

    @Test func stratifyByMetadataColumns() throws {
        // ELPV's protocol: stratified by label and cell type.
        let entries = syntheticEntries(patients: 40, perPatient: 1)
        let split = try Splitter.split(entries, ratios: try SplitRatios.parse("0.75,0.25"), seed: 0, stratifyBy: ["label", "site"], grouped: false)
        for label in ["a", "b"] {
            for site in ["x", "y"] {
                let cell = split.filter { $0.label == label && $0.metadata["site"] == site }
                let test = cell.filter { $0.split == "test" }.count
                #expect(abs(Double(test) - Double(cell.count) * 0.25) <= 1, "\(label)/\(site)")
            }
        }
    }

    @Test func leakageIsReported() {
        var entries = syntheticEntries(patients: 4, perPatient: 2)
        for i in entries.indices { entries[i].split = i < 4 ? "train" : "test" }
        entries[4].group = "patient-0"
        entries[5].sha256 = entries[0].sha256
        let report = Splitter.leakage(entries)
        #expect(report.groups["patient-0"] == ["test", "train"])
        #expect(report.duplicates[entries[0].sha256] == ["test", "train"])
    }

    @Test func kFoldIsBalancedAndGroupAware() throws {
        let entries = syntheticEntries(patients: 25, perPatient: 4)
        let folded = try Splitter.kFold(entries, k: 5, seed: 1)
        let sizes = Dictionary(folded.map { ($0.metadata["fold"]!, 1) }, uniquingKeysWith: +)
        #expect(sizes.count == 5 && sizes.values.allSatisfy { (16...24).contains($0) })
        for p in 0..<25 {
            #expect(Set(folded.filter { $0.group == "patient-\(p)" }.map { $0.metadata["fold"]! }).count == 1)
        }
        #expect(throws: DataError.self) { try Splitter.kFold(entries, k: 1, seed: 0) }
        #expect(throws: DataError.self) { try SplitRatios.parse("0.5,0.6") }
    }
}

@Suite("Published splits")
struct PublishedSplitTests {
    @Test func elpvProtocolGives1968And656() throws {
        // ELPV's 2,624 cells: four defect probabilities × two cell types, stratified 75/25 without groups.
        let cells: [(String, String, Int)] = [("0.0", "mono", 588), ("0.0", "poly", 920), ("0.333", "mono", 117), ("0.333", "poly", 178),
                                              ("0.666", "mono", 56), ("0.666", "poly", 50), ("1.0", "mono", 313), ("1.0", "poly", 402)]
        var entries: [DatasetEntry] = []
        for (label, type, count) in cells {
            for i in 0..<count {
                entries.append(DatasetEntry(path: "\(label)-\(type)-\(i).png", sha256: "\(label)\(type)\(i)", size: 1, format: "png", label: label, metadata: ["type": type]))
            }
        }
        #expect(entries.count == 2624)
        let split = try Splitter.split(entries, ratios: try SplitRatios.parse("0.75,0.25"), seed: 0, stratifyBy: ["label", "type"], grouped: false)
        #expect(split.filter { $0.split == "train" }.count == 1968)
        #expect(split.filter { $0.split == "test" }.count == 656)
        for (label, type, count) in cells {
            let test = split.filter { $0.label == label && $0.metadata["type"] == type && $0.split == "test" }.count
            #expect(abs(Double(test) - Double(count) * 0.25) < 1, "\(label)/\(type)")
        }
    }
}
