/// The per-channel vector operations of the layers on batch-innermost
/// activations (row c = channel c over all positions and samples): adding a bias to
/// each row, summing each row (bias and BatchNorm gradients), and adding
/// buffers. Sums run in a fixed order (8 Float lanes, then Double), so their
/// result depends only on the input.
public enum RowOps {
    /// y[r][j] += bias[r] for a `rows`×`columns` row-major y.
    public static func addBias(_ y: UnsafeMutablePointer<Float>, rows: Int, columns: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let b = bias[r]
            let row = y + r * columns
            var j = 0
            while j + 8 <= columns {
                let v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self) + b
                UnsafeMutableRawPointer(row + j).storeBytes(of: v, as: SIMD8<Float>.self)
                j += 8
            }
            while j < columns { row[j] += b; j += 1 }
        }
    }

    /// Σ_j x[j] over `count` floats.
    @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var acc = SIMD8<Float>()
        var j = 0
        var total = 0.0
        while j + 8 <= count {
            acc += UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self)
            j += 8
            if j & 1023 == 0 { total += Double(acc.sum()); acc = SIMD8<Float>() }
        }
        total += Double(acc.sum())
        while j < count { total += Double(x[j]); j += 1 }
        return total
    }

    /// Σ_j x[j]·y[j] over `count` floats.
    @inline(__always)
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Double {
        var acc = SIMD8<Float>()
        var j = 0
        var total = 0.0
        while j + 8 <= count {
            acc += UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self) * UnsafeRawPointer(y + j).loadUnaligned(as: SIMD8<Float>.self)
            j += 8
            if j & 1023 == 0 { total += Double(acc.sum()); acc = SIMD8<Float>() }
        }
        total += Double(acc.sum())
        while j < count { total += Double(x[j] * y[j]); j += 1 }
        return total
    }

    /// out[r] = Σ_j x[r][j] for a `rows`×`columns` row-major x.
    public static func rowSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { out[r] = Float(sum(x + r * columns, count: columns)) }
    }

    /// y[j] += x[j].
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var j = 0
        while j + 8 <= count {
            let v = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(y + j).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + j).storeBytes(of: v, as: SIMD8<Float>.self)
            j += 8
        }
        while j < count { y[j] += x[j]; j += 1 }
    }
}
