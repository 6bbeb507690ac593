import Foundation

/// Artifact paths come from clients: relative, `/`-separated, no `..`, no empty or hidden tricks.
public enum ArtifactPath {
    public static func validate(_ path: String) throws -> String {
        let trimmed = path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.hasPrefix("/"), !path.contains("\\"), !path.contains("\0"), path.count <= 1024,
              !parts.contains(where: { $0 == ".." || $0 == "." || ($0.isEmpty && !trimmed.isEmpty) }) else {
            throw StoreError.invalidParameter("invalid artifact path '\(path.prefix(100))': it must be relative and must not contain '..'")
        }
        return trimmed
    }
}
