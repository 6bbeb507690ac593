import Foundation

/// Patient geometry of a `MedicalImage` in DICOM's LPS frame (see `MedicalImage`), and the conversions
/// to and from NIfTI's RAS frame.
extension MedicalImage {
    /// The voxel-to-LPS affine, row-major 4 × 4: `direction · diag(spacing)` and `origin` in the last
    /// column. Equal to SimpleITK's `direction`, `spacing` and `origin` combined the same way.
    public var affine: [Double] {
        var m = [Double](repeating: 0, count: 16)
        for r in 0..<3 {
            for c in 0..<3 { m[r * 4 + c] = direction[r * 3 + c] * spacing[c] }
            m[r * 4 + 3] = origin[r]
        }
        m[15] = 1
        return m
    }

    /// The three-letter orientation code: for each image axis (column, row, slice index increasing)
    /// the patient direction it points to most, e.g. `LPS` for an axial DICOM slice stack (ITK's legacy
    /// SpatialOrientation names the same frame `RAI`, by the side each axis comes from). Equal to
    /// SimpleITK's `DICOMOrientImageFilter.GetOrientationFromDirectionCosines` and nibabel's
    /// `aff2axcodes` on the RAS affine.
    public var orientationCode: String { Geometry.orientationCode(direction) }
}

/// Helpers for patient coordinates.
public enum Geometry {
    /// LPS → RAS (and back): x and y change sign.
    static let flipXY: [Double] = [-1, -1, 1]

    /// See `MedicalImage.orientationCode`.
    public static func orientationCode(_ direction: [Double]) -> String {
        let positive: [Character] = ["L", "P", "S"], negative: [Character] = ["R", "A", "I"]
        var code = ""
        for c in 0..<3 {
            let column = (0..<3).map { direction[$0 * 3 + c] }
            let axis = (0..<3).max { abs(column[$0]) < abs(column[$1]) }!
            code.append(column[axis] >= 0 ? positive[axis] : negative[axis])
        }
        return code
    }

    /// ITK's legacy SpatialOrientation code for the same direction (each axis named by the side it
    /// comes from: `RAI` for `LPS`).
    public static func legacyITKCode(_ direction: [Double]) -> String {
        let opposite: [Character: Character] = ["L": "R", "R": "L", "P": "A", "A": "P", "S": "I", "I": "S"]
        return String(orientationCode(direction).map { opposite[$0]! })
    }

    /// The direction matrix (columns: row cosine, column cosine, slice normal) of a DICOM Image
    /// Orientation (Patient): the first three values point along a row (increasing column index), the
    /// next three down a column (increasing row index); nil when they are not two unit vectors at right
    /// angles (to 1e-3).
    public static func direction(imageOrientation o: [Double]) -> [Double]? {
        guard o.count == 6, o.allSatisfy(\.isFinite) else { return nil }
        let r = Array(o[0..<3]), c = Array(o[3..<6])
        let nr = norm(r), nc = norm(c)
        guard abs(nr - 1) < 1e-3, abs(nc - 1) < 1e-3, abs(dot(r, c)) < 1e-3 else { return nil }
        let ru = r.map { $0 / nr }, cu = c.map { $0 / nc }
        let n = cross(ru, cu)
        var m = [Double](repeating: 0, count: 9)
        for k in 0..<3 {
            m[k * 3 + 0] = ru[k]
            m[k * 3 + 1] = cu[k]
            m[k * 3 + 2] = n[k]
        }
        return m
    }

