import CImaging
import Foundation

/// A float32 image being transformed: height × width × channels, interleaved. Transforms work on
/// planes so that training, evaluation and serving share one code path.
public struct Plane: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var values: [Float]

    public init(width: Int, height: Int, channels: Int, values: [Float]) {
        precondition(values.count == width * height * channels, "plane size does not match its values")
        self.width = width
        self.height = height
        self.channels = channels
        self.values = values
    }

    /// The plane of a 2-D image (or of slice `slice` of a volume).
    public init(_ image: MedicalImage, slice: Int = 0) throws(ImagingError) {
        let plane = image.depth > 1 ? try image.slice(slice) : image
        self.init(width: plane.width, height: plane.height, channels: plane.channels, values: plane.floats())
    }

    /// Values in channel-first order (C × H × W), as a tensor wants them.
    public func channelsFirst() -> [Float] {
        if channels == 1 { return values }
        var out = [Float](repeating: 0, count: values.count)
        let n = width * height
        for i in 0..<n { for c in 0..<channels { out[c * n + i] = values[i * channels + c] } }
        return out
    }

    func resized(_ w: Int, _ h: Int, interpolation: Int32) throws(ImagingError) -> Plane {
        if w == width && h == height { return self }
        var out = [Float](repeating: 0, count: w * h * channels)
        try Native.call({ .invalidArgument("resize: \($0)") }) { err in
            values.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    ci_resize(src.baseAddress, Int32(width), Int32(height), Int32(channels), dst.baseAddress, Int32(w), Int32(h), interpolation, err)
                }
            }
        }
        return Plane(width: w, height: h, channels: channels, values: out)
    }

    /// Warps with the 2 × 3 forward matrix `m` into a `w` × `h` plane.
    func warped(_ m: [Double], _ w: Int, _ h: Int, interpolation: Int32, border: Int32 = Int32(CI_BORDER_CONSTANT), fill: Float = 0) throws(ImagingError) -> Plane {
        var out = [Float](repeating: 0, count: w * h * channels)
        try Native.call({ .invalidArgument("warp: \($0)") }) { err in
            values.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    m.withUnsafeBufferPointer { mp in
                        ci_warp_affine(src.baseAddress, Int32(width), Int32(height), Int32(channels), mp.baseAddress, dst.baseAddress, Int32(w), Int32(h), interpolation, border, fill, err)
                    }
                }
            }
        }
        return Plane(width: w, height: h, channels: channels, values: out)
    }

    func remapped(_ mx: [Float], _ my: [Float], interpolation: Int32) throws(ImagingError) -> Plane {
        var out = [Float](repeating: 0, count: values.count)
        try Native.call({ .invalidArgument("elastic: \($0)") }) { err in
            values.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    mx.withUnsafeBufferPointer { x in
                        my.withUnsafeBufferPointer { y in
                            ci_remap(src.baseAddress, Int32(width), Int32(height), Int32(channels), x.baseAddress, y.baseAddress, dst.baseAddress, interpolation, Int32(CI_BORDER_REFLECT), err)
                        }
                    }
                }
            }
        }
        return Plane(width: width, height: height, channels: channels, values: out)
    }

    func blurred(_ sigma: Double) throws(ImagingError) -> Plane {
        guard sigma > 0 else { return self }
        var out = [Float](repeating: 0, count: values.count)
        try Native.call({ .invalidArgument("blur: \($0)") }) { err in
            values.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { ci_gaussian_blur(src.baseAddress, Int32(width), Int32(height), Int32(channels), sigma, $0.baseAddress, err) }
            }
        }
        return Plane(width: width, height: height, channels: channels, values: out)
    }

    func equalized(clip: Double, tiles: Int) throws(ImagingError) -> Plane {
        var out = [Float](repeating: 0, count: values.count)
        try Native.call({ .invalidArgument("CLAHE: \($0)") }) { err in
            values.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { ci_clahe(src.baseAddress, Int32(width), Int32(height), Int32(channels), clip, Int32(tiles), $0.baseAddress, err) }
            }
        }
        return Plane(width: width, height: height, channels: channels, values: out)
    }
}
