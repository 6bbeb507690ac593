import CImaging
import Foundation

/// PNG (8/16-bit), JPEG, BMP, WebP and TIFF through OpenCV, keeping bit depth and channels (RGB order).
public enum RasterReader {
    public static func read(_ bytes: [UInt8], format: ImageFormat, source: String) throws(ImagingError) -> MedicalImage {
        _ = ImagingLimits.installDefault
        if let (w, h) = declaredSize(bytes, format: format), w * h > ImagingLimits.maxSamples {
            throw .tooLarge(source: source, reason: "the header declares \(w) x \(h) pixels, more than the limit of \(ImagingLimits.maxSamples)")
        }
        var pixels = ci_pixels()
        try Native.call(Native.readError(source)) { err in
            bytes.withUnsafeBufferPointer { ci_raster_decode($0.baseAddress, Int64($0.count), &pixels, err) }
        }
        return image(pixels, format: format)
    }

    /// Every page of a TIFF file, as the slices of a volume.
    public static func readPages(path: String, source: String) throws(ImagingError) -> MedicalImage {
        _ = ImagingLimits.installDefault
        var pixels = ci_pixels()
        try Native.call(Native.readError(source)) { err in ci_raster_read_pages(path, &pixels, err) }
        return image(pixels, format: .tiff)
    }

    static func image(_ pixels: ci_pixels, format: ImageFormat) -> MedicalImage {
        let (type, data) = Native.takePixels(pixels)
        var image = MedicalImage(width: Int(pixels.width), height: Int(pixels.height), depth: Int(pixels.frames),
                                 channels: Int(pixels.channels), pixelType: type, data: data, format: format)
        image.tags["Format"] = format.rawValue
        return image
    }

    /// Width and height from a PNG, BMP or JPEG header, checked before OpenCV allocates anything.
    static func declaredSize(_ b: [UInt8], format: ImageFormat) -> (Int, Int)? {
        func be32(_ o: Int) -> Int { b.count >= o + 4 ? Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) : 0 }
        func le32(_ o: Int) -> Int { b.count >= o + 4 ? Int(Int32(bitPattern: UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24)) : 0 }
        switch format {
        case .png where b.count >= 24: return (be32(16), be32(20))
        case .bmp where b.count >= 26: return (abs(le32(18)), abs(le32(22)))
        case .jpeg:
            var i = 2
            while i + 9 < b.count {
                guard b[i] == 0xFF else { return nil }
                let marker = b[i + 1]
                let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
                if (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
                    return (Int(b[i + 7]) << 8 | Int(b[i + 8]), Int(b[i + 5]) << 8 | Int(b[i + 6]))
                }
                i += 2 + length
            }
            return nil
        case .tiff where b.count >= 8:
            // The first IFD's ImageWidth (256) and ImageLength (257), classic TIFF in either byte order.
            let little = b[0] == 0x49
            func u16(_ o: Int) -> Int { o + 2 <= b.count ? (little ? Int(b[o]) | Int(b[o + 1]) << 8 : Int(b[o]) << 8 | Int(b[o + 1])) : 0 }
            func u32(_ o: Int) -> Int { o + 4 <= b.count ? (little ? u16(o) | u16(o + 2) << 16 : u16(o) << 16 | u16(o + 2)) : 0 }
            guard u16(2) == 42 else { return nil }
            let ifd = u32(4)
            let count = u16(ifd)
            var w = 0, h = 0
            for k in 0..<min(count, 512) {
                let e = ifd + 2 + 12 * k
                guard e + 12 <= b.count else { break }
                let tag = u16(e), type = u16(e + 2)
                let value = type == 3 ? u16(e + 8) : u32(e + 8)
                if tag == 256 { w = value } else if tag == 257 { h = value }
            }
            return w > 0 && h > 0 ? (w, h) : nil
        default: return nil
        }
    }
}
