import CKernels

/// ARS-4x32, Random123's AES-round counter-based generator, one block at a time.
///
/// The Gaussian stream (`GaussianSIMD`) draws its words from ARS-7; this type
/// exposes single blocks so that tests can check the generator against
/// Random123's published known-answer vectors and check AES-NI against the
/// software AES. A block is the 128-bit counter XOR the key, then `rounds − 1`
/// AES rounds and a last one, the key bumped by the Weyl constants
/// (0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B as two 64-bit halves) before each.
public enum ARS4x32 {
    /// Whether this CPU has AES-NI.
    public static var hasAESNI: Bool { csgd_has_aesni() == 1 }

    /// One block: four words of output for a key and a counter (word 0 lowest).
    /// With `aesni` (and a CPU that has it) by AES-NI, otherwise in software.
    public static func block(key: SIMD4<UInt32>, counter: SIMD4<UInt32>, rounds: Int = 7, aesni: Bool = true) -> SIMD4<UInt32> {
        precondition((1...10).contains(rounds), "ARS takes 1 to 10 rounds")
        var k = key, c = counter, out = SIMD4<UInt32>()
        withUnsafePointer(to: &k) { kp in
            withUnsafePointer(to: &c) { cp in
                withUnsafeMutablePointer(to: &out) { op in
                    kp.withMemoryRebound(to: UInt32.self, capacity: 4) { kw in
                        cp.withMemoryRebound(to: UInt32.self, capacity: 4) { cw in
                            op.withMemoryRebound(to: UInt32.self, capacity: 4) { ow in
                                csgd_ars4x32(kw, cw, UInt32(rounds), aesni ? 1 : 0, ow)
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
