import CTorch

// Element-wise arithmetic with broadcasting. Operators throw: a shape mismatch is libtorch's message
// in a `LumenError`, never a crash.

infix operator .== : ComparisonPrecedence
infix operator .!= : ComparisonPrecedence
infix operator .< : ComparisonPrecedence
infix operator .<= : ComparisonPrecedence
infix operator .> : ComparisonPrecedence
infix operator .>= : ComparisonPrecedence

typealias BinaryOp = (OpaquePointer?, OpaquePointer?, UnsafeMutablePointer<lm_error>?) -> OpaquePointer?
typealias ScalarOp = (OpaquePointer?, Double, UnsafeMutablePointer<lm_error>?) -> OpaquePointer?
typealias UnaryOp = (OpaquePointer?, UnsafeMutablePointer<lm_error>?) -> OpaquePointer?

extension Tensor {
    @inline(__always)
    func binary(_ name: String, _ other: Tensor, _ op: BinaryOp) throws(LumenError) -> Tensor {
        try Tensor.make(name) { op(handle, other.handle, $0) }
    }

    @inline(__always)
    func scalar(_ name: String, _ value: Double, _ op: ScalarOp) throws(LumenError) -> Tensor {
        try Tensor.make(name) { op(handle, value, $0) }
    }

    @inline(__always)
    func unary(_ name: String, _ op: UnaryOp) throws(LumenError) -> Tensor {
        try Tensor.make(name) { op(handle, $0) }
    }

    public static func + (a: Tensor, b: Tensor) throws(LumenError) -> Tensor { try a.binary("add", b, lm_add) }
    public static func - (a: Tensor, b: Tensor) throws(LumenError) -> Tensor { try a.binary("sub", b, lm_sub) }
    public static func * (a: Tensor, b: Tensor) throws(LumenError) -> Tensor { try a.binary("mul", b, lm_mul) }
    public static func / (a: Tensor, b: Tensor) throws(LumenError) -> Tensor { try a.binary("div", b, lm_div) }
    public static func + (a: Tensor, s: Double) throws(LumenError) -> Tensor { try a.scalar("add", s, lm_add_scalar) }
    public static func - (a: Tensor, s: Double) throws(LumenError) -> Tensor { try a.scalar("sub", s, lm_sub_scalar) }
    public static func * (a: Tensor, s: Double) throws(LumenError) -> Tensor { try a.scalar("mul", s, lm_mul_scalar) }
    public static func / (a: Tensor, s: Double) throws(LumenError) -> Tensor { try a.scalar("div", s, lm_div_scalar) }
    public static func + (s: Double, a: Tensor) throws(LumenError) -> Tensor { try a.scalar("add", s, lm_add_scalar) }
    public static func - (s: Double, a: Tensor) throws(LumenError) -> Tensor { try a.scalar("rsub", s, lm_rsub_scalar) }
    public static func * (s: Double, a: Tensor) throws(LumenError) -> Tensor { try a.scalar("mul", s, lm_mul_scalar) }
    public static func / (s: Double, a: Tensor) throws(LumenError) -> Tensor { try a.scalar("rdiv", s, lm_rdiv_scalar) }
    public static prefix func - (a: Tensor) throws(LumenError) -> Tensor { try a.unary("neg", lm_neg) }

    public static func .== (a: Tensor, b: Tensor) throws(LumenError) -> Tensor { try a.binary("eq", b, lm_eq) }
    public static func .!= (a: Tensor, b: Tensor) throws(LumenError) -> Tensor { try a.binary("ne", b, lm_ne) }
    public static func .< (a: Tensor, b: Tensor) throws(LumenError) -> Tensor { try a.binary("lt", b, lm_lt) }
    public static func .<= (a: Tensor, b: Tensor) throws(LumenError) -> Tensor { try a.binary("le", b, lm_le) }
    public static func .> (a: Tensor, b: Tensor) throws(LumenError) -> Tensor { try a.binary("gt", b, lm_gt) }
    public static func .>= (a: Tensor, b: Tensor) throws(LumenError) -> Tensor { try a.binary("ge", b, lm_ge) }
    public static func .== (a: Tensor, s: Double) throws(LumenError) -> Tensor { try a.scalar("eq", s, lm_eq_scalar) }
    public static func .!= (a: Tensor, s: Double) throws(LumenError) -> Tensor { try a.scalar("ne", s, lm_ne_scalar) }
    public static func .< (a: Tensor, s: Double) throws(LumenError) -> Tensor { try a.scalar("lt", s, lm_lt_scalar) }
    public static func .<= (a: Tensor, s: Double) throws(LumenError) -> Tensor { try a.scalar("le", s, lm_le_scalar) }
    public static func .> (a: Tensor, s: Double) throws(LumenError) -> Tensor { try a.scalar("gt", s, lm_gt_scalar) }
    public static func .>= (a: Tensor, s: Double) throws(LumenError) -> Tensor { try a.scalar("ge", s, lm_ge_scalar) }

