import ArgumentParser
import Foundation
import LumenInference
import LumenMonitoring
import LumenStore
import LumenTraining
import LumenWorkspace

/// `lumen monitor …`: a served model's inputs and outputs against its reference profile.
struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Watch a served model: its logged inputs and outputs against the reference profile of its training data.",
        subcommands: [Report.self, Reference.self, Tables.self, Embeddings.self, Anomalies.self, Rules.self], defaultSubcommand: Report.self)

    /// A drift report as a table: one row per feature or column.
    static func driftTable(_ report: DriftReport, first: String) -> String {
        table([first, "test", "statistic", "p-value", "threshold", "drift"], report.features.map { f in
            [f.feature, f.test, String(format: "%.4g", f.statistic), f.pValue.map { String(format: "%.3g", $0) } ?? "-", String(format: "%g", f.threshold), f.drifted ? "DRIFT" : "ok"]
        })
    }

    /// An embedding drift verdict as a table: one row per method.
    static func embeddingTable(_ e: EmbeddingDrift) -> String {
        table(["method", "statistic", "p-value", "threshold", "drift"], e.methods.map { m in
            [m.method, String(format: "%.4g", m.statistic), m.pValue.map { String(format: "%.3g", $0) } ?? "-", String(format: "%.4g", m.threshold), m.drifted ? "DRIFT" : "ok"]
        })
    }

    /// What `lumen monitor --json` prints: the per-feature report, its verdict and the embedding drift.
    struct MonitorSummary: Encodable {
        var features: [FeatureDrift]
        var driftShare: Double
        var drifted: Bool
        var driftedFeatures: [String]
        var embeddings: EmbeddingDrift?

        init(drift: DriftReport, embeddings: EmbeddingDrift?) {
            features = drift.features
            driftShare = drift.driftShare
            drifted = drift.drifted
            driftedFeatures = drift.driftedFeatures
            self.embeddings = embeddings
        }
    }

    struct Reference: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute and store a version's reference profile: the monitoring features and predictions of a dataset split (its training data).")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "The version: NAME@ALIAS, NAME/VERSION or NAME.") var model: String
        @Option(help: "Dataset (NAME or NAME:ID) the model was trained on.") var data: String
        @Option(help: "Split to profile.") var split = "train"

        func run() async throws {
            let ws = try options.open()
            let bar = ProgressBar("profiling")
            let profile = try await options.withStore { store in
                let loaded = try await ModelLoader.load(model, store: store, workspace: ws)
                let profile = try ReferenceProfiler.make(loaded, dataset: data, split: split, workspace: ws, progress: { bar.update($0, $1) })
                try await ReferenceProfiler.save(profile, store: store, workspace: ws)
                return profile
            }
            print("\(profile.model) version \(profile.version): reference of \(profile.features.values.first?.count ?? 0) images of \(profile.dataset) [\(profile.split)] stored (\(profile.features.count) input features, \(profile.outputs.count) outputs)")
        }
    }

    /// Drift between two tables (CSV with a header): numeric columns by K–S or normed Wasserstein (or PSI),
    /// other columns as categories (chi-squared, Z or Jensen–Shannon), as Evidently's DataDriftPreset does.
    struct Tables: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Data drift between two CSV tables (reference, current), column by column, with Evidently's default tests.")
        @Argument(help: "Reference table (CSV with a header row).") var reference: String
        @Argument(help: "Current table, same columns.") var current: String
        @Flag(help: "Use the population stability index for numeric columns.") var psi = false
        @Flag(help: "Print the report as JSON.") var json = false

        static func read(_ path: String) throws -> (numbers: [String: [Double]], categories: [String: [String]], rows: Int) {
            guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("\(path): cannot read the table") }
            // Lines and fields split on the bytes (a CSV of numbers and plain labels: no quoted fields), each
            // field trimmed of spaces; a column all of whose fields parse as numbers is numeric.
            var header: [String] = []
            var columns: [[Substring]] = []
            var lineNumber = 0
            let text = String(decoding: data, as: UTF8.self)
            for rawLine in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
                var line = rawLine
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
                lineNumber += 1
                let fields = line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map { field -> Substring in
                    var f = field
                    while f.first == UInt8(ascii: " ") { f = f.dropFirst() }
                    while f.last == UInt8(ascii: " ") { f = f.dropLast() }
                    return Substring(f)
                }
                if lineNumber == 1 {
                    header = fields.map(String.init)
                    columns = Array(repeating: [], count: header.count)
                    continue
                }
                guard fields.count == header.count else { throw CLIError("\(path): line \(lineNumber) has \(fields.count) fields; the header has \(header.count)") }
                for (i, v) in fields.enumerated() { columns[i].append(v) }
            }
            guard !header.isEmpty, lineNumber > 1 else { throw CLIError("\(path): a header row and at least one row are needed") }
            var numbers: [String: [Double]] = [:], categories: [String: [String]] = [:]
            for (name, values) in zip(header, columns) {
                var parsed: [Double] = []
                parsed.reserveCapacity(values.count)
                for v in values {
                    guard let d = Double(v) else { break }
                    parsed.append(d)
                }
                if parsed.count == values.count { numbers[name] = parsed } else { categories[name] = values.map(String.init) }
            }
            return (numbers, categories, lineNumber - 1)
        }

        func run() throws {
            let r = try Self.read(reference), c = try Self.read(current)
            let report = DriftReport.compare(reference: r.numbers, current: c.numbers, referenceCategories: r.categories, currentCategories: c.categories, usePSI: psi)
            if json { return try printJSON(report) }
            print("\(r.rows) reference rows, \(c.rows) current rows")
            print(MonitorCommand.driftTable(report, first: "column"))
            print(report.drifted ? "dataset drift: \(report.driftedFeatures.count) of \(report.features.count) columns drifted" : "no dataset drift (\(report.driftedFeatures.count) of \(report.features.count) columns drifted)")
        }
    }

    /// Embedding drift between two tables of vectors (one embedding per row, numbers only).
    struct Embeddings: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Embedding drift between two CSV tables of vectors (one per row): domain classifier, share of drifted components, MMD with a permutation test, distance of means (Evidently's methods and defaults).")
        @Argument(help: "Reference embeddings (CSV, one vector per row; a header row of names is allowed).") var reference: String
        @Argument(help: "Current embeddings, same width.") var current: String
        @Option(help: "Reduce both by a PCA with this many components fitted on the reference (0: compare the vectors as they are).") var components = 0
        @Option(help: "Permutations of the MMD test.") var permutations = 200
        @Flag(help: "Print JSON.") var json = false

        struct Output: Encodable {
            var drift: EmbeddingDrift
            var explainedVarianceRatio: [Double]?
        }

        func validate() throws {
            guard (0...4096).contains(components) else { throw ValidationError("--components must be 0…4096") }
            guard (10...100_000).contains(permutations) else { throw ValidationError("--permutations must be 10…100000") }
        }

        static func vectors(_ path: String) throws -> [[Double]] {
            let t = try Tables.read(path)
            guard t.categories.isEmpty else { throw CLIError("\(path): column '\(t.categories.keys.sorted()[0])' is not numeric; an embedding table holds numbers only") }
            let names = t.numbers.keys.sorted { a, b in
                // Columns in numeric order when they are numbered (e0, e1, … e10), else by name.
                let na = Int(a.filter(\.isNumber)), nb = Int(b.filter(\.isNumber))
                if let na, let nb, na != nb { return na < nb }
                return a < b
            }
            return (0..<t.rows).map { i in names.map { t.numbers[$0]![i] } }
        }

        func run() throws {
            var r = try Self.vectors(reference), c = try Self.vectors(current)
            guard r.first?.count == c.first?.count else { throw CLIError("\(reference) has \(r.first?.count ?? 0) columns, \(current) \(c.first?.count ?? 0): embeddings must have one width") }
            var ratio: [Double]?
            if components > 0 {
                let pca = PCA.fit(r, components: components)
                guard !pca.components.isEmpty else { throw CLIError("\(reference): too few rows for a PCA") }
                r = r.map { pca.project($0) }
                c = c.map { pca.project($0) }
                ratio = pca.explainedVarianceRatio
            }
            guard let drift = EmbeddingDrift.compare(reference: r, current: c, permutations: permutations) else {
                throw CLIError("embedding drift needs at least 4 rows in each table")
            }
            if json { return try printJSON(Output(drift: drift, explainedVarianceRatio: ratio)) }
            print("\(drift.referenceCount) reference and \(drift.currentCount) current embeddings of \(drift.components) dimensions" + (ratio.map { String(format: " (PCA: %.1f %% of the variance)", 100 * $0.reduce(0, +)) } ?? ""))
            print(MonitorCommand.embeddingTable(drift))
            print(drift.drifted ? "embedding drift (domain classifier)" : "no embedding drift (domain classifier)")
        }
    }

    /// Prometheus alerting rules for lumen serve's metrics.
    struct Rules: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write Prometheus alerting rules for lumen serve's /metrics (errors, latency, gate refusals, full queues, memory, down).")
        @Option(name: .shortAndLong, help: "Write to this file (default: standard output).") var output: String?
        @Option(help: "Prometheus scrape job of lumen serve.") var job = "lumen"
        @Option(help: "Share of failing predictions that fires.") var errorRate = 0.05
        @Option(help: "99th-percentile latency (seconds) that fires.") var latencyP99 = 1.0
        @Option(help: "Share of gate refusals that fires.") var gateRate = 0.2
        @Option(name: .customLong("for"), help: "How long a condition must hold (Prometheus duration).") var holdFor = "5m"

        func validate() throws {
            guard (0...1).contains(errorRate), (0...1).contains(gateRate), latencyP99 > 0 else { throw ValidationError("--error-rate and --gate-rate are shares in [0, 1]; --latency-p99 is positive") }
            guard holdFor.range(of: #"^[0-9]+(ms|s|m|h|d)$"#, options: .regularExpression) != nil else { throw ValidationError("--for must be a Prometheus duration such as 5m") }
            guard job.range(of: #"^[A-Za-z0-9_:.-]+$"#, options: .regularExpression) != nil else { throw ValidationError("--job must be a job name") }
        }

        func run() throws {
            var rules = PrometheusRules()
            rules.job = job
            rules.errorRate = errorRate
            rules.latencyP99 = latencyP99
            rules.gateRate = gateRate
            rules.holdFor = holdFor
            let text = rules.render()
            try writeOrPrint(text, to: output) { output in "alerting rules written to \(output) (promtool check rules \(output))" }
        }
    }

    /// Sudden changes in a served model's traffic: request rate, latency, gate refusals, predicted-class mix.
    struct Anomalies: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sudden changes in a served model's traffic per interval (requests, latency, error rate, gate refusals, class shares), by EWMA and CUSUM charts.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "The model: NAME@ALIAS, NAME/VERSION or NAME.") var model: String
        @Option(help: "How far back: 30m, 12h, 7d.") var window = "24h"
        @Option(help: "Interval length: 1m, 5m, 1h.") var bucket = "5m"
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let ws = try options.open()
            _ = ws
            let to = Clock.nowMillis(), span = Int64(try durationSeconds(window, option: "--window") * 1000), step = Int64(try durationSeconds(bucket, option: "--bucket") * 1000)
            guard span / step >= 10 else { throw CLIError("--window must hold at least 10 intervals of --bucket (\(window) / \(bucket))") }
            guard span / step <= 100_000 else { throw CLIError("--window holds too many intervals of --bucket; choose a longer --bucket") }
            let (version, logs) = try await options.withStore { store in
                let version = try await store.modelVersion(ModelReference(parsing: model))
                return (version, try await store.predictions(modelName: version.name, version: nil, since: to - span, limit: 1_000_000))
            }
            let classes = (version.spec.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }?["classes"] as? [String]) ?? []
            let entries: [(time: Int64, latency: Double, route: String, label: String?)] = logs.map { log in
                let out = (try? JSONSerialization.jsonObject(with: Data(log.outputs.utf8)) as? [String: Any]) ?? [:]
                let top = (out["labels"] as? [NSNumber])?.first?.intValue
                return (log.time, log.latency, out["route"] as? String ?? "primary", top.flatMap { $0 < classes.count ? classes[$0] : String($0) })
            }
            let stream = StreamSeries(entries: entries, from: to - span, to: to, bucket: step)
            let alarms = stream.alarms()
            if json {
                return try printJSON(alarms.mapValues { $0.map { ["time": ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(stream.starts[$0.index]) / 1000)),
                                                                  "method": $0.method, "direction": $0.direction, "value": String($0.value)] } })
            }
            print("\(version.name): \(logs.count) logged predictions in the last \(window), \(stream.starts.count) intervals of \(bucket); EWMA (λ 0.2, L 3.5) and CUSUM (k 0.5, h 8)")
            if alarms.isEmpty { print("no anomaly"); return }
            for (name, found) in alarms.sorted(by: { $0.key < $1.key }) {
                for a in found {
                    print("\(name): \(a.method) \(a.direction) at \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(stream.starts[a.index]) / 1000))) (value \(String(format: "%.4g", a.value)))")
                }
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drift of the logged predictions of a window against the version's reference (Evidently's default tests: K–S or normed Wasserstein, chi-squared/Z or Jensen–Shannon).")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "The version: NAME@ALIAS, NAME/VERSION or NAME.") var model: String
        @Option(help: "How far back: 30m, 12h, 7d.") var window = "7d"
        @Flag(help: "Use the population stability index for numbers instead of K–S / Wasserstein.") var psi = false
        @Flag(help: "Also report performance on the predictions that have ground truth (lumen feedback import, POST /api/feedback).") var performance = false
        @Option(help: "With --performance: also per interval of this length (1d, 12h), a drop flagged where it falls.") var bucket: String?
        @Option(help: "Also write a self-contained HTML report (table and distributions) here.") var html: String?
        @Option(help: ArgumentHelp("With --performance: the same metrics per subgroup of these logged features (patient_sex, patient_age_band, acq_manufacturer, acq_modality, img_format, …), with intervals and gaps.", valueName: "features")) var by: String?
        @Option(help: "With --bucket: a drop is an interval whose accuracy (binary: sensitivity) is this much below the window's and whose interval lies below the window's value.") var drop = 0.1
        @Flag(help: "Print the report as JSON.") var json = false

        func validate() throws {
            _ = try durationSeconds(window, option: "--window")
            if let bucket { _ = try durationSeconds(bucket, option: "--bucket") }
            guard (0...1).contains(drop) else { throw ValidationError("--drop is a share in [0, 1]") }
            if by != nil && !performance { throw ValidationError("--by needs --performance (subgroups of the predictions with ground truth)") }
        }

        /// Accuracy, sensitivity, specificity and AUC with 95 % bootstrap intervals on the window's predictions that have feedback.
        func performanceReport(_ logs: [PredictionLog], version: ModelVersion, store: any Store, bootstrap: Int = 1000) async throws -> ClassificationReport? {
            try await scored(logs, version: version, store: store).map { ClassificationReport(classes: $0.classes, predictions: $0.scored, bootstrap: bootstrap, positive: $0.positive) }
        }

        /// The window's predictions that have ground truth, each with its logged features (for subgroups).
        func scored(_ logs: [PredictionLog], version: ModelVersion, store: any Store) async throws -> (classes: [String], positive: Int, scored: [ScoredImage], features: [[String: String]])? {
            let ids = logs.compactMap(\.id)
            let truth = try await store.feedback(for: ids)
            guard let specText = version.spec, let spec = try? ModelSpec.decode(specText, model: version.name), spec.task == .classification else { return nil }
            var scored: [ScoredImage] = [], features: [[String: String]] = []
            for log in logs {
                guard let id = log.id, let label = truth[id]?.label, let index = spec.classes.firstIndex(of: label),
                      let out = try? JSONSerialization.jsonObject(with: Data(log.outputs.utf8)) as? [String: Any],
                      (out["route"] as? String) != "shadow", let p = out["probabilities"] as? [NSNumber], p.count == spec.classes.count else { continue }
                scored.append(ScoredImage(path: id, label: index, probabilities: p.map(\.doubleValue)))
                let f = (try? JSONSerialization.jsonObject(with: Data(log.features.utf8)) as? [String: Any]) ?? [:]
                features.append(f.compactMapValues { $0 as? String })
            }
            guard !scored.isEmpty else { return nil }
            return (spec.classes, spec.positiveIndex, scored, features)
        }

        func run() async throws {
            let ws = try options.open()
            let since = Clock.nowMillis() - Int64(try durationSeconds(window, option: "--window") * 1000)
            let bucketMillis = try bucket.map { Int64(try durationSeconds($0, option: "--bucket") * 1000) }
            let columns = by.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            let (version, logs, quality, intervals, subgroups, alerts) = try await options.withStore { store in
                let version = try await store.modelVersion(ModelReference(parsing: model))
                let logs = try await store.predictions(modelName: version.name, version: version.version, since: since, limit: 1_000_000)
                var intervals: [(start: Int64, report: ClassificationReport)] = []
                if performance, let step = bucketMillis {
                    for (start, members) in Dictionary(grouping: logs, by: { since + ($0.time - since) / step * step }).sorted(by: { $0.key < $1.key }) {
                        if let r = try await performanceReport(members, version: version, store: store, bootstrap: 300) { intervals.append((start, r)) }
                    }
                }
                var subgroups: SubgroupReport?
                if let columns, let s = try await scored(logs, version: version, store: store) {
                    let known = Set(s.features.flatMap(\.keys))
                    if let unknown = columns.first(where: { !known.contains($0) }) {
                        throw CLIError("--by: no logged feature '\(unknown)' on these predictions (features: \(known.subtracting(["input_sha256"]).sorted().joined(separator: ", ")))")
                    }
                    var grouped: [[String]: [ScoredImage]] = [:]
                    for (image, f) in zip(s.scored, s.features) { grouped[columns.map { f[$0] ?? "(none)" }, default: []].append(image) }
                    subgroups = SubgroupReport(classes: s.classes, positive: s.positive, grouped: grouped, columns: columns, bootstrap: 500)
                }
                let alerts = html == nil ? [] : try await store.alerts(openOnly: false, since: since, limit: 1000).filter { $0.model == version.name }
                return (version, logs, performance ? try await performanceReport(logs, version: version, store: store) : nil, intervals, subgroups, alerts)
            }
            if performance {
                if let q = quality {
                    func ci(_ name: String, _ v: Double) -> String {
                        q.confidenceIntervals[name].map { String(format: "%.3f (95 %% CI %.3f–%.3f)", v, $0.low, $0.high) } ?? String(format: "%.3f", v)
                    }
                    print("performance on \(q.samples) predictions with ground truth (of \(logs.count) logged in the last \(window)):")
                    print("  accuracy     \(ci("accuracy", q.accuracy))")
                    if q.classes.count == 2 {
                        print("  sensitivity  \(ci("sensitivity", q.perClass[q.positiveIndex].recall)) (positive class \(q.classes[q.positiveIndex]))")
                        print("  specificity  \(ci("specificity", q.perClass[q.positiveIndex].specificity))")
                    }
                    print("  ROC-AUC      \(ci("roc_auc", q.rocAUC))")
                    print("  calibration  ECE \(String(format: "%.3f", q.expectedCalibrationError)) (expected calibration error, 10 confidence bins)")
                    if let bucket, !intervals.isEmpty {
                        // The metric a drop is judged on: sensitivity for a binary model (missed findings), else accuracy.
                        let binary = q.classes.count == 2
                        let name = binary ? "sensitivity" : "accuracy"
                        func value(_ r: ClassificationReport) -> Double { binary ? r.perClass[r.positiveIndex].recall : r.accuracy }
                        let overall = value(q)
                        print("per \(bucket) (\(name); DROP: more than \(drop) below the window's \(String(format: "%.3f", overall)) with its interval below it too):")
                        print(table(["from", "with truth", name, "95 % CI", "ECE", ""], intervals.map { start, r in
                            let v = value(r), e = r.confidenceIntervals[name]
                            let dropped = !v.isNaN && v < overall - drop && (e.map { $0.high < overall } ?? false)
                            return [ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(start) / 1000)), String(r.samples),
                                    v.isNaN ? "n/a" : String(format: "%.3f", v), e.map { String(format: "%.3f–%.3f", $0.low, $0.high) } ?? "-",
                                    String(format: "%.3f", r.expectedCalibrationError), dropped ? "DROP" : ""]
                        }))
                    }
                    if let subgroups { printSubgroups(subgroups, binary: q.classes.count == 2) }
                } else {
                    print("performance: no logged prediction of the last \(window) has ground truth yet (lumen feedback import FILE, POST /api/feedback)")
                }
            }
            guard let profile = try ReferenceProfiler.load(version, workspace: ws) else {
                throw CLIError("\(version.name) version \(version.version) has no reference profile: lumen monitor reference \(version.name)/\(version.version) --data DATASET")
            }
            let classes = profile.outputs.keys.map { String($0.dropFirst(2)) }.sorted()
            let current = ReferenceProfile.window(features: logs.map(\.features), outputs: logs.map(\.outputs), classes: classes)
            guard current.count > 0 else {
                throw CLIError("no predictions of \(version.name) version \(version.version) are logged in the last \(window)")
            }
            let report = profile.drift(current, usePSI: psi)
            let embeddingDrift = profile.embeddingDrift(current)
            if let html {
                var sections = DriftHTML.Sections()
                sections.alerts = alerts
                if let e = embeddingDrift, let reference = profile.embeddings { sections.embeddings = (reference.rows, current.embeddings, e) }
                if let q = quality, !intervals.isEmpty {
                    let binary = q.classes.count == 2
                    let name = binary ? "sensitivity" : "accuracy"
                    func value(_ r: ClassificationReport) -> Double { binary ? r.perClass[r.positiveIndex].recall : r.accuracy }
                    sections.performance = (name, value(q), intervals.map { start, r in
                        let e = r.confidenceIntervals[name]
                        return (ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(start) / 1000)), value(r), e?.low ?? .nan, e?.high ?? .nan, r.samples)
                    })
                }
                if let g = subgroups, let q = quality {
                    let binary = q.classes.count == 2
                    func e(_ m: Estimate?) -> String { m.map { $0.value.isNaN ? "n/a" : String(format: "%.3f (%.3f–%.3f)", $0.value, $0.low, $0.high) } ?? "-" }
                    sections.subgroups = (g.columns + ["images", "accuracy"] + (binary ? ["sensitivity", "specificity"] : ["balanced accuracy"]) + ["ROC-AUC"],
                                          g.groups.map { grp in grp.values + [String(grp.images), e(grp.metrics["accuracy"])] + (binary ? [e(grp.metrics["sensitivity"]), e(grp.metrics["specificity"])] : [e(grp.metrics["balanced_accuracy"])]) + [e(grp.metrics["roc_auc"])] },
                                          g.gaps.map { "\($0.metric): \($0.low.joined(separator: "/")) below \($0.high.joined(separator: "/")) (intervals do not overlap)" })
                }
                let page = DriftHTML.render(report, title: "\(version.name) version \(version.version): the last \(window) against \(profile.dataset) [\(profile.split)]",
                                            reference: profile.features.merging(profile.outputs) { a, _ in a }, current: current.features.merging(current.outputs) { a, _ in a },
                                            sections: sections)
                do { try page.write(toFile: html, atomically: true, encoding: .utf8) } catch { throw CLIError("\(html): \(error.localizedDescription)") }
                if !json { print("HTML report: \(html)") }
            }
            if json { return try printJSON(MonitorSummary(drift: report, embeddings: embeddingDrift)) }
            let n = current.count
            print("\(version.name) version \(version.version): \(n) predictions in the last \(window) against \(profile.features.values.first?.count ?? 0) reference images of \(profile.dataset) [\(profile.split)]")
            print(MonitorCommand.driftTable(report, first: "feature"))
            print(report.drifted ? "dataset drift: \(report.driftedFeatures.count) of \(report.features.count) features drifted (\(report.driftedFeatures.joined(separator: ", ")))"
                  : "no dataset drift (\(report.driftedFeatures.count) of \(report.features.count) features drifted; drift when at least \(Int(report.driftShare * 100)) %)")
            if let e = embeddingDrift {
                print("embedding drift (\(e.currentCount) logged embeddings against \(e.referenceCount), \(e.components) PCA components):")
                print(MonitorCommand.embeddingTable(e))
                print(e.drifted ? "embedding drift: the domain classifier tells the window from the reference (ROC-AUC above its threshold)" : "no embedding drift (domain classifier)")
            } else if profile.embeddings != nil {
                print("embedding drift: no logged embeddings in the window (served before the profile existed?)")
            }
        }
    }
}
