import CImaging
import Foundation

extension Transform {
    /// Applies this step to `s`.
    func apply(_ s: Sample, rng: inout SeededGenerator) throws(ImagingError) -> Sample {
        var s = s
        let linear = Int32(CI_LINEAR), nearest = Int32(CI_NEAREST)
        switch self {
        case .resize(let w, let h, let keepAspect, let pad):
            guard w > 0, h > 0 else { throw .invalidArgument("resize: size must be positive, got \(w) x \(h)") }
            if !keepAspect {
                let interp = (w < s.image.width && h < s.image.height) ? Int32(CI_AREA) : linear
                s.image = try s.image.resized(w, h, interpolation: interp)
                s.mask = try s.mask?.resized(w, h, interpolation: nearest)
            } else {
                let scale = min(Double(w) / Double(s.image.width), Double(h) / Double(s.image.height))
                let dx = (Double(w) - Double(s.image.width) * scale) / 2, dy = (Double(h) - Double(s.image.height) * scale) / 2
                let m = [scale, 0, dx, 0, scale, dy]
                s.image = try s.image.warped(m, w, h, interpolation: linear, fill: pad)
                s.mask = try s.mask?.warped(m, w, h, interpolation: nearest)
            }
        case .centerCrop(let w, let h):
            let x = (s.image.width - w) / 2, y = (s.image.height - h) / 2
            s = try crop(s, x: x, y: y, w: w, h: h)
        case .randomCrop(let w, let h):
            let x = s.image.width > w ? Int.random(in: 0...(s.image.width - w), using: &rng) : (s.image.width - w) / 2
            let y = s.image.height > h ? Int.random(in: 0...(s.image.height - h), using: &rng) : (s.image.height - h) / 2
            s = try crop(s, x: x, y: y, w: w, h: h)
        case .horizontalFlip(let p):
            if rng.chance(p) {
                s.image = flip(s.image, horizontal: true)
                s.mask = s.mask.map { flip($0, horizontal: true) }
            }
        case .verticalFlip(let p):
            if rng.chance(p) {
                s.image = flip(s.image, horizontal: false)
                s.mask = s.mask.map { flip($0, horizontal: false) }
            }
        case .rotate(let degrees, let p):
            if rng.chance(p) {
                s = try warp(s, angle: rng.uniform(-degrees, degrees), scale: 1, tx: 0, ty: 0, shear: 0)
            }
        case .affine(let degrees, let translate, let smin, let smax, let shear, let p):
            if rng.chance(p) {
                let angle = rng.uniform(-degrees, degrees)
                let tx = rng.uniform(-translate, translate) * Double(s.image.width)
                let ty = rng.uniform(-translate, translate) * Double(s.image.height)
                let scale = rng.uniform(smin, smax)
                let sh = rng.uniform(-shear, shear)
                s = try warp(s, angle: angle, scale: scale, tx: tx, ty: ty, shear: sh)
            }
        case .elastic(let alpha, let sigma, let p):
            if rng.chance(p) {
                let n = s.image.width * s.image.height
                var dx = Plane(width: s.image.width, height: s.image.height, channels: 1, values: (0..<n).map { _ in Float(rng.uniform(-1, 1)) })
                var dy = Plane(width: s.image.width, height: s.image.height, channels: 1, values: (0..<n).map { _ in Float(rng.uniform(-1, 1)) })
                dx = try dx.blurred(sigma)
                dy = try dy.blurred(sigma)
                // Smoothed fields have a small amplitude; rescale so `alpha` is the largest displacement.
                let peak = max(dx.values.map(abs).max() ?? 1, dy.values.map(abs).max() ?? 1, 1e-6)
                var mx = [Float](repeating: 0, count: n), my = [Float](repeating: 0, count: n)
                for y in 0..<s.image.height {
                    for x in 0..<s.image.width {
                        let i = y * s.image.width + x
                        mx[i] = Float(x) + dx.values[i] / peak * Float(alpha)
                        my[i] = Float(y) + dy.values[i] / peak * Float(alpha)
                    }
                }
                s.image = try s.image.remapped(mx, my, interpolation: linear)
                s.mask = try s.mask?.remapped(mx, my, interpolation: nearest)
            }
        case .window(let center, let width):
            guard width > 0 else { throw .invalidArgument("window: width must be positive") }
            let w = Window(center: center, width: width)
            s.image.values = s.image.values.map { w.apply($0) }
        case .windowPreset(let preset):
            let w = preset.window
            s.image.values = s.image.values.map { w.apply($0) }
        case .normalize(let mode):
            s.image = try normalize(s.image, mode)
        case .gamma(let lo, let hi, let p):
            if rng.chance(p) {
                let g = Float(rng.uniform(lo, hi))
                let (mn, mx) = range(s.image.values)
                let span = mx > mn ? mx - mn : 1
                s.image.values = s.image.values.map { mn + span * pow(max(($0 - mn) / span, 0), g) }
            }
        case .brightness(let delta, let p):
            if rng.chance(p) {
                let (mn, mx) = range(s.image.values)
                let shift = Float(rng.uniform(-delta, delta)) * (mx > mn ? mx - mn : 1)
                s.image.values = s.image.values.map { $0 + shift }
            }
        case .contrast(let lo, let hi, let p):
            if rng.chance(p) {
                let f = Float(rng.uniform(lo, hi))
                let mean = s.image.values.reduce(0, +) / Float(max(s.image.values.count, 1))
                s.image.values = s.image.values.map { mean + ($0 - mean) * f }
            }
        case .gaussianNoise(let std, let p):
            if rng.chance(p) {
                let (mn, mx) = range(s.image.values)
                let scale = Float(std) * (mx > mn ? mx - mn : 1)
                for i in s.image.values.indices { s.image.values[i] += Float(rng.gaussian()) * scale }
            }
        case .gaussianBlur(let lo, let hi, let p):
            if rng.chance(p) { s.image = try s.image.blurred(rng.uniform(lo, hi)) }
        case .clahe(let clip, let tiles):
            guard tiles > 0, clip > 0 else { throw .invalidArgument("clahe: clipLimit and tiles must be positive") }
            s.image = try s.image.equalized(clip: clip, tiles: tiles)
        case .channels(let count):
            s.image = try convertChannels(s.image, to: count)
        }
        return s
    }