    /// Matrix product with broadcasting over batch dimensions (`torch.matmul`).
    public func matmul(_ other: Tensor) throws(LumenError) -> Tensor { try binary("matmul", other, lm_matmul) }
    public func pow(_ exponent: Double) throws(LumenError) -> Tensor { try scalar("pow", exponent, lm_pow_scalar) }
    public func pow(_ exponent: Tensor) throws(LumenError) -> Tensor { try binary("pow", exponent, lm_pow) }
    public func maximum(_ other: Tensor) throws(LumenError) -> Tensor { try binary("maximum", other, lm_maximum) }
    public func minimum(_ other: Tensor) throws(LumenError) -> Tensor { try binary("minimum", other, lm_minimum) }
    public func remainder(_ divisor: Double) throws(LumenError) -> Tensor { try scalar("remainder", divisor, lm_remainder_scalar) }
    public func logicalAnd(_ other: Tensor) throws(LumenError) -> Tensor { try binary("logical_and", other, lm_logical_and) }
    public func logicalOr(_ other: Tensor) throws(LumenError) -> Tensor { try binary("logical_or", other, lm_logical_or) }
    public func logicalNot() throws(LumenError) -> Tensor { try unary("logical_not", lm_logical_not) }

    public func abs() throws(LumenError) -> Tensor { try unary("abs", lm_abs) }
    public func exp() throws(LumenError) -> Tensor { try unary("exp", lm_exp) }
    public func log() throws(LumenError) -> Tensor { try unary("log", lm_log) }
    public func log1p() throws(LumenError) -> Tensor { try unary("log1p", lm_log1p) }
    public func sqrt() throws(LumenError) -> Tensor { try unary("sqrt", lm_sqrt) }
    public func rsqrt() throws(LumenError) -> Tensor { try unary("rsqrt", lm_rsqrt) }
    public func square() throws(LumenError) -> Tensor { try unary("square", lm_square) }
    public func reciprocal() throws(LumenError) -> Tensor { try unary("reciprocal", lm_reciprocal) }
    public func sin() throws(LumenError) -> Tensor { try unary("sin", lm_sin) }
    public func cos() throws(LumenError) -> Tensor { try unary("cos", lm_cos) }
    public func floor() throws(LumenError) -> Tensor { try unary("floor", lm_floor) }
    public func ceil() throws(LumenError) -> Tensor { try unary("ceil", lm_ceil) }
    public func round() throws(LumenError) -> Tensor { try unary("round", lm_round) }
    public func sign() throws(LumenError) -> Tensor { try unary("sign", lm_sign) }
    public func isNaN() throws(LumenError) -> Tensor { try unary("isnan", lm_isnan) }

    /// Clamps to [min, max]; either bound may be omitted.
    public func clamp(min: Double? = nil, max: Double? = nil) throws(LumenError) -> Tensor {
        try Tensor.make("clamp") { lm_clamp(handle, min != nil, min ?? 0, max != nil, max ?? 0, $0) }
    }

    /// Element-wise choice: `a` where `condition` is true, else `b` (`torch.where`).
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws(LumenError) -> Tensor {
        try make("where") { lm_where(condition.handle, a.handle, b.handle, $0) }
    }

    /// Replaces elements where `mask` is true by `value`.
    public func maskedFill(_ mask: Tensor, _ value: Double) throws(LumenError) -> Tensor {
        try Tensor.make("masked_fill") { lm_masked_fill(handle, mask.handle, value, $0) }
    }
}
