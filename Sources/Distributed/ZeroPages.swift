import CSGDCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A vector of zeros in an anonymous memory mapping: its pages take memory
/// only once written. A rank's scratch, which most ranks of most runs never
/// touch (only rank 0's records, the error reset and PGD's perturbation
/// use it), costs W vectors of d floats in a `FloatBuffer` and almost
/// nothing here.
final class ZeroPages {
    let count: Int
    private let base: UnsafeMutableRawPointer
    /// The mapping's length (0: a small vector, allocated and zeroed).
    private let mapped: Int

    /// Vectors under 64 KiB are allocated and zeroed as usual (a mapping a
    /// rank would only add to the process's map count).
    /// - Throws: `CSGDError` when the mapping cannot be made.
    init(count: Int) throws {
        precondition(count >= 0, "negative buffer size")
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        if bytes < 1 << 16 {
            base = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            base.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
            mapped = 0
            return
        }
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            throw CSGDError("cannot map \(bytes) bytes of scratch: \(String(cString: strerror(errno)))")
        }
        base = p
        mapped = bytes
    }

    deinit {
        if mapped > 0 { munmap(base, mapped) } else { base.deallocate() }
    }

    var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: base.assumingMemoryBound(to: Float.self), count: count)
    }

    var readOnly: UnsafeBufferPointer<Float> { UnsafeBufferPointer(buffer) }
}