    private func crop(_ s: Sample, x: Int, y: Int, w: Int, h: Int) throws(ImagingError) -> Sample {
        guard w > 0, h > 0 else { throw .invalidArgument("crop: size must be positive, got \(w) x \(h)") }
        let m = [1, 0, Double(-x), 0, 1, Double(-y)]
        var out = s
        out.image = try s.image.warped(m, w, h, interpolation: Int32(CI_NEAREST))
        out.mask = try s.mask?.warped(m, w, h, interpolation: Int32(CI_NEAREST))
        return out
    }

    private func warp(_ s: Sample, angle: Double, scale: Double, tx: Double, ty: Double, shear: Double) throws(ImagingError) -> Sample {
        let cx = Double(s.image.width - 1) / 2, cy = Double(s.image.height - 1) / 2
        let a = angle * .pi / 180, sh = shear * .pi / 180
        // M = T(centre + t) · R(a) · Sh(shear) · S(scale) · T(−centre)
        let r = [cos(a), -sin(a), sin(a), cos(a)]
        let k = [1, tan(sh), 0, 1]
        let rk = [r[0] * k[0] + r[1] * k[2], r[0] * k[1] + r[1] * k[3], r[2] * k[0] + r[3] * k[2], r[2] * k[1] + r[3] * k[3]].map { $0 * scale }
        let m = [rk[0], rk[1], cx + tx - rk[0] * cx - rk[1] * cy, rk[2], rk[3], cy + ty - rk[2] * cx - rk[3] * cy]
        var out = s
        out.image = try s.image.warped(m, s.image.width, s.image.height, interpolation: Int32(CI_LINEAR), border: Int32(CI_BORDER_REFLECT))
        out.mask = try s.mask?.warped(m, s.image.width, s.image.height, interpolation: Int32(CI_NEAREST))
        return out
    }

    private func flip(_ p: Plane, horizontal: Bool) -> Plane {
        var out = p
        for y in 0..<p.height {
            for x in 0..<p.width {
                let (sx, sy) = horizontal ? (p.width - 1 - x, y) : (x, p.height - 1 - y)
                for c in 0..<p.channels { out.values[(y * p.width + x) * p.channels + c] = p.values[(sy * p.width + sx) * p.channels + c] }
            }
        }
        return out
    }

    private func range(_ v: [Float]) -> (Float, Float) {
        var lo = Float.infinity, hi = -Float.infinity
        for x in v { lo = min(lo, x); hi = max(hi, x) }
        return lo <= hi ? (lo, hi) : (0, 0)
    }

    private func normalize(_ p: Plane, _ mode: Normalization) throws(ImagingError) -> Plane {
        var out = p
        switch mode {
        case .zscore:
            let n = Double(max(p.values.count, 1))
            let mean = p.values.reduce(0.0) { $0 + Double($1) } / n
            let variance = p.values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
            let std = max(variance.squareRoot(), 1e-8)
            out.values = p.values.map { Float((Double($0) - mean) / std) }
        case .minMax:
            let (lo, hi) = range(p.values)
            let span = hi > lo ? hi - lo : 1
            out.values = p.values.map { ($0 - lo) / span }
        case .percentile(let low, let high):
            guard low >= 0, high <= 100, low < high else { throw .invalidArgument("normalize: percentiles must satisfy 0 ≤ low < high ≤ 100") }
            let sorted = p.values.sorted()
            func at(_ q: Double) -> Float { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((q / 100 * Double(sorted.count - 1)).rounded()))] }
            let lo = at(low), hi = at(high), span = hi > lo ? hi - lo : 1
            out.values = p.values.map { min(max(($0 - lo) / span, 0), 1) }
        case .fixed(let mean, let std):
            guard mean.count == p.channels || mean.count == 1, std.count == mean.count, std.allSatisfy({ $0 > 0 }) else {
                throw .invalidArgument("normalize: \(mean.count) means and \(std.count) stds for \(p.channels) channels (std must be positive)")
            }
            for i in out.values.indices {
                let c = mean.count == 1 ? 0 : i % p.channels
                out.values[i] = Float((Double(p.values[i]) - mean[c]) / std[c])
            }
        }
        return out
    }

    private func convertChannels(_ p: Plane, to count: Int) throws(ImagingError) -> Plane {
        if p.channels == count { return p }
        let n = p.width * p.height
        if p.channels == 1 {
            var values = [Float](repeating: 0, count: n * count)
            for i in 0..<n { for c in 0..<count { values[i * count + c] = p.values[i] } }
            return Plane(width: p.width, height: p.height, channels: count, values: values)
        }
        if count == 1 && p.channels >= 3 {
            let values = (0..<n).map { i in 0.299 * p.values[i * p.channels] + 0.587 * p.values[i * p.channels + 1] + 0.114 * p.values[i * p.channels + 2] }
            return Plane(width: p.width, height: p.height, channels: 1, values: values)
        }
        if count == 3 && p.channels == 4 {
            let values = (0..<n).flatMap { i in (0..<3).map { p.values[i * 4 + $0] } }
            return Plane(width: p.width, height: p.height, channels: 3, values: values)
        }
        throw .invalidArgument("channels: cannot convert \(p.channels) channels to \(count)")
    }
}
