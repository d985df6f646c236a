/// The options the problems share besides their sizes and start: the scale
/// of a random start, the oracle's noise σ (`OracleNoise`) and the seed of
/// the data.
protocol ScaleNoiseSeed {
    var scale: Double { get set }
    var noise: Double { get set }
    var seed: UInt64 { get set }
}

extension ScaleNoiseSeed {
    /// Reads `scale=`, `noise=` and `seed=` over the defaults.
    mutating func readScaleNoiseSeed(_ o: SpecOptions) throws {
        scale = try o.double("scale", default: scale)
        noise = try o.double("noise", default: noise)
        seed = try o.seed("seed", default: seed)
    }

    /// scale > 0 and σ ≥ 0.
    func checkScaleAndNoise(_ problem: String) throws {
        try SpecCheck.positive(problem, "scale", scale)
        try SpecCheck.nonNegative(problem, "noise", noise)
    }
}
