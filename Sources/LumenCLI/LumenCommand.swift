import ArgumentParser
import LumenWorkspace

/// The `lumen` command tree; `main.swift` only calls `main()`.
public struct LumenCommand: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "lumen",
        abstract: "Lumen: the MLOps platform for medical imaging (data, training, tracking, registry, serving, monitoring).",
        discussion: "Run `lumen COMMAND --help` for a command's options. LUMEN_THREADS sets the number of CPU threads libtorch uses (default: every core).",
        version: LumenVersion.string,
        subcommands: [InitCommand.self, ImageCommand.self, DataCommand.self, TrainCommand.self, SweepCommand.self, EvaluateCommand.self, ExplainCommand.self, PredictCommand.self, LoadCommand.self, MonitorCommand.self, AlertsCommand.self, FeedbackCommand.self, PipelineCommand.self, SchedulerCommand.self, ExperimentsCommand.self, RunsCommand.self, ModelsCommand.self, ServeCommand.self, TokenCommand.self, InfoCommand.self, ZooCommand.self, DoctorCommand.self]
    )
}

/// Lumen's own version.
public enum LumenVersion {
    public static let string = LumenRelease.version
}
