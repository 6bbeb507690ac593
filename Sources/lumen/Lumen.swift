import LumenCLI

/// The `lumen` executable: parses and dispatches through the async entry point.
@main
enum Lumen {
    static func main() async {
        await LumenCommand.main(nil)
    }
}
