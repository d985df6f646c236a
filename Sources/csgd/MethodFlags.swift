import Compression
import CSGDCore
import Optimization

/// `--batch` and `--noise`, the run options every subcommand that runs a
/// method shares, and the method spec's own `batch=` and `sigma=` that they
/// stand for: one vocabulary, whichever spelling the user picks. Either may
/// be given; given both, they must agree (a run has one mini-batch and one σ).
enum MethodFlags {
    /// `method` with its mini-batch set from `batch` (or `defaultBatch` when
    /// neither `--batch` nor `batch=` is given and a default is asked for)
    /// and its noise from `noise` (σ per coordinate).
    static func apply(batch: Int?, defaultBatch: Int?, noise: Double?, to method: any Method) throws -> any Method {
        var m = method
        if let b = batch { guard b >= 1 else { throw CSGDError("--batch \(b) must be at least 1") } }
        if m.batchIsSet {
            if let b = batch, b != m.batch { throw CSGDError("--batch \(b) disagrees with the method's batch=\(m.batch)") }
        } else if let b = batch ?? defaultBatch {
            m.batch = b
        }
        if let s = noise {
            guard s >= 0, s.isFinite else { throw CSGDError("--noise \(s) must be a non-negative σ") }
            guard var perturbed = m as? any PerturbedMethod else {
                throw CSGDError("--noise: method '\(m.name)' adds no noise (use \(Methods.perturbedNames.joined(separator: " or ")))")
            }
            if case .none = perturbed.noise {} else { throw CSGDError("--noise \(s) and the method's own r=/sigma=: give one") }
            perturbed.noise = .sigma(s)
            m = perturbed
        }
        return m
    }

    /// `--collective`: an explicit `scatter` needs a compressor that is not
    /// all-reduced; with a method without error feedback (sgd, qsgd-sgd,
    /// psgd, pgd, pagd, cnc) an unbiased one (qsgd, fp64), since the owners'
    /// second compression has no memory there; and not alg1's reset.
    static func check(collective: Collective, method: any Method, compressor: CompressorSpec) throws {
        guard collective == .scatter else { return }
        if let a = method as? Alg1, a.reset != .off {
            throw a.error("the error reset reads x_t − η ē_t, which the two-stage exchange's owner memory would change: use --collective allgather or auto with a reset")
        }
        let feedback = method is Alg1 || method is EFSGD
        switch compressor {
        case .none, .randomK, .sketchTopK:
            throw CSGDError("--collective scatter applies to topk, sign, qsgd and fp64 messages; '\(compressor)' is all-reduced (use auto or allgather)")
        case .topK, .sign:
            if !feedback { throw CSGDError(Collective.biasedWithoutMemory(compressor.description, method: method.name)) }
        case .qsgd, .fp64:
            return
        }
    }
}
