"""csgd's random keys (seed, step, worker, purpose): the worker that means
"every worker" and the purposes a binding uses."""

#: The worker id of the stream all workers share (RandomKey.shared).
SHARED = 0xFFFFFF
#: RandomPurpose.perturbation: the Gaussian perturbation of error feedback.
PERTURBATION = 1
#: RandomPurpose.quantization: a worker's private rounding (QSGD); error feedback's compressor key.
QUANTIZATION = 4
#: The purpose of the vectors `csgd compress` measures.
BENCHMARK = 9
