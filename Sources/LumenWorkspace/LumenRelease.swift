/// Lumen's own version, recorded with every model spec and printed by `lumen --version`.
public enum LumenRelease {
    public static let version = "0.2.0"
}
