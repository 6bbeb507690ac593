import ArgumentParser
import Foundation
import LumenWorkspace
import LumenData
import LumenImaging
import LumenStore
import LumenTraining

/// `lumen data …`: import, version, split, validate and synthesise datasets.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Import, version, split and validate imaging datasets.",
        discussion: "A dataset version is immutable: its id is derived from its manifest (files, labels, groups, splits). Refer to one as NAME (latest) or NAME:ID.",
        subcommands: [DataImport.self, DataList.self, DataShow.self, DataDiff.self, DataSplit.self, DataValidate.self, DataExport.self, DataSynth.self]
    )
}

extension WorkspaceOptions {
    func datasets() throws -> DatasetRepository { DatasetRepository(workspace: try open()) }

    /// A note for workspaces that de-identified with an earlier Lumen: its salt file is no longer used.
    func legacySaltNotice() throws -> String? {
        let file = try open().folder.appendingPathComponent("deid.salt")
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        return "note: \(file.path) is from an earlier Lumen and is no longer used: pseudonyms, UIDs and date shifts now come from HMAC-SHA256 with the store's secret, so they differ from those of earlier imports (re-import to make them agree; see docs/data.md)"
    }
}

/// A progress bar on a terminal (stderr), nothing otherwise.
struct DataImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a folder, CSV manifest, segmentation pairs or MedMNIST .npz as a new dataset version.",
        discussion: """
        SOURCE can be:
          a folder with a subfolder per class (train/ val/ test/ above them are honoured as splits);
          a .csv/.tsv/.txt manifest (path, label, optional patient/group and split columns; other columns kept);
          an image folder (or multi-page TIFF) with --masks (segmentation pairs matched by name, or page by page);
          a MedMNIST .npz (train_/val_/test_ images and labels).
        DICOM is de-identified (PS3.15 Basic Profile, UIDs re-mapped, dates shifted per patient) unless --no-deidentify,
        and stored under names derived from its pseudonyms; --keep-mapping keeps the original names in an owner-only file.
        A file that cannot be read is reported with its reason and the rest is imported; the exit code is then 3.
        """
    )
    @OptionGroup var workspace: WorkspaceOptions
    @Argument(help: "Folder, manifest, image stack or .npz.") var source: String
    @Option(help: "Dataset name (default: the source's name).") var name: String?
    @Option(help: "Mask folder or mask stack (segmentation).") var masks: String?
    @Option(help: "Column names for a manifest without a header row, e.g. path,label,type.") var columns: String?
    @Option(help: "Manifest delimiter: auto, comma, tab, whitespace, semicolon.") var delimiter: String = "auto"
    @Option(help: "Manifest column holding file paths.") var pathColumn: String?
    @Option(help: "Manifest column holding labels.") var labelColumn: String?
    @Option(help: "Manifest column holding patient/group ids.") var groupColumn: String?
    @Option(help: "Manifest column holding splits.") var splitColumn: String?
    @Option(help: "Folder the manifest's relative paths start from (default: the manifest's folder).") var root: String?
    @Flag(help: "Store DICOM files as they are, identifying attributes included.") var noDeidentify = false
    @Flag(help: "Remove dates from DICOM instead of shifting them.") var removeDates = false
    @Flag(help: "Keep the original file names of de-identified DICOM in an owner-only mapping file under the artifact root (they often carry medical record or accession numbers).") var keepMapping = false
    @Option(help: "Also assign splits by these ratios (train,val,test), stratified and group-aware.") var split: String?
    @Option(help: "Seed for --split.") var seed: UInt64 = 0
    @Option(help: "Stratify --split by the label and these metadata columns (comma-separated).") var stratify: String = "label"
    @Option(help: ArgumentHelp("Regular expression whose first capture group is each file's patient/group id, searched in its path, e.g. 'person(\\d+)_|IM-(\\d+)-' for the Kaggle chest X-ray layout.", valueName: "regex")) var groupPattern: String?
    @Flag(help: "Import files without labels (an inference or unlabelled set) instead of refusing a source that gives none.") var unlabelled = false
    @Option(help: "Worker threads (default: every core).") var threads: Int?
    @Flag(help: "Print the result as JSON.") var json = false

    func run() async throws {
        let sourceURL = URL(fileURLWithPath: source)
        guard FileManager.default.fileExists(atPath: sourceURL.path) else { throw CLIError("\(source): no such file or folder") }
        let repository = try workspace.datasets()
        var importer = SourceImporter()
        importer.masks = masks.map { URL(fileURLWithPath: $0) }
        guard let mode = CSVImporter.Delimiter(rawValue: delimiter) else { throw CLIError("--delimiter must be auto, comma, tab, whitespace or semicolon") }
        importer.manifest.delimiter = mode
        importer.manifest.columns = columns?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        importer.manifest.pathColumn = pathColumn
        importer.manifest.labelColumn = labelColumn
        importer.manifest.groupColumn = groupColumn
        importer.manifest.splitColumn = splitColumn
        importer.manifest.root = root.map { URL(fileURLWithPath: $0) }
        importer.groupPattern = try groupPattern.map { try GroupPattern($0) }
        importer.allowUnlabelled = unlabelled
        let found = try importer.items(from: sourceURL)
        let items = found.items, task = found.task, ungrouped = found.ungrouped
        var skipped = found.skipped
        var options = ImportOptions()
        options.deidentify = !noDeidentify
        options.removeDates = removeDates
        if let threads { options.threads = max(1, threads) }
        let bar = ProgressBar("importing")
        options.progress = { bar.update($0, $1) }
        let builder: DatasetBuilder
        if noDeidentify {
            builder = DatasetBuilder(storingAsIs: repository, options: options)
        } else {
            // The key lives with the store, so every replica and every import derives the same pseudonyms.
            builder = try await workspace.withStore { [options] store in
                DatasetBuilder(repository: repository, options: options, secret: try await store.deidentificationSecret())
            }
        }
        if !noDeidentify, let notice = try workspace.legacySaltNotice() { FileHandle.standardError.write(Data((notice + "\n").utf8)) }
        let result = builder.ingest(items)
        skipped += result.skipped
        // The terminal still shows the original names of skipped files (the manifest does not keep them).
        let originals = Dictionary(result.renamedPaths.map { ($0.stored, $0.original) }, uniquingKeysWith: { a, _ in a })
        guard !result.entries.isEmpty else {
            for s in skipped.prefix(20) { FileHandle.standardError.write(Data("skipped \(originals[s.path] ?? s.path): \(s.reason)\n".utf8)) }
            throw CLIError("nothing imported from \(source): \(skipped.count) file(s) skipped")
        }
        var entries = result.entries
        if let split {
            entries = try Splitter.split(entries, ratios: try SplitRatios.parse(split), seed: seed,
                                         stratifyBy: stratify.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        let datasetName = name ?? sourceURL.deletingPathExtension().lastPathComponent
        let originalSource = sourceURL.standardizedFileURL.path
        let renamed = !result.renamedPaths.isEmpty
        // The source folder's path names the same people as the files in it: withheld when they were renamed.
        var version = DatasetVersion(name: datasetName, task: task, source: renamed ? "de-identified import (original location withheld)" : originalSource,
                                     entries: entries, skipped: skipped)
        if let report = result.report { version.deidentificationReport = try report.save(in: repository) }
        _ = try await workspace.withStore { store in try await DatasetIndex.save(version, repository: repository, store: store) }
        var mappingFile: URL?
        if keepMapping && renamed {
            mappingFile = try DeIdentificationMapping.save(result.renamedPaths, source: originalSource, version: version, in: repository)
        }
        if json {
            try printJSON(["version": version.reference, "files": String(version.entries.count), "skipped": String(skipped.count)])
        } else {
            print("imported \(version.entries.count) files as \(version.reference)\(skipped.isEmpty ? "" : " (\(skipped.count) skipped)")")
            print(summary(version))
            if let groupPattern {
                let groups = Set(version.entries.compactMap(\.group)).count
                print("\(groups) patients/groups found by --group-pattern '\(groupPattern)'" + (ungrouped > 0 ? "; \(ungrouped) file(s) matched no group and count as their own" : ""))
            }
            if let report = result.report {
                let t = report.totals
                print("de-identified \(t["files"] ?? 0) DICOM files (PS3.15 Basic Profile): \(t["removed"] ?? 0) attributes removed, \(t["private removed"] ?? 0) private removed, \(t["emptied"] ?? 0) emptied, \(t["replaced"] ?? 0) replaced, \(t["re-mapped"] ?? 0) UIDs re-mapped, " + (removeDates ? "dates and times emptied" : "\(t["shifted"] ?? 0) dates shifted"))
                if let sha = version.deidentificationReport { print("report: \(repository.artifacts.root.path)/sha256/\(sha.prefix(2))/\(sha.dropFirst(2))") }
                if (t["warnings"] ?? 0) > 0 { print("warning: \(t["warnings"] ?? 0) file(s) declare burned-in annotations (see the report): Lumen does not clean pixels") }
            }
            if let mappingFile { print("original names kept in \(mappingFile.path) (owner-only)") } else if renamed { print("original file names were not kept (--keep-mapping keeps them)") }
            for s in skipped.prefix(50) { FileHandle.standardError.write(Data("skipped \(originals[s.path] ?? s.path): \(s.reason)\n".utf8)) }
            if skipped.count > 50 { FileHandle.standardError.write(Data("… and \(skipped.count - 50) more (lumen data show \(version.reference) --skipped)\n".utf8)) }
        }
        if !skipped.isEmpty { throw ExitCode(3) }
    }
}

/// Per-split class counts as a table.
func summary(_ v: DatasetVersion) -> String {
    let splits = Array(Set(v.entries.map { $0.split ?? "-" })).sorted()
    let classes = v.classes.isEmpty ? ["(none)"] : v.classes
    var rows: [[String]] = []
    for c in classes {
        rows.append([c] + splits.map { s in String(v.entries.filter { ($0.split ?? "-") == s && ($0.labels.contains(c) || (c == "(none)" && $0.label == nil)) }.count) })
    }
    rows.append(["total"] + splits.map { s in String(v.entries.filter { ($0.split ?? "-") == s }.count) })
    return table(["class"] + splits, rows)
}

struct DataList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List datasets and their versions (from the store's index; versions saved before it existed are indexed on the way).")
    @OptionGroup var workspace: WorkspaceOptions
    @Flag(help: "Print JSON (each version with its manifest's path under the artifact root and SHA-256).") var json = false
    func run() async throws {
        let repository = try workspace.datasets()
        let records = try await workspace.withStore { store in
            _ = try await DatasetIndex.adopt(repository: repository, store: store)
            return try await store.datasetVersions(name: nil)
        }.sorted { ($0.name, $0.created, $0.versionID) < ($1.name, $1.created, $1.versionID) }
        if json { return try printJSON(records) }
        let rows = records.map { r in
            [r.name, r.versionID, r.task, String(r.files), r.classes.prefix(6).joined(separator: ", "),
             ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(r.created) / 1000))]
        }
        print(rows.isEmpty ? "no datasets yet: lumen data import SOURCE" : table(["dataset", "version", "task", "files", "classes", "created"], rows))
    }
}

