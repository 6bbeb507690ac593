import CImaging
import Foundation

/// A DICOM attribute tag (group, element).
public struct DICOMTag: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let group: UInt16
    public let element: UInt16

    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    /// Parses "gggg,eeee" (hexadecimal).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ",")
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 4,
              let g = UInt16(parts[0], radix: 16), let e = UInt16(parts[1], radix: 16) else { return nil }
        self.init(g, e)
    }

    /// Odd groups hold private (vendor) attributes.
    public var isPrivate: Bool { group & 1 == 1 }

    /// "gggg,eeee", as element paths spell it.
    public var description: String { String(format: "%04x,%04x", group, element) }

    public static func < (a: DICOMTag, b: DICOMTag) -> Bool { (a.group, a.element) < (b.group, b.element) }
}

/// One element of a data set, as `DICOMDataSet.elements()` lists it.
public struct DICOMElement: Sendable, Equatable {
    /// What the element holds.
    public enum Content: Sendable, Equatable {
        /// A text value (numbers as text; several values joined by `\`).
        case text(String)
        /// A sequence of this many items.
        case sequence(items: Int)
        /// Binary data (OB, OW, UN, …) of this many bytes.
        case binary(bytes: Int)
    }

    /// Where the element is: "0010,0020", or "0008,1140[0]/0008,1155" inside item 0 of a sequence.
    public let path: String
    public let tag: DICOMTag
    /// The dictionary keyword ("PatientID"), or "Unknown…"/"PrivateCreator" for tags the dictionary lacks.
    public let keyword: String
    /// The value representation ("LO", "SQ", …).
    public let vr: String
    public let content: Content

    /// The text value, if the element has one.
    public var value: String? { if case .text(let text) = content { text } else { nil } }
    /// True for an element of the file meta information (group 0002).
    public var isMeta: Bool { tag.group == 0x0002 }
    /// The keyword path a person reads ("ReferencedImageSequence[0].ReferencedSOPInstanceUID");
    /// private and unknown tags by number.
    public var name: String { readableName }
    var readableName: String
}

/// An editable DICOM file: every element listed (sequences recursed), elements set or removed by path,
/// the result written back. DCMTK only parses and writes; what changes is decided by the caller.
public final class DICOMDataSet {
    let handle: OpaquePointer
    public let source: String

    /// Parses a Part-10 file or a bare data set.
    public init(_ bytes: [UInt8], source: String) throws(ImagingError) {
        var err = ci_error()
        let opened = bytes.withUnsafeBufferPointer { ci_dicom_open($0.baseAddress, Int64($0.count), &err) }
        guard let opened, err.failed == 0 else { throw .unreadable(source: source, reason: Native.message(err)) }
        handle = opened
        self.source = source
    }

    deinit { ci_dicom_free(handle) }

    /// Every element, file meta information first, each sequence followed by its items' elements.
    public func elements() throws(ImagingError) -> [DICOMElement] {
        var err = ci_error()
        guard let text = ci_dicom_elements(handle, &err), err.failed == 0 else {
            throw .unreadable(source: source, reason: Native.message(err))
        }
        defer { ci_free(text) }
        var out: [DICOMElement] = []
        var names: [String: String] = [:]  // path → readable name, for the names of nested elements
        let listing = Array(UnsafeBufferPointer(start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: strlen(text)))
        for line in listing.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: "\t"), maxSplits: 4, omittingEmptySubsequences: false)
            guard fields.count == 5 else { continue }
            let path = String(decoding: fields[0], as: UTF8.self)
            let keyword = String(decoding: fields[1], as: UTF8.self)
            let last = path.split(separator: "/").last.map { $0.split(separator: "[").first.map(String.init) ?? "" } ?? path
            guard let tag = DICOMTag(last) else { continue }
            let value = Self.unescape(fields[4])
            let content: DICOMElement.Content
            switch fields[3].first ?? 0 {
            case UInt8(ascii: "S"): content = .sequence(items: Int(value) ?? 0)
            case UInt8(ascii: "B"): content = .binary(bytes: Int(value) ?? 0)
            default: content = .text(value)
            }
            let own = tag.isPrivate || keyword.hasPrefix("Unknown") || keyword.isEmpty ? "(\(tag))" : keyword
            var name = own
            if let slash = path.lastIndex(of: "/") {
                let parentItem = path[..<slash]  // "…/gggg,eeee[i]"
                if let bracket = parentItem.lastIndex(of: "["), let parent = names[String(parentItem[..<bracket])] {
                    name = parent + parentItem[bracket...] + "." + own
                }
            }
            names[path] = name
            out.append(DICOMElement(path: path, tag: tag, keyword: keyword, vr: String(decoding: fields[2], as: UTF8.self), content: content, readableName: name))
        }
        return out
    }

    /// Sets the text value at `path`, creating the element (and the sequences and items on its way: an
    /// index equal to the item count appends one) when missing. `vr` is needed only for tags the DICOM
    /// dictionary does not know (private ones). An empty value on a sequence removes its items.
    public func set(_ path: String, to value: String, vr: String? = nil) throws(ImagingError) {
        try Native.call({ .invalidArgument("\(self.source): cannot set \(path): \($0)") }) { err in
            ci_dicom_put(handle, path, vr ?? "", value, err)
        }
    }

    /// Removes the element at `path` (a sequence with its items); false when there was none.
    @discardableResult
    public func remove(_ path: String) throws(ImagingError) -> Bool {
        var err = ci_error()
        let status = ci_dicom_delete(handle, path, &err)
        if status < 0 || err.failed != 0 { throw .invalidArgument("\(source): cannot remove \(path): \(Native.message(err))") }
        return status == 1
    }

    /// The file as Part 10, in its original transfer syntax, its meta information updated.
    public func encoded() throws(ImagingError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var length: Int64 = 0
        try Native.call({ .unreadable(source: self.source, reason: "cannot write: \($0)") }) { err in
            ci_dicom_save(handle, &out, &length, err)
        }
        return Native.take(out, length)
    }

    /// Undoes the bridge's %XX escapes.
    static func unescape(_ bytes: ArraySlice<UInt8>) -> String {
        guard bytes.contains(UInt8(ascii: "%")) else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.endIndex,
               let v = UInt8(String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out.append(v)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
