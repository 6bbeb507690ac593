import Foundation

/// NIfTI-1 and NIfTI-2 (`.nii`, `.nii.gz`), with scl_slope/scl_inter applied and the affine kept,
/// converted from NIfTI's RAS to `MedicalImage`'s LPS.
public enum NIfTIReader {
    /// True when `bytes` start with a NIfTI-1 or NIfTI-2 header (either byte order).
    public static func looksLikeNIfTI(_ b: [UInt8]) -> Bool {
        guard b.count >= 348 else { return false }
        let le = UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
        let be = le.byteSwapped
        if (le == 348 || be == 348) && (b[344...346].elementsEqual(Array("n+1".utf8)) || b[344...346].elementsEqual(Array("ni1".utf8))) { return true }
        if (le == 540 || be == 540) && b.count >= 540 && (b[4...6].elementsEqual(Array("n+2".utf8)) || b[4...6].elementsEqual(Array("ni2".utf8))) { return true }
        return false
    }

    public static func read(_ input: [UInt8], source: String) throws(ImagingError) -> MedicalImage {
        var bytes = input
        if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B {
            bytes = try Compression.inflate(bytes, limit: ImagingLimits.maxFileBytes, source: source)
        }
        guard looksLikeNIfTI(bytes) else {
            throw .unreadable(source: source, reason: bytes.count < 348 ? "too short for a NIfTI header (\(bytes.count) bytes)" : "no NIfTI-1/NIfTI-2 header (sizeof_hdr and magic)")
        }
        var h = Header(bytes: bytes)
        let two = h.i32(0) == 540 || h.i32(0).byteSwapped == 540
        if h.i32(0) != 348 && h.i32(0) != 540 { h.swap = true }

        let ndim: Int
        var dims = [Int](repeating: 1, count: 8)
        let datatype: Int
        var pixdim = [Double](repeating: 1, count: 8)
        let voxOffset: Int
        let slope: Double, inter: Double
        let qformCode: Int, sformCode: Int
        var quatern = [Double](repeating: 0, count: 6)
        var srow = [Double](repeating: 0, count: 12)
        if two {
            ndim = Int(h.i64(16))
            for i in 0..<8 { dims[i] = Int(h.i64(16 + 8 * i)) }
            datatype = Int(h.i16(12))
            for i in 0..<8 { pixdim[i] = h.f64(104 + 8 * i) }
            voxOffset = Int(clamping: h.i64(168))
            slope = h.f64(176)
            inter = h.f64(184)
            qformCode = Int(h.i32(344))
            sformCode = Int(h.i32(348))
            for i in 0..<6 { quatern[i] = h.f64(352 + 8 * i) }
            for i in 0..<12 { srow[i] = h.f64(400 + 8 * i) }
        } else {
            ndim = Int(h.i16(40))
            for i in 0..<8 { dims[i] = Int(h.i16(40 + 2 * i)) }
            datatype = Int(h.i16(70))
            for i in 0..<8 { pixdim[i] = Double(h.f32(76 + 4 * i)) }
            let offset = h.f32(108)
            voxOffset = offset.isFinite && abs(offset) < 1e12 ? Int(offset) : -1
            slope = Double(h.f32(112))
            inter = Double(h.f32(116))
            qformCode = Int(h.i16(252))
            sformCode = Int(h.i16(254))
            for i in 0..<6 { quatern[i] = Double(h.f32(256 + 4 * i)) }
            for i in 0..<12 { srow[i] = Double(h.f32(280 + 4 * i)) }
        }
        guard (1...7).contains(ndim) else { throw .unreadable(source: source, reason: "dim[0] is \(ndim); it must be 1 to 7") }
        for i in 1...ndim where dims[i] < 1 {
            throw .unreadable(source: source, reason: "dim[\(i)] is \(dims[i])")
        }
        let nx = dims[1], ny = ndim >= 2 ? dims[2] : 1
        var nz = 1
        if ndim >= 3 {
            for i in 3...ndim {
                let (p, overflow) = nz.multipliedReportingOverflow(by: dims[i])
                guard !overflow, p <= ImagingLimits.maxSamples else {
                    throw .tooLarge(source: source, reason: "dimensions \(dims[1...ndim].map(String.init).joined(separator: " x ")) exceed the limit of \(ImagingLimits.maxSamples) samples")
                }
                nz = p
            }
        }
        let (type, channels, size) = try sampleType(datatype, source: source)
        let (xy, o1) = nx.multipliedReportingOverflow(by: ny)
        let (total, o2) = xy.multipliedReportingOverflow(by: nz)
        guard !o1, !o2, total * channels <= ImagingLimits.maxSamples else {
            throw .tooLarge(source: source, reason: "dimensions \(dims[1...ndim].map(String.init).joined(separator: " x ")) exceed the limit of \(ImagingLimits.maxSamples) samples")
        }
        let start = max(voxOffset, two ? 544 : 352)
        let needed = total * channels * size
        guard voxOffset >= 0 || !two, start <= bytes.count, bytes.count - start >= needed else {
            throw .unreadable(source: source, reason: "the voxel data is truncated: \(max(0, bytes.count - start)) bytes after vox_offset \(start), \(needed) expected")
        }
        let raw = Array(bytes[start..<start + needed])
        let scaled = slope != 0 && slope.isFinite && !(slope == 1 && inter == 0)
        var image: MedicalImage
        if let direct = type, !scaled, !h.swap || direct == .uint8 {
            image = MedicalImage(width: nx, height: ny, depth: nz, channels: channels, pixelType: direct, data: raw, format: .nifti)
        } else {
            var values = decode(raw, datatype: datatype, count: total * channels, swap: h.swap)
            if scaled { for i in values.indices { values[i] = values[i] * slope + (inter.isFinite ? inter : 0) } }
            if scaled {
                image = MedicalImage(width: nx, height: ny, depth: nz, channels: channels, floats: values.map { Float($0) }, format: .nifti)
            } else {
                // Byte-swapped or without a direct type: exact (int8 widens to int16, 64-bit integers to float64).
                let target = type ?? (datatype == 256 ? .int16 : .float64)
                image = MedicalImage(width: nx, height: ny, depth: nz, channels: channels, pixelType: target,
                                     data: MedicalImage.encode(values, as: target), format: .nifti)
            }
        }
        image.format = .nifti
        // The affine maps voxels to RAS; MedicalImage keeps LPS (x and y negated).
        let affine = makeAffine(sformCode: sformCode, qformCode: qformCode, srow: srow, quatern: quatern, pixdim: pixdim)
        (image.spacing, image.origin, image.direction) = Geometry.fromRASAffine(affine, pixdim: Array(pixdim[1...3]))
        image.tags["Format"] = two ? "NIfTI-2" : "NIfTI-1"
        image.tags["datatype"] = String(datatype)
        image.tags["dim"] = dims[1...ndim].map(String.init).joined(separator: "x")
        image.tags["affine"] = affine.map { String($0) }.joined(separator: ",")  // as stored: RAS
        image.tags["scl_slope"] = String(slope)
        image.tags["scl_inter"] = String(inter)
        image.tags["qform_code"] = String(qformCode)
        image.tags["sform_code"] = String(sformCode)
        return image
    }