struct DataShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a dataset version: classes per split, groups, skipped files.")
    @OptionGroup var workspace: WorkspaceOptions
    @Argument(help: "NAME or NAME:ID.") var reference: String
    @Option(help: "Also list this many files.") var files: Int = 0
    @Flag(help: "List the files the import skipped.") var skipped = false
    @Flag(help: "The whole manifest as JSON.") var json = false
    func run() throws {
        let v = try workspace.datasets().resolve(reference)
        if json { return try printJSON(v) }
        print("\(v.reference)  \(v.task.rawValue), \(v.entries.count) files, \(Set(v.entries.compactMap(\.group)).count) groups, created \(ISO8601DateFormatter().string(from: v.createdAt))")
        print("source: \(v.source)\(v.parent.map { "  (derived from \($0))" } ?? "")")
        print(summary(v))
        if files > 0 {
            print(table(["path", "label", "group", "split", "sha256"], v.entries.prefix(files).map { [$0.path, $0.label ?? "", $0.group ?? "", $0.split ?? "", String($0.sha256.prefix(12))] }))
        }
        if !v.skipped.isEmpty {
            print("\(v.skipped.count) file(s) skipped at import\(skipped ? ":" : " (--skipped lists them)")")
            if skipped { for s in v.skipped { print("  \(s.path): \(s.reason)") } }
        }
    }
}

