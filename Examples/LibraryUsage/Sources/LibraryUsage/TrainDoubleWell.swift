import Compression
import Distributed
import Optimization

/// Minimises ``DoubleWell`` from its saddle with Algorithm 1 of "Escaping
/// Saddle Points with Compressed SGD": every worker adds Gaussian noise
/// (σ = 0.01 a coordinate) to its gradient, sends k of its coordinates
/// (RandomK: 32·k bits a step) and keeps the rest in its error memory; the
/// average of the messages updates x on every worker.
///
/// Returns rank 0's summary: the final loss, the ε-second-order
/// certificate of the last iterate (ε = 0.05), the exact upload bits and
/// the SHA-256 of the final parameters (the same seed, the same hash).
public func trainDoubleWell(
    dimension: Int = 100, k: Int = 10, workers: Int = 4,
    steps: Int = 400, seed: UInt64 = 1
) throws -> RunSummary {
    let objective = DoubleWell(dimension: dimension)
    let method = try Methods.parse("alg1:sigma=0.01")
    let config = TrainerConfiguration(
        steps: steps, seed: seed, learningRate: 0.05, epsilon: 0.05)
    return try InProcessRun.run(
        objective: objective, method: method,
        compressor: .randomK(.count(k)), workers: workers, config: config)
}
