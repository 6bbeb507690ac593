import Foundation

extension DeIdentifier {
    /// Moves every date of a DA or DT value by `days`: the YYYYMMDD at the start of each value (and, for
    /// DA, of each end of a range), the rest (time, zone) kept. A value that is not a valid date is emptied.
    static func shiftDates(_ value: String, days: Int, vr: String) -> String {
        value.split(separator: "\\", omittingEmptySubsequences: false).map { part -> String in
            let text = part.trimmingCharacters(in: .whitespaces)
            if vr == "DA" && text.contains("-") {
                return text.split(separator: "-", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : shiftOne(String($0), days: days) }.joined(separator: "-")
            }
            return text.isEmpty ? "" : shiftOne(text, days: days)
        }.joined(separator: "\\")
    }

    static func shiftOne(_ text: String, days: Int) -> String {
        let chars = Array(text.utf8)
        guard chars.count >= 8, chars.prefix(8).allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return "" }
        let digits = chars.prefix(8).map { Int($0) - 48 }
        let y = digits[0...3].reduce(0) { $0 * 10 + $1 }, m = digits[4] * 10 + digits[5], d = digits[6] * 10 + digits[7]
        guard (1...12).contains(m), (1...daysIn(month: m, year: y)).contains(d) else { return "" }
        let (yy, mm, dd) = civil(fromDays: daysFromCivil(y, m, d) + days)
        guard (0...9999).contains(yy) else { return "" }
        return String(format: "%04d%02d%02d", yy, mm, dd) + String(decoding: chars.dropFirst(8), as: UTF8.self)
    }

    static func daysIn(month m: Int, year y: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ year: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
