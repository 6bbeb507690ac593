import ArgumentParser
import Foundation
import LumenStore

/// `lumen feedback import labels.csv`: ground truth for served predictions, by the ids their answers gave.
struct FeedbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedback", abstract: "Ground truth for served predictions (by prediction_id), for performance monitoring.",
        subcommands: [Import.self], defaultSubcommand: Import.self)

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import ground truth from a CSV with prediction_id and label columns; a repeated id replaces its label, an unknown id is reported (exit 3).")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "CSV file with a header row naming prediction_id and label.") var file: String

        func run() async throws {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("\(file): cannot read it") }
            let lines = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
            guard let header = lines.first?.map({ $0.lowercased() }), let idColumn = header.firstIndex(of: "prediction_id"), let labelColumn = header.firstIndex(of: "label") else {
                throw CLIError("\(file): the header must name prediction_id and label columns")
            }
            var items: [Feedback] = []
            for (n, row) in lines.dropFirst().enumerated() {
                guard row.count > max(idColumn, labelColumn), !row[idColumn].isEmpty, !row[labelColumn].isEmpty else {
                    throw CLIError("\(file): line \(n + 2) has no prediction_id or label")
                }
                items.append(Feedback(predictionID: row[idColumn], label: row[labelColumn]))
            }
            let outcome = try await options.withStore { store in try await store.recordFeedback(items) }
            print("feedback: \(outcome.recorded) recorded, \(outcome.updated) replaced an earlier label, \(outcome.unknown.count) unknown prediction id(s)")
            for id in outcome.unknown.prefix(10) { FileHandle.standardError.write(Data("unknown prediction id \(id)\n".utf8)) }
            if !outcome.unknown.isEmpty { throw ExitCode(3) }
        }
    }
}