struct DataDiff: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diff", abstract: "Files added, removed, relabelled, modified or moved between two versions.")
    @OptionGroup var workspace: WorkspaceOptions
    @Argument(help: "Old version (NAME:ID).") var old: String
    @Argument(help: "New version (NAME:ID).") var new: String
    @Flag(help: "Print JSON.") var json = false
    func run() throws {
        let repository = try workspace.datasets()
        let diff = try repository.resolve(new).diff(from: repository.resolve(old))
        if json { return try printJSON(diff) }
        if diff.isEmpty { print("no differences"); return }
        for p in diff.added { print("+ \(p)") }
        for p in diff.removed { print("- \(p)") }
        for r in diff.relabelled { print("~ \(r.path): \(r.from ?? "(none)") → \(r.to ?? "(none)")") }
        for p in diff.modified { print("M \(p)") }
        for p in diff.resplit { print("S \(p)") }
        print("\(diff.added.count) added, \(diff.removed.count) removed, \(diff.relabelled.count) relabelled, \(diff.modified.count) modified, \(diff.resplit.count) moved between splits")
    }
}

struct DataSplit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Assign train/val/test (or k folds) as a new version, or check a split for leakage.",
        discussion: "Stratified by label (and --stratify columns); group-aware by default: no patient/group appears in two splits."
    )
    @OptionGroup var workspace: WorkspaceOptions
    @Argument(help: "NAME or NAME:ID.") var reference: String
    @Option(help: "Ratios train,val,test (or train,test).") var ratios: String = "0.7,0.15,0.15"
    @Option(help: "Seed of the shuffle.") var seed: UInt64 = 0
    @Option(help: "Stratify by these fields: label and metadata columns, comma-separated.") var stratify: String = "label"
    @Option(help: "Assign k folds (metadata 'fold') instead of splits.") var folds: Int?
    @Flag(help: "Ignore groups (allow one patient's files in several splits).") var noGroups = false
    @Flag(help: "Only check the version's split for leakage (exit 1 when found).") var check = false
    func run() async throws {
        let repository = try workspace.datasets()
        let v = try repository.resolve(reference)
        if check {
            let report = Splitter.leakage(v.entries)
            if report.isClean { print("\(v.reference): no leakage (\(Set(v.entries.compactMap(\.group)).count) groups, each in one split)"); return }
            for (g, s) in report.groups.sorted(by: { $0.key < $1.key }) { print("group \(g) is in \(s.joined(separator: ", "))") }
            for (h, s) in report.duplicates.sorted(by: { $0.key < $1.key }) { print("identical file \(h.prefix(12)) is in \(s.joined(separator: ", "))") }
            throw ExitCode(1)
        }
        let keys = stratify.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let entries: [DatasetEntry]
        if let folds {
            entries = try Splitter.kFold(v.entries, k: folds, seed: seed, stratifyBy: keys, grouped: !noGroups)
        } else {
            entries = try Splitter.split(v.entries, ratios: SplitRatios.parse(ratios), seed: seed, stratifyBy: keys, grouped: !noGroups)
        }
        let derived = DatasetVersion(name: v.name, task: v.task, source: v.source, parent: v.id, entries: entries, skipped: v.skipped)
        _ = try await workspace.withStore { store in try await DatasetIndex.save(derived, repository: repository, store: store) }
        print("\(derived.reference) (from \(v.id))")
        print(summary(derived))
    }
}

