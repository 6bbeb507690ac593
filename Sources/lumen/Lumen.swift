#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import LumenCLI

/// The `lumen` executable: parses and dispatches through the async entry point.
@main
enum Lumen {
    static func main() async {
        // Line-buffered output, so that progress lines reach a log file or pipe as they happen.
        setvbuf(stdout, nil, _IOLBF, 0)
        await LumenCommand.main(nil)
    }
}