    /// (direct pixel type when one holds the values exactly, channels, bytes per channel sample).
    static func sampleType(_ datatype: Int, source: String) throws(ImagingError) -> (PixelType?, Int, Int) {
        switch datatype {
        case 2: return (.uint8, 1, 1)
        case 4: return (.int16, 1, 2)
        case 512: return (.uint16, 1, 2)
        case 8: return (.int32, 1, 4)
        case 768: return (.uint32, 1, 4)
        case 16: return (.float32, 1, 4)
        case 64: return (.float64, 1, 8)
        case 256: return (nil, 1, 1)
        case 1024, 1280: return (nil, 1, 8)
        case 128: return (.uint8, 3, 1)
        case 2304: return (.uint8, 4, 1)
        default: throw .unsupportedFormat(source: source, reason: "NIfTI datatype \(datatype) (complex or unknown) is not supported")
        }
    }

    static func decode(_ raw: [UInt8], datatype: Int, count: Int, swap: Bool) -> [Double] {
        raw.withUnsafeBytes { p -> [Double] in
            func load<T: FixedWidthInteger>(_: T.Type) -> [Double] {
                (0..<count).map { i in
                    let v = p.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
                    return Double(swap ? v.byteSwapped : v)
                }
            }
            switch datatype {
            case 2, 128, 2304: return load(UInt8.self)
            case 256: return load(Int8.self)
            case 4: return load(Int16.self)
            case 512: return load(UInt16.self)
            case 8: return load(Int32.self)
            case 768: return load(UInt32.self)
            case 1024: return load(Int64.self)
            case 1280: return load(UInt64.self)
            case 16:
                return (0..<count).map { i in
                    let bits = p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                    return Double(Float(bitPattern: swap ? bits.byteSwapped : bits))
                }
            default:
                return (0..<count).map { i in
                    let bits = p.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                    return Double(bitPattern: swap ? bits.byteSwapped : bits)
                }
            }
        }
    }

    /// The voxel-to-world affine (row-major 4 × 4), as nibabel chooses it: sform, else qform, else scaling.
    static func makeAffine(sformCode: Int, qformCode: Int, srow: [Double], quatern: [Double], pixdim: [Double]) -> [Double] {
        if sformCode > 0 { return srow + [0, 0, 0, 1] }
        if qformCode > 0 {
            let (b, c, d) = (quatern[0], quatern[1], quatern[2])
            let a = max(0, 1 - (b * b + c * c + d * d)).squareRoot()
            let qfac = pixdim[0] < 0 ? -1.0 : 1.0
            let r = [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c),
                     2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b),
                     2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b]
            let s = [pixdim[1], pixdim[2], pixdim[3] * qfac]
            var m = [Double](repeating: 0, count: 16)
            for row in 0..<3 {
                for col in 0..<3 { m[row * 4 + col] = r[row * 3 + col] * s[col] }
                m[row * 4 + 3] = quatern[3 + row]
            }
            m[15] = 1
            return m
        }
        return [pixdim[1], 0, 0, 0, 0, pixdim[2], 0, 0, 0, 0, pixdim[3], 0, 0, 0, 0, 1]
    }

    /// Reads header fields in either byte order.
    struct Header {
        let bytes: [UInt8]
        var swap = false
        func raw<T: FixedWidthInteger>(_ o: Int, _: T.Type) -> T {
            guard o + MemoryLayout<T>.size <= bytes.count else { return 0 }
            let v = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: o, as: T.self) }
            return swap ? v.byteSwapped : v
        }
        func i16(_ o: Int) -> Int16 { raw(o, Int16.self) }
        func i32(_ o: Int) -> Int32 { raw(o, Int32.self) }
        func i64(_ o: Int) -> Int64 { raw(o, Int64.self) }
        func f32(_ o: Int) -> Float { Float(bitPattern: raw(o, UInt32.self)) }
        func f64(_ o: Int) -> Double { Double(bitPattern: raw(o, UInt64.self)) }
    }
}
