import Foundation

/// A five-field cron schedule (minute, hour, day of month, month, day of week; `*`, numbers, `a-b`
/// ranges, `a,b` lists, `*/n` and `a-b/n` steps; Sunday is 0 or 7), evaluated in UTC. As in cron, when
/// both day fields are restricted, a day matches either.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    public let description: String
    let minutes: Set<Int>, hours: Set<Int>, days: Set<Int>, months: Set<Int>, weekdays: Set<Int>
    let dayRestricted: Bool, weekdayRestricted: Bool

    public init(_ text: String) throws {
        let fields = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count == 5 else { throw PipelineError("cron '\(text)': five fields (minute hour day month weekday), e.g. '0 3 * * *'") }
        func parse(_ field: String, _ range: ClosedRange<Int>, _ name: String) throws -> Set<Int> {
            var out = Set<Int>()
            for part in field.split(separator: ",").map(String.init) {
                let pieces = part.split(separator: "/", maxSplits: 1).map(String.init)
                let step = pieces.count == 2 ? Int(pieces[1]) : 1
                guard let step, step >= 1 else { throw PipelineError("cron '\(text)': bad step in \(name) '\(part)'") }
                var lo = range.lowerBound, hi = range.upperBound
                if pieces[0] != "*" {
                    let bounds = pieces[0].split(separator: "-", maxSplits: 1).map { Int($0) }
                    guard let a = bounds.first ?? nil, bounds.allSatisfy({ $0 != nil }) else { throw PipelineError("cron '\(text)': bad \(name) '\(part)'") }
                    lo = a
                    hi = bounds.count == 2 ? bounds[1]! : (pieces.count == 2 ? range.upperBound : a)
                }
                guard range.contains(lo), range.contains(hi), lo <= hi else { throw PipelineError("cron '\(text)': \(name) '\(part)' outside \(range.lowerBound)–\(range.upperBound)") }
                out.formUnion(stride(from: lo, through: hi, by: step))
            }
            return out
        }
        minutes = try parse(fields[0], 0...59, "minute")
        hours = try parse(fields[1], 0...23, "hour")
        days = try parse(fields[2], 1...31, "day of month")
        months = try parse(fields[3], 1...12, "month")
        weekdays = Set(try parse(fields[4], 0...7, "day of week").map { $0 % 7 })
        dayRestricted = fields[2] != "*"
        weekdayRestricted = fields[4] != "*"
        description = text
    }

    static let utc: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    /// Whether the minute that `date` falls in is a scheduled one.
    public func matches(_ date: Date) -> Bool {
        let c = Self.utc.dateComponents([.minute, .hour, .day, .month, .weekday], from: date)
        guard minutes.contains(c.minute!), hours.contains(c.hour!), months.contains(c.month!) else { return false }
        let dayOK = days.contains(c.day!), weekdayOK = weekdays.contains(c.weekday! - 1)
        if dayRestricted && weekdayRestricted { return dayOK || weekdayOK }
        return dayOK && weekdayOK
    }

    /// Whether a scheduled minute starts in (after, through].
    public func due(after: Date, through: Date) -> Bool {
        var t = (after.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60
        var checked = 0
        while t <= through.timeIntervalSince1970 && checked < 60 * 24 * 366 {
            if matches(Date(timeIntervalSince1970: t)) { return true }
            t += 60
            checked += 1
        }
        return false
    }
}

/// What starts a pipeline under `lumen scheduler`: a cron schedule, a fixed interval, a new version of a
/// dataset, a registered model reference that resolves to another version (an alias moved, a version
/// registered), or an alert of a monitoring rule firing.
public enum PipelineTrigger: Sendable, Equatable, CustomStringConvertible {
    case cron(CronSchedule)
    case every(Double)
    case dataset(String)
    case model(String)
    case alert(String)

    public var description: String {
        switch self {
        case .cron(let c): "cron: \(c)"
        case .every(let s): "every: \(s)s"
        case .dataset(let d): "dataset: \(d)"
        case .model(let m): "model: \(m)"
        case .alert(let a): "alert: \(a)"
        }
    }

    /// A stable key for the trigger's state in the store.
    public var key: String { description }
}