struct DataValidate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Decode every file and report unreadable files, duplicates, leakage, class balance, sizes, bit depths, modalities and mask problems.",
        discussion: "Exits 1 when something needs attention."
    )
    @OptionGroup var workspace: WorkspaceOptions
    @Argument(help: "NAME or NAME:ID.") var reference: String
    @Flag(help: "Print the report as JSON.") var json = false
    func run() throws {
        let repository = try workspace.datasets()
        let v = try repository.resolve(reference)
        let bar = ProgressBar("validating")
        let report = Validator.validate(v, repository: repository, progress: { bar.update($0, $1) })
        if json {
            try printJSON(report)
        } else {
            print("\(report.dataset): \(report.files) files")
            func histogram(_ title: String, _ h: [String: Int]) {
                guard !h.isEmpty else { return }
                print("\(title): " + h.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
            }
            for (split, counts) in report.classBalance.sorted(by: { $0.key < $1.key }) {
                let total = counts.values.reduce(0, +)
                print("classes (\(split)): " + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) (\(String(format: "%.0f", 100 * Double($0.value) / Double(max(total, 1))))%)" }.joined(separator: ", "))
            }
            histogram("sizes", report.sizes)
            histogram("bit depths", report.bitDepths)
            histogram("modalities", report.modalities)
            histogram("channels", report.channels)
            for u in report.unreadable { print("unreadable \(u.path): \(u.reason)") }
            for d in report.duplicates { print("duplicate: \(d.joined(separator: " = "))") }
            for (g, s) in report.leakage.groups.sorted(by: { $0.key < $1.key }) { print("leakage: group \(g) in \(s.joined(separator: ", "))") }
            for (h, s) in report.leakage.duplicates.sorted(by: { $0.key < $1.key }) { print("leakage: identical file \(h.prefix(12)) in \(s.joined(separator: ", "))") }
            for m in report.emptyMasks { print("empty mask: \(m)") }
            for m in report.maskSizeMismatches { print("mask size differs from image: \(m)") }
            print(report.isClean ? "ok: nothing to fix" : "problems found")
        }
        if !report.isClean { throw ExitCode(1) }
    }
}

