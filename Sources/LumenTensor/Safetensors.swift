import Foundation
import CTorch

/// Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header of
/// `name: {dtype, shape, data_offsets}`, then the raw little-endian buffers), so weights move between
/// Lumen and PyTorch (`safetensors.torch.save_file` / `load_file`).
public enum Safetensors {
    /// Largest header accepted: a bigger one is a corrupt or hostile file, not a checkpoint.
    public static let maxHeaderBytes = 100 * 1024 * 1024

    /// Decodes a safetensors byte buffer into named tensors (and the header's `__metadata__`).
    public static func decode(_ data: Data, source: String = "<memory>") throws(LumenError) -> (tensors: [String: Tensor], metadata: [String: String]) {
        let file = try File(data, source: source)
        var tensors: [String: Tensor] = [:]
        for name in file.entries.keys { tensors[name] = try file.tensor(name) }
        return (tensors, file.metadata)
    }

    /// A safetensors buffer with its header checked and its tensors copied out one at a time on request, so
    /// that loading a checkpoint into a network never holds a second copy of all of it.
    public struct File {
        /// Where one tensor's bytes lie in the buffer.
        public struct Entry: Sendable, Equatable {
            public var dtype: DType
            public var shape: [Int]
            public var count: Int { shape.reduce(1, *) }
            let range: Range<Int>
        }

        public let entries: [String: Entry]
        public let metadata: [String: String]
        let data: Data
        let source: String

        /// Checks the header and every entry's offsets against the buffer (nothing is copied yet).
        public init(_ data: Data, source: String = "<memory>") throws(LumenError) {
            guard data.count >= 8 else { throw .file(path: source, reason: "too short for a safetensors file (\(data.count) bytes)") }
            let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            guard headerLength <= UInt64(maxHeaderBytes), Int(headerLength) <= data.count - 8 else {
                throw .file(path: source, reason: "header length \(headerLength) exceeds the file (\(data.count) bytes)")
            }
            let headerEnd = 8 + Int(headerLength)
            let headerData = data.subdata(in: data.startIndex + 8 ..< data.startIndex + headerEnd)
            guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
                throw .file(path: source, reason: "header is not a JSON object")
            }
            let payload = data.count - headerEnd
            var entries: [String: Entry] = [:]
            var metadata: [String: String] = [:]
            for (name, value) in header {
                if name == "__metadata__" {
                    for (k, v) in (value as? [String: Any]) ?? [:] { metadata[k] = v as? String ?? "\(v)" }
                    continue
                }
                guard let entry = value as? [String: Any],
                      let dtypeName = entry["dtype"] as? String,
                      let shape = (entry["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                      let offsets = (entry["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                      offsets.count == 2 else {
                    throw .file(path: source, reason: "tensor '\(name)': entry needs dtype, shape and data_offsets")
                }
                guard let dtype = DType(safetensorsName: dtypeName) else {
                    throw .file(path: source, reason: "tensor '\(name)': unsupported dtype \(dtypeName)")
                }
                guard shape.allSatisfy({ $0 >= 0 }) else { throw .file(path: source, reason: "tensor '\(name)': negative dimension in \(shape)") }
                let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                    let (m, o) = acc.0.multipliedReportingOverflow(by: d)
                    return (m, acc.1 || o)
                }
                let (begin, end) = (offsets[0], offsets[1])
                guard !overflow, begin >= 0, begin <= end, end <= payload, end - begin == elements * dtype.byteSize else {
                    throw .file(path: source, reason: "tensor '\(name)': offsets \(offsets) do not match shape \(shape) × \(dtype.byteSize) bytes within \(payload) bytes")
                }
                entries[name] = Entry(dtype: dtype, shape: shape, range: (headerEnd + begin) ..< (headerEnd + end))
            }
            self.entries = entries
            self.metadata = metadata
            self.data = data
            self.source = source
        }

        /// Memory-maps a `.safetensors` file and checks its header.
        public init(contentsOf url: URL) throws(LumenError) {
            let data: Data
            do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
                throw .file(path: url.path, reason: "cannot read: \(error.localizedDescription)")
            }
            try self.init(data, source: url.path)
        }

        /// One tensor, copied out of the buffer.
        public func tensor(_ name: String) throws(LumenError) -> Tensor {
            guard let entry = entries[name] else { throw .file(path: source, reason: "no tensor '\(name)'") }
            let slice = data[(data.startIndex + entry.range.lowerBound) ..< (data.startIndex + entry.range.upperBound)]
            let made = slice.withUnsafeBytes { raw in
                Result { () throws(LumenError) -> Tensor in try Tensor(bytes: raw, shape: entry.shape, dtype: entry.dtype) }
            }
            return try made.get()
        }
    }

    /// Reads a `.safetensors` file.
    public static func load(_ url: URL) throws(LumenError) -> [String: Tensor] {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw .file(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, source: url.path).tensors
    }

    /// Encodes tensors (sorted by name, 8-byte aligned header as the reference writer does).
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws(LumenError) -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var buffers: [Data] = []
        var offset = 0
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            let bytes = try hostBytes(tensor)
            header[name] = ["dtype": tensor.dtype.safetensorsName, "shape": tensor.shape, "data_offsets": [offset, offset + bytes.count]] as [String: Any]
            offset += bytes.count
            buffers.append(bytes)
        }
        guard var json = try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]) else {
            throw .invalidArgument(field: "safetensors header", reason: "cannot be encoded as JSON")
        }
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for b in buffers { out.append(b) }
        return out
    }

    /// Writes a `.safetensors` file atomically (a crash never leaves half a checkpoint).
    public static func save(_ tensors: [String: Tensor], to url: URL, metadata: [String: String] = [:]) throws(LumenError) {
        let data = try encode(tensors, metadata: metadata)
        do { try data.write(to: url, options: .atomic) } catch {
            throw .file(path: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    private static func hostBytes(_ tensor: Tensor) throws(LumenError) -> Data {
        switch tensor.dtype {
        case .float32: return try tensor.floats().withUnsafeBytes { Data($0) }
        case .float64: return try tensor.doubles().withUnsafeBytes { Data($0) }
        case .int64: return try tensor.int64s().withUnsafeBytes { Data($0) }
        case .uint8: return Data(try tensor.uint8s())
        case .bool: return Data(try tensor.bools().map { $0 ? 1 : 0 })
        case .int32, .float16, .bfloat16:
            // Same-width raw copy through the bridge: no value conversion.
            let n = tensor.count * tensor.dtype.byteSize
            var data = Data(count: n)
            let source = try tensor.to(device: .cpu)
            let copied = data.withUnsafeMutableBytes { raw in
                Result { () throws(LumenError) -> Int32 in
                    try torchCall("copy to host") { lm_tensor_copy_to_host(source.handle, raw.baseAddress, Int64(n), $0) }
                }
            }
            _ = try copied.get()
            return data
        }
    }
}
