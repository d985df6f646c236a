import CSGDCore
import Compression

/// SGD with QSGD messages (Alistarh, Grubic, Li, Tomioka & Vojnovic, *QSGD:
/// Communication-Efficient SGD via Gradient Quantization and Encoding*,
/// NeurIPS 2017) at b bits a coordinate: s = 2^(b−1) − 1 levels and a sign,
/// written at a fixed width; no error memory (QSGD is unbiased). With
/// `--collective scatter` (or `auto` from W = 3) the messages travel by the
/// two-stage exchange without memory (`ScatterMessageExchange`): the update
/// stays unbiased, its second moment a factor 1 + ω larger.
///
/// Spec: `qsgd-sgd:bits=b[,batch=B][,eta=η]` with 2 ≤ b ≤ 31.
public struct QSGDSGD: Method {
    public static let name = "qsgd-sgd"
    public var common: CommonOptions
    /// Bits a coordinate, the sign included.
    public var bits: Int

    public init(common: CommonOptions, bits: Int) {
        self.common = common
        self.bits = bits
    }

    /// `qsgd:S,coding=fixed` with S = 2^(b−1) − 1.
    public var prescribedCompressor: CompressorSpec? { .qsgd(levels: (1 << (bits - 1)) - 1, coding: .fixed) }

    public static func parse(_ p: inout SpecParser) throws -> QSGDSGD {
        try p.read(options: ["bits", "batch", "eta"])
        guard let bits = try p.integer("bits", .between(2, 31)) else {
            throw p.error("needs bits=b (bits a coordinate, sign included)")
        }
        return QSGDSGD(common: try p.commonOptions(), bits: bits)
    }

    public func chain(compressor: any Compressor, objective: any Objective, context: MethodContext) throws -> MethodChain {
        try context.collective.check(compressor, memory: false)
        return qsgdSGD(compressor: compressor, eta: try stepSize(objective: objective, context: context), batch: batch,
                       collective: context.collective)
    }
}

/// QSGD-SGD's chain, SGD's: gradient → compress → average → step.
/// - Parameters:
///   - compressor: the QSGD compressor (`prescribedCompressor` made for d).
///   - eta: the step size η.
///   - batch: the mini-batch a worker (0: the full gradient).
///   - collective: how the messages travel (`Collective`; the two stages,
///     without owner memory, only for unbiased compressors).
public func qsgdSGD(compressor: any Compressor, eta: Double, batch: Int = 1, collective: Collective = .allgather) -> MethodChain {
    sgd(compressor: compressor, eta: eta, batch: batch, collective: collective)
}
