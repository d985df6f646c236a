import CKernels

/// The instruction paths of the C kernels (`csgd_path` in CKernels'
/// kernel_path.h), one meaning for all of them: the Gaussian stream, the
/// fused noisy pass, Philox in bulk and K-of-d sampling. Every path of a
/// kernel gives the same bits; the vector paths run only on CPUs that have
/// their instructions, so the fastest is picked at run time (`best`).
extension KernelPath: @retroactive CaseIterable, @retroactive CustomStringConvertible {
    public static let allCases: [KernelPath] = [.portable, .softwareAES, .avx2, .avx512]

    public var description: String {
        switch self {
        case .portable: return "portable"
        case .softwareAES: return "software-aes"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        }
    }

    /// The fastest path this CPU runs: AVX-512 with VAES, else AVX2 with
    /// AES-NI, else portable.
    public static let best: KernelPath = csgd_best_path()

    /// Which of `allCases` this CPU runs, asked once.
    @usableFromInline static let runs: [Bool] = allCases.map { csgd_path_runs($0) != 0 }

    /// Whether this CPU can run the path.
    @inlinable public var isAvailable: Bool { KernelPath.runs[Int(rawValue)] }
}

/// Standard normals, position-indexed: ARS-7 words through a 1024-layer ziggurat.
///
/// Element `e` of a key's Gaussian stream starts from word `e` of the key's
/// main ARS-7 stream (Random123's AES-round counter-based generator: block
/// `b` = ARS-7 with key (k0, k1, c1, 0) of counter (b mod 2³², c2, c3, b / 2³²),
/// words `4b …4b + 3`). A word gives a layer (10 bits), a sign (1) and a
/// position in the layer (21); inside the layer's inner rectangle (about
/// 99.57% of words) that is the normal. Otherwise the element is finished by
/// the wedge test, or Marsaglia's tail beyond r ≈ 4.039, from its own retry
/// blocks keyed by (e, attempt), so element `e` depends only on the key and
/// `e`, never on the path, SIMD width or split that computed it. Elements come
/// in groups of 64 (`groupSize`); every operation is integer work or one IEEE
/// Float operation without fused multiply–add. The generator and the transform
/// live in C (`CKernels`: normal.c, normal_avx2.c, normal_avx512.c, and
/// error_feedback.c for the fused pass): a portable path (AES-NI when the CPU
/// has it, software AES otherwise; same bits), an AVX2 path with AES-NI and an
/// AVX-512 path with VAES, chosen at run time (`KernelPath`).
/// docs/randomness.md gives the construction in full.
public enum GaussianSIMD {
    /// Elements a group: 16 ARS blocks.
    public static let groupSize = 64

    /// An implementation of the stream (`KernelPath`); all give the same bits.
    public typealias Path = KernelPath

    /// Writes the normals of groups `first ..< first + count` of `key`'s
    /// stream (64 a group, wrapping modulo 2³² groups) into
    /// `out[0 ..< 64·count]`, on `path` (default: the fastest here).
    /// - Precondition: `path.isAvailable`.
    @inlinable
    public static func groups(_ key: RandomKey, first: UInt32, count: Int, into out: UnsafeMutablePointer<Float>,
                              path: Path = .best) {
        guard count > 0 else { return }
        precondition(path.isAvailable, "this CPU cannot run the \(path) path")
        csgd_normal_groups(path, key.k0, key.k1, key.c1, key.c2, key.c3, first, count, out)
    }

    /// Writes the normals of the listed elements of `key`'s stream (any
    /// order, each below 2³²) into `out[0 ..< elements.count]`: element e is
    /// the one `groups` gives at position e. For a few scattered coordinates
    /// (deferred noise) without generating the groups around them.
    @inlinable
    public static func at(_ key: RandomKey, elements: UnsafeBufferPointer<UInt32>, into out: UnsafeMutablePointer<Float>,
                          path: Path = .best) {
        guard let base = elements.baseAddress, elements.count > 0 else { return }
        precondition(path.isAvailable, "this CPU cannot run the \(path) path")
        csgd_normal_at(path, key.k0, key.k1, key.c1, key.c2, key.c3, base, elements.count, out)
    }