    /// LPS geometry from a voxel-to-RAS affine (row-major 4 × 4, NIfTI's frame): spacing from `pixdim`
    /// (as ITK and nibabel's zooms take it), unit direction columns, origin.
    static func fromRASAffine(_ a: [Double], pixdim: [Double]) -> (spacing: [Double], origin: [Double], direction: [Double]) {
        var spacing = [Double](repeating: 1, count: 3), direction = [Double](repeating: 0, count: 9)
        for c in 0..<3 {
            let p = abs(pixdim[c])
            let column = (0..<3).map { a[$0 * 4 + c] * flipXY[$0] }
            let length = norm(column)
            spacing[c] = p > 0 && p.isFinite ? p : (length > 0 && length.isFinite ? length : 1)
            if length > 0 && length.isFinite {
                for r in 0..<3 { direction[r * 3 + c] = column[r] / length }
            } else {
                direction[c * 3 + c] = 1
            }
        }
        let origin = (0..<3).map { a[$0 * 4 + 3] * flipXY[$0] }
        return (spacing, origin.map { $0.isFinite ? $0 : 0 }, direction)
    }

    /// The voxel-to-RAS affine (row-major 4 × 4) of an image whose geometry is in LPS.
    static func rasAffine(_ image: MedicalImage) -> [Double] {
        var m = image.affine
        for r in 0..<2 { for c in 0..<4 { m[r * 4 + c] = -m[r * 4 + c] } }
        return m
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map(*).reduce(0, +) }
    static func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }
    static func cross(_ a: [Double], _ b: [Double]) -> [Double] {
        [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    }
}

extension Geometry {
    /// NIfTI's qform of a voxel-to-RAS affine: quaternion (b, c, d) and qfac (-1 for a left-handed
    /// frame), as `nifti_mat44_to_quatern` computes them (the rotation is assumed orthonormal).
    static func quaternion(_ a: [Double]) -> (bcd: [Double], qfac: Double) {
        var r = [[Double]](repeating: [0, 0, 0], count: 3)
        for row in 0..<3 {
            for col in 0..<3 { r[row][col] = a[row * 4 + col] }
        }
        for col in 0..<3 {
            let length = norm((0..<3).map { r[$0][col] })
            for row in 0..<3 { r[row][col] = length > 0 ? r[row][col] / length : (row == col ? 1 : 0) }
        }
        let det = dot(r.map { $0[0] }, cross(r.map { $0[1] }, r.map { $0[2] }))
        let qfac: Double = det < 0 ? -1 : 1
        if det < 0 { for row in 0..<3 { r[row][2] = -r[row][2] } }
        var qa = r[0][0] + r[1][1] + r[2][2] + 1, qb = 0.0, qc = 0.0, qd = 0.0
        if qa > 0.5 {
            qa = 0.5 * qa.squareRoot()
            qb = 0.25 * (r[2][1] - r[1][2]) / qa
            qc = 0.25 * (r[0][2] - r[2][0]) / qa
            qd = 0.25 * (r[1][0] - r[0][1]) / qa
        } else {
            let xd = 1 + r[0][0] - (r[1][1] + r[2][2]), yd = 1 + r[1][1] - (r[0][0] + r[2][2]), zd = 1 + r[2][2] - (r[0][0] + r[1][1])
            if xd > 1 {
                qb = 0.5 * xd.squareRoot(); qc = 0.25 * (r[0][1] + r[1][0]) / qb; qd = 0.25 * (r[0][2] + r[2][0]) / qb; qa = 0.25 * (r[2][1] - r[1][2]) / qb
            } else if yd > 1 {
                qc = 0.5 * yd.squareRoot(); qb = 0.25 * (r[0][1] + r[1][0]) / qc; qd = 0.25 * (r[1][2] + r[2][1]) / qc; qa = 0.25 * (r[0][2] - r[2][0]) / qc
            } else {
                qd = 0.5 * zd.squareRoot(); qb = 0.25 * (r[0][2] + r[2][0]) / qd; qc = 0.25 * (r[1][2] + r[2][1]) / qd; qa = 0.25 * (r[1][0] - r[0][1]) / qd
            }
            if qa < 0 { qb = -qb; qc = -qc; qd = -qd }
        }
        return ([qb, qc, qd], qfac)
    }
}
