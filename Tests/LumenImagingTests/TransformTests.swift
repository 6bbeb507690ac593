import Foundation
import Testing
@testable import LumenImaging

@Suite("Transforms")
struct TransformTests {
    static func ramp(_ w: Int = 20, _ h: Int = 16, channels: Int = 1) -> Plane {
        Plane(width: w, height: h, channels: channels, values: (0..<w * h * channels).map { Float($0 % 97) })
    }

    static let augmentation = Pipeline([
        .randomCrop(width: 16, height: 12), .horizontalFlip(p: 0.5), .rotate(degrees: 15), .affine(degrees: 5, translate: 0.05, scaleMin: 0.9, scaleMax: 1.1, shear: 3),
        .elastic(alpha: 2, sigma: 3), .gamma(min: 0.8, max: 1.2), .brightness(delta: 0.1), .contrast(min: 0.8, max: 1.2),
        .gaussianNoise(std: 0.02), .gaussianBlur(sigmaMin: 0.1, sigmaMax: 1), .resize(width: 24, height: 24),
    ])

    @Test func sameSeedSameResultOtherSeedOtherResult() throws {
        let image = Self.ramp()
        let a = try Self.augmentation.apply(image, seed: 42)
        let b = try Self.augmentation.apply(image, seed: 42)
        let c = try Self.augmentation.apply(image, seed: 43)
        #expect(a == b)
        #expect(a != c)
        #expect(a.width == 24 && a.height == 24)
    }

    @Test func uniformDrawsNeverTrap() {
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<100 {
            let wide = rng.uniform(-1e308, 1e308)
            #expect(wide.isFinite && wide >= -1e308 && wide <= 1e308)
            let unit = rng.uniform(2, 3)
            #expect(unit >= 2 && unit < 3)
        }
        #expect(rng.uniform(5, 5) == 5 && rng.uniform(5, 1) == 5)
        #expect(rng.uniform(.nan, 1).isNaN && rng.uniform(-.infinity, .infinity) == 0)
    }

    @Test func flipsMirror() throws {
        let image = Self.ramp(3, 2)
        let h = try Pipeline([.horizontalFlip(p: 1)]).apply(image)
        #expect(h.values == [2, 1, 0, 5, 4, 3])
        let v = try Pipeline([.verticalFlip(p: 1)]).apply(image)
        #expect(v.values == [3, 4, 5, 0, 1, 2])
    }

    @Test func geometricStepsMoveImageAndMaskTogether() throws {
        // The mask is the image thresholded: after any geometric step it must still match the image.
        var values = [Float](repeating: 0, count: 32 * 32)
        for y in 8..<20 { for x in 10..<26 { values[y * 32 + x] = 1 } }
        let image = Plane(width: 32, height: 32, channels: 1, values: values)
        let sample = Sample(image: image, mask: image)
        for step: Transform in [.horizontalFlip(p: 1), .verticalFlip(p: 1), .rotate(degrees: 30), .randomCrop(width: 24, height: 20),
                                .resize(width: 48, height: 40), .elastic(alpha: 3, sigma: 4), .affine(degrees: 10, translate: 0.1, scaleMin: 0.8, scaleMax: 1.2, shear: 5)] {
            var rng = SeededGenerator(seed: 7)
            let out = try Pipeline([step]).apply(sample, rng: &rng)
            let mask = try #require(out.mask)
            #expect(mask.width == out.image.width && mask.height == out.image.height)
            let agree = zip(out.image.values, mask.values).filter { ($0 > 0.5) == ($1 > 0.5) }.count
            #expect(Double(agree) / Double(mask.values.count) > 0.97, "\(step)")
            #expect(Set(mask.values).isSubset(of: [0, 1]), "\(step): nearest-neighbour masks keep their labels")
        }
    }

    @Test func windowPresetsMapHounsfieldUnits() throws {
        let hu = Plane(width: 4, height: 1, channels: 1, values: [-1000, -600, 150, 2000])
        let lung = try Pipeline([.windowPreset(.lung)]).apply(hu)
        // Lung window: centre −600, width 1500, so −1350 HU ↦ 0 and 150 HU ↦ 1.
        let expected: [Float] = [350.0 / 1500, 0.5, 1, 1]
        #expect(zip(lung.values, expected).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(try WindowPreset.parse("40,400") == Window(center: 40, width: 400))
        #expect(throws: ImagingError.self) { try WindowPreset.parse("wide") }
    }

    @Test func normalisations() throws {
        let p = Plane(width: 5, height: 1, channels: 1, values: [0, 1, 2, 3, 4])
        let z = try Pipeline([.normalize(.zscore)]).apply(p)
        #expect(abs(z.values.reduce(0, +)) < 1e-5)
        #expect(abs(z.values[4] - Float(2 / 2.0.squareRoot())) < 1e-5)
        #expect(try Pipeline([.normalize(.minMax)]).apply(p).values == [0, 0.25, 0.5, 0.75, 1])
        let fixed = try Pipeline([.normalize(.fixed(mean: [2], std: [2]))]).apply(p)
        #expect(fixed.values == [-1, -0.5, 0, 0.5, 1])
        #expect(throws: ImagingError.self) { try Pipeline([.normalize(.fixed(mean: [0, 0], std: [1, 1]))]).apply(p) }
    }

    @Test func claheBlurAndChannels() throws {
        let image = Self.ramp(32, 32)
        let eq = try Pipeline([.clahe(clipLimit: 2, tiles: 4)]).apply(image)
        #expect(eq.values.count == image.values.count && eq.values != image.values)
        let rgb = try Pipeline([.channels(3)]).apply(image)
        #expect(rgb.channels == 3 && rgb.values[0..<3].allSatisfy { $0 == image.values[0] })
        let grey = try Pipeline([.channels(1)]).apply(rgb)
        #expect(zip(grey.values, image.values).allSatisfy { abs($0 - $1) < 1e-3 })
        let padded = try Pipeline([.resize(width: 40, height: 20, keepAspect: true)]).apply(image)
        #expect(padded.width == 40 && padded.height == 20 && padded.values[0] == 0)
    }

    @Test func pipelinesAreCodableAndDropRandomStepsForEvaluation() throws {
        let data = try JSONEncoder().encode(Self.augmentation)
        #expect(try JSONDecoder().decode(Pipeline.self, from: data) == Self.augmentation)
        #expect(Self.augmentation.deterministic.steps == [.resize(width: 24, height: 24)])
    }
}