    /// Error feedback's fused pass with fresh noise over whole blocks of 1024
    /// elements: e[j] ← (v[j] + σ·z[j]) + e[j] for the elements
    /// `64·firstGroup ..< 64·(firstGroup + count)` of `key`'s stream (z as
    /// `groups` gives them; v and e start at the first of them), and
    /// `laneSums[b][l]` = the Float sum, in order, of v[1024b + 16i + l]² over
    /// i: each block's lanes of Σv², as `SIMD16` accumulation gives them.
    /// Generation, memory update and norm in one pass over v and e.
    /// - Precondition: `firstGroup` and `count` are multiples of 16 (whole
    ///   blocks); `laneSums` holds `count / 16` vectors; `path.isAvailable`.
    @inlinable
    public static func compensate(_ key: RandomKey, firstGroup: UInt32, count: Int, sigma: Float,
                                  v: UnsafePointer<Float>, e: UnsafeMutablePointer<Float>,
                                  laneSums: UnsafeMutablePointer<SIMD16<Float>>, path: Path = .best) {
        guard count > 0 else { return }
        precondition(firstGroup % 16 == 0 && count % 16 == 0, "whole blocks of 16 groups")
        precondition(path.isAvailable, "this CPU cannot run the \(path) path")
        let acc = UnsafeMutableRawPointer(laneSums).assumingMemoryBound(to: Float.self)
        csgd_normal_compensate(path, key.k0, key.k1, key.c1, key.c2, key.c3, firstGroup, count, sigma, v, e, acc)
    }

    /// A word's layer bits: its low `layerBits` bits pick the layer, the next
    /// one is the sign, the top `31 − layerBits` the position in the layer.
    public static let layerBits = Int(csgd_normal_layer_bits())

    /// Layers of the ziggurat (2^`layerBits`).
    public static let layers = 1 << layerBits

    /// The packed widths' fixed-point bits: W[i] = X[i]·2^`widthBits` rounded.
    static let widthBits = Int(csgd_normal_width_bits())

    /// One of the ziggurat's tables as the C kernel holds them (0 packed
    /// entries, 1 exact fast thresholds, 2 and 3 the Float bits of the
    /// layers' bottoms and tops: see docs/randomness.md), for tests.
    static func table(_ which: Int) -> [UInt32] {
        Array(UnsafeBufferPointer(start: csgd_normal_table(Int32(which)), count: layers))
    }

    /// r, where the tail starts.
    static var tailStart: Float { Float(bitPattern: csgd_normal_tail_start_bits()) }

    /// Groups a tile of `forEachRun` (1024 normals, 4 KB: stays in L1).
    public static let tileGroups = 16

    /// Writes the 64 standard normals of group `g` of `key`'s stream into
    /// `out[0 ..< 64]`.
    @inlinable
    public static func group(_ key: RandomKey, _ g: UInt32, into out: UnsafeMutablePointer<Float>) {
        groups(key, first: g, count: 1, into: out)
    }

    /// Calls `body(start, tile, count)` for consecutive runs of the elements
    /// `offset ..< offset + count` of `key`'s stream: `tile[0 ..< count]` are
    /// the normals of elements `offset + start ..< offset + start + count`.
    /// Runs span up to `tileGroups` whole groups; the first may start and
    /// the last end inside a group.
    @inlinable
    public static func forEachRun(
        _ key: RandomKey, count n: Int, offset: Int = 0, path: Path = .best,
        _ body: (_ start: Int, _ tile: UnsafePointer<Float>, _ count: Int) -> Void
    ) {
        guard n > 0 else { return }
        precondition(offset >= 0, "negative offset")
        withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 4 * tileGroups) { t in
            let tile = UnsafeMutableRawPointer(t.baseAddress!).assumingMemoryBound(to: Float.self)
            var j = 0
            while j < n {
                let e = offset + j
                let g = e / groupSize, skip = e - g * groupSize
                let groupsNeeded = min(tileGroups, (skip + (n - j) + groupSize - 1) / groupSize)
                let m = min(groupsNeeded * groupSize - skip, n - j)
                groups(key, first: UInt32(truncatingIfNeeded: g), count: groupsNeeded, into: tile, path: path)
                body(j, tile + skip, m)
                j += m
            }
        }
    }
}
