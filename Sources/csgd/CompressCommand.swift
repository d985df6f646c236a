import CSGDBench
import ArgumentParser
import CSGDCore
import Compression
import Foundation

/// `csgd compress`: exact bits, empirical μ and throughput of compressors on
/// Gaussian vectors, beside memcpy measured in the same run.
struct CompressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Measure compressors on random Gaussian vectors: bits, empirical μ, throughput.",
        discussion: """
        Every timed run, memcpy included, starts from a cold cache (a read of 2× the last-level cache first); \
        the figure is the best of --reps after one warm-up.
        SPEC is one of: none, fp64, randomk:K, topk:K, sketch-topk:K[,rows=R][,cols=C], sign,
        qsgd:S[,coding=elias|fixed]. K is a count (210) or a fraction of d (0.001).
        Repeat --compressor to compare several, or pass 'all'.
        """)

    @Option(name: .customLong("compressor"), help: "Compressor spec (repeatable), or 'all'.")
    var compressors: [String] = ["all"]

    @Option(help: "Vector dimension d.")
    var dim: Int = 1 << 20

    @Option(help: "Fresh vectors for the empirical μ.")
    var trials: Int = 5

    @Option(help: "Timed repetitions (best is kept).")
    var reps: Int = 5

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Flag(help: "One JSON object per compressor instead of a table.")
    var json = false

    @OptionGroup var memory: MemoryOptions

    func run() throws {
        let compressors = try CLI.orExit {
            guard dim >= 1 else { throw CSGDError("--dim \(dim) must be positive") }
            guard trials >= 1 else { throw CSGDError("--trials \(trials) must be positive") }
            guard reps >= 1 else { throw CSGDError("--reps \(reps) must be positive") }
            // The vector, its compression and decoding, the compressor's scratch and the message: about eight d-vectors.
            try memory.budget().require(32 * Double(dim), for: "--dim \(dim)")
            let texts = self.compressors.flatMap { $0.lowercased() == "all" ? CompressorSpec.representatives : [$0] }
            return try texts.map { text -> (String, any Compressor) in
                let spec = try CompressorSpec.parse(text)
                return (text, try spec.make(dimension: dim))
            }
        }
        var rows: [CompressorMeasurement] = []
        let evictor = CacheEvictor()
        for (text, c) in compressors {
            let r = try CLI.orExit { try CompressorMeasurement.measure(c, spec: text, trials: trials, reps: reps, seed: seed, evictor: evictor) }
            if json { print(try CLI.jsonLine(r)) } else { rows.append(r) }
        }
        if !json { print(Self.table(rows)) }
    }

    static func table(_ rows: [CompressorMeasurement]) -> String {
        var t = TextTable(header: ["compressor", "bits", "bits/coord", "mu", "linear", "unbiased", "compress GB/s", "decode GB/s", "memcpy GB/s"])
        for r in rows {
            t.add([r.compressor, String(r.bits), String(format: "%.4f", r.bitsPerCoordinate), String(format: "%.4f", r.muEmpirical),
                   r.linear ? "yes" : "no", r.unbiased ? "yes" : "no",
                   String(format: "%.2f", r.compressGbps), String(format: "%.2f", r.decodeGbps), String(format: "%.2f", r.memcpyGbps)])
        }
        return "d = \(rows.first?.dim ?? 0)\n" + t.render()
    }
}