struct DataExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a version's files (as stored: DICOM de-identified) into a folder, at their manifest paths.",
        discussion: "Masks go under OUT/masks/. A manifest.csv (path, label, group, split, sha256) is written beside them."
    )
    @OptionGroup var workspace: WorkspaceOptions
    @Argument(help: "NAME or NAME:ID.") var reference: String
    @Argument(help: "Output folder (created).") var out: String
    @Option(help: "Only this split.") var split: String?
    func run() throws {
        let repository = try workspace.datasets()
        let v = try repository.resolve(reference)
        let root = URL(fileURLWithPath: out)
        var csv = "path,label,group,split,sha256\n"
        func safe(_ path: String) throws -> URL {
            let parts = path.split(separator: "/")
            guard !path.hasPrefix("/"), !parts.contains(where: { $0 == ".." || $0 == "." }), !parts.isEmpty else { throw CLIError("\(v.reference): unsafe path '\(path)' in the manifest") }
            return root.appendingPathComponent(path)
        }
        func quote(_ s: String?) -> String { let s = s ?? ""; return s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        let entries = v.entries(in: split)
        for e in entries {
            for (sha, path) in [(e.sha256, e.path)] + (e.maskSHA256.map { [($0, "masks/" + (e.maskPath ?? e.path))] } ?? []) {
                let url = try safe(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(repository.bytes(sha)).write(to: url, options: .atomic)
            }
            csv += [e.path, e.label, e.group, e.split, e.sha256].map(quote).joined(separator: ",") + "\n"
        }
        try csv.write(to: root.appendingPathComponent("manifest.csv"), atomically: true, encoding: .utf8)
        print("exported \(entries.count) files of \(v.reference) to \(out)")
    }
}

struct DataSynth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write deterministic synthetic data: CT phantom slices (DICOM, lesion/normal) or cell images with masks.",
        discussion: "ct: OUT/lesion/*.dcm, OUT/normal/*.dcm and OUT/labels.csv, with fake patient names for de-identification to strip. cells: OUT/images/*.png and OUT/masks/*.png."
    )
    @Argument(help: "ct or cells.") var kind: String
    @Argument(help: "Output folder.") var out: String
    @Option(help: "ct: number of patients.") var patients: Int = 12
    @Option(help: "ct: slices per patient.") var slices: Int = 6
    @Option(help: "cells: number of images.") var count: Int = 20
    @Option(help: "Image size in pixels.") var size: Int = 128
    @Option(help: "Seed.") var seed: UInt64 = 0
    func run() throws {
        let url = URL(fileURLWithPath: out)
        switch kind {
        case "ct":
            let n = try Synthesizer.ctPhantom(out: url, patients: patients, slicesPerPatient: slices, size: size, seed: seed)
            print("wrote \(n) DICOM slices of \(patients) patients to \(out)")
        case "cells":
            let n = try Synthesizer.cells(out: url, count: count, size: size, seed: seed)
            print("wrote \(n) images and masks to \(out)")
        default:
            throw CLIError("unknown kind '\(kind)': use ct or cells")
        }
    }
}
