import Foundation

/// Patient/group ids taken from file paths by a regular expression: the first capture group that took
/// part in the match is the id (`person(\d+)_|IM-(\d+)-` gives Kaggle chest X-ray files their patient).
/// The pattern is searched in the path relative to the import's root, so folders can carry the id too.
public struct GroupPattern: Sendable {
    public let pattern: String
    private let regex: NSRegularExpression

    public init(_ pattern: String) throws(DataError) {
        let regex: NSRegularExpression
        do { regex = try NSRegularExpression(pattern: pattern) } catch {
            throw .invalidArgument("--group-pattern '\(pattern)' is not a valid regular expression")
        }
        guard regex.numberOfCaptureGroups > 0 else {
            throw .invalidArgument("--group-pattern '\(pattern)' has no capture group: put the patient id in parentheses, e.g. person(\\d+)_")
        }
        self.pattern = pattern
        self.regex = regex
    }

    /// The id in `path`, or nil when the pattern does not match it.
    public func group(in path: String) -> String? {
        let range = NSRange(path.startIndex..., in: path)
        guard let match = regex.firstMatch(in: path, range: range) else { return nil }
        for i in 1..<match.numberOfRanges {
            if let r = Range(match.range(at: i), in: path), !r.isEmpty { return String(path[r]) }
        }
        return nil
    }

    /// Gives every item without a group the id its path yields. Throws when no path matches (a pattern
    /// that finds nothing is a mistake, not a request); returns how many items it left without a group.
    public func apply(to items: inout [ImportItem]) throws(DataError) -> Int {
        var matched = 0, unmatched = 0
        for i in items.indices where items[i].group == nil {
            if let id = group(in: items[i].path) { items[i].group = id; matched += 1 } else { unmatched += 1 }
        }
        if matched == 0 && unmatched > 0 {
            let example = items.first { $0.group == nil }?.path ?? ""
            throw .invalidArgument("--group-pattern '\(pattern)' matched none of \(unmatched) file paths (e.g. '\(example)')")
        }
        return unmatched
    }
}
