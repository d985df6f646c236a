import CSGDCore
import Optimization

/// A problem's data as an m×d row-major Float32 matrix A with rows aᵢ
/// (phase retrieval's measurements, the planted ReLU's features, the
/// tensor's components) and the products built on it: z = A·x, y ← αAᵀu + βy,
/// and for losses that are a mean over rows of a function of zᵢ = ⟨aᵢ, x⟩,
/// the full gradient, the mini-batch gradient and the Hessian–vector product.
struct RowMatrix {
    /// A, m·d values.
    let rows: [Float]
    /// m.
    let count: Int
    /// d.
    let dimension: Int

    /// z = A·x into `z` (m values).
    func multiply(_ x: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>) {
        rows.withUnsafeBufferPointer { a in
            BLAS.sgemv(trans: false, m: count, n: dimension, alpha: 1, a: a.baseAddress!, lda: dimension, x: x, beta: 0, y: z)
        }
    }

    /// y ← α·Aᵀu + β·y (u: m values, y: d values).
    func multiplyTransposed(alpha: Float, _ u: UnsafePointer<Float>, beta: Float, into y: UnsafeMutablePointer<Float>) {
        rows.withUnsafeBufferPointer { a in
            BLAS.sgemv(trans: true, m: count, n: dimension, alpha: alpha, a: a.baseAddress!, lda: dimension, x: u, beta: beta, y: y)
        }
    }

    /// Runs `body` on z = A·x, held in scratch of m floats.
    func withProduct<T>(_ x: UnsafeBufferPointer<Float>, _ body: (UnsafeMutableBufferPointer<Float>) -> T) -> T {
        precondition(x.count == dimension)
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { z in
            z.initialize(repeating: 0)
            multiply(x.baseAddress!, into: z.baseAddress!)
            return body(z)
        }
    }

    /// The full gradient of f(x) = (1/m)·Σᵢ φᵢ(zᵢ): with z = A·x, returns
    /// `loss(z)` after writing g = (1/m)·Aᵀs, sᵢ = `slope(zᵢ, i)` = φᵢ′(zᵢ).
    func meanGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>,
                      loss: (UnsafeMutableBufferPointer<Float>) -> Double, slope: (Float, Int) -> Float) -> Double {
        precondition(g.count == dimension)
        return withProduct(x) { z in
            let f = loss(z)
            for i in 0..<count { z[i] = slope(z[i], i) }
            multiplyTransposed(alpha: 1 / Float(count), z.baseAddress!, beta: 0, into: g.baseAddress!)
            return f
        }
    }

    /// The Hessian–vector product of f(x) = (1/m)·Σᵢ φᵢ(zᵢ): with z = A·x and
    /// u = A·v, writes out = (1/m)·Aᵀw, wᵢ = `weigh(uᵢ, zᵢ, i)` = φᵢ″(zᵢ)·uᵢ.
    func meanHessianProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
                            weigh: (Float, Float, Int) -> Float) {
        precondition(v.count == dimension && out.count == dimension)
        let m = count
        withProduct(x) { z in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: m) { u in
                u.initialize(repeating: 0)
                multiply(v.baseAddress!, into: u.baseAddress!)
                for i in 0..<m { u[i] = weigh(u[i], z[i], i) }
                multiplyTransposed(alpha: 1 / Float(m), u.baseAddress!, beta: 0, into: out.baseAddress!)
            }
        }
    }

    /// A stochastic gradient over the rows of mini-batch `batch`
    /// (`MiniBatchSampler`, with replacement): g is zeroed, then for each
    /// row i drawn, with z = ⟨aᵢ, x⟩ in Double, `sample(i, z)` gives the row's
    /// loss and its slope s (nil: the row adds nothing), and g += (s/m)·aᵢ;
    /// last, `OracleNoise` of σ = `noise`. Returns the sum of the rows'
    /// losses and the batch size m.
    func miniBatchGradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, noise: Double, into g: UnsafeMutableBufferPointer<Float>,
                           sample: (Int, Double) -> (loss: Double, slope: Double?)) -> (lossSum: Double, size: Int) {
        precondition(x.count == dimension && g.count == dimension)
        var sampler = MiniBatchSampler(batch: batch, count: count)
        let m = sampler.size, d = dimension
        Kernels.zero(g)
        var total = 0.0
        rows.withUnsafeBufferPointer { a in
            for _ in 0..<m {
                let i = sampler.next()
                let row = UnsafeBufferPointer(rebasing: a[(i * d) ..< (i * d + d)])
                let (loss, slope) = sample(i, Kernels.dot(row, x))
                total += loss
                if let slope { Kernels.axpy(Float(slope / Double(m)), row, g) }
            }
        }
        OracleNoise.add(sigma: noise, batch: batch, to: g)
        return (total, m)
    }
}

extension SpecCheck {
    /// The n×d data matrix of a sample-based problem fits one array (at most 2³¹ values).
    static func sampleMatrix(_ problem: String, n: Int, d: Int) throws {
        let (nd, overflow) = n.multipliedReportingOverflow(by: d)
        guard !overflow, nd <= 1 << 31 else {
            throw CSGDError("problem '\(problem)': n·d = \(n)·\(d) is too large (at most 2^31 values)")
        }
    }
}
