import CImaging
import Foundation

/// An image (and its mask, for segmentation) on its way through a transform pipeline.
public struct Sample: Sendable {
    public var image: Plane
    public var mask: Plane?
    public init(image: Plane, mask: Plane? = nil) {
        self.image = image
        self.mask = mask
    }
}

/// Normalisation of intensities.
public enum Normalization: Codable, Sendable, Equatable {
    /// (x − mean) / std over the image.
    case zscore
    /// (x − min) / (max − min) over the image.
    case minMax
    /// Clipped to the `low` and `high` percentiles, then scaled to 0…1.
    case percentile(low: Double, high: Double)
    /// (x − mean[c]) / std[c] per channel with fixed statistics (ImageNet's, for instance).
    case fixed(mean: [Double], std: [Double])
}

/// One step of a pipeline. Geometric steps move image and mask together (the mask with nearest
/// neighbour); intensity steps touch the image only. Random steps draw from the pipeline's generator,
/// so a seed fixes the result. `Codable`, so a pipeline can be saved with a model version.
public enum Transform: Codable, Sendable, Equatable {
    /// Resizes to `width` × `height`; with `keepAspect`, scales to fit and pads with `padValue`.
    case resize(width: Int, height: Int, keepAspect: Bool = false, padValue: Float = 0)
    case centerCrop(width: Int, height: Int)
    /// A random crop (the image is padded with zeros first when smaller).
    case randomCrop(width: Int, height: Int)
    case horizontalFlip(p: Double = 0.5)
    case verticalFlip(p: Double = 0.5)
    /// Rotation by an angle drawn from −`degrees`…`degrees` about the centre.
    case rotate(degrees: Double, p: Double = 1)
    /// Random affine: rotation (degrees), translation (fraction of size), scale range, shear (degrees).
    case affine(degrees: Double = 0, translate: Double = 0, scaleMin: Double = 1, scaleMax: Double = 1, shear: Double = 0, p: Double = 1)
    /// Elastic deformation (Simard et al.): random displacements smoothed by `sigma`, scaled by `alpha` (pixels).
    case elastic(alpha: Double, sigma: Double, p: Double = 1)
    /// A CT window (values then lie in 0…1).
    case window(center: Double, width: Double)
    /// A named CT window preset.
    case windowPreset(WindowPreset)
    case normalize(Normalization)
    /// x ↦ x^γ on values scaled to 0…1 with γ drawn from `min`…`max`.
    case gamma(min: Double, max: Double, p: Double = 1)
    /// Adds a value drawn from −`delta`…`delta` (in units of the image's range).
    case brightness(delta: Double, p: Double = 1)
    /// Scales deviations from the mean by a factor drawn from `min`…`max`.
    case contrast(min: Double, max: Double, p: Double = 1)
    /// Adds Gaussian noise of standard deviation `std` (in units of the image's range).
    case gaussianNoise(std: Double, p: Double = 1)
    /// Gaussian blur with σ drawn from `sigmaMin`…`sigmaMax` pixels.
    case gaussianBlur(sigmaMin: Double, sigmaMax: Double, p: Double = 1)
    /// Contrast-limited adaptive histogram equalisation.
    case clahe(clipLimit: Double = 2, tiles: Int = 8)
    /// Converts to `count` channels: grey → replicated, RGB → grey (ITU-R BT.601 luma).
    case channels(Int)

    /// True for steps that draw random numbers.
    public var isRandom: Bool {
        switch self {
        case .randomCrop, .horizontalFlip, .verticalFlip, .rotate, .affine, .elastic, .gamma, .brightness, .contrast, .gaussianNoise, .gaussianBlur: return true
        default: return false
        }
    }
}

/// An ordered list of transforms, applied identically in training, evaluation and serving.
public struct Pipeline: Codable, Sendable, Equatable {
    public var steps: [Transform]

    public init(_ steps: [Transform] = []) { self.steps = steps }

    /// The pipeline without its random steps: what evaluation and serving apply.
    public var deterministic: Pipeline { Pipeline(steps.filter { !$0.isRandom }) }

    /// Applies every step in order, drawing random numbers from `rng`.
    public func apply(_ sample: Sample, rng: inout SeededGenerator) throws(ImagingError) -> Sample {
        var s = sample
        if let mask = s.mask, mask.width != s.image.width || mask.height != s.image.height {
            throw .invalidArgument("mask is \(mask.width) x \(mask.height) but the image is \(s.image.width) x \(s.image.height)")
        }
        for step in steps { s = try step.apply(s, rng: &rng) }
        return s
    }

    /// Applies the pipeline to one image with a fixed seed.
    public func apply(_ image: Plane, seed: UInt64 = 0) throws(ImagingError) -> Plane {
        var rng = SeededGenerator(seed: seed)
        return try apply(Sample(image: image), rng: &rng).image
    }
}
