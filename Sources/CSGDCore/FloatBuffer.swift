/// An owned, 64-byte-aligned, contiguous Float32 vector: the storage for
/// parameters, gradients, error memories and noise.
///
/// Hot loops work on its `pointer`/`buffer` views directly; it never copies
/// itself on mutation (it is a reference type), so one worker's state stays in
/// one place for the whole run. Not thread-safe: give each worker its own.
public final class FloatBuffer {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    /// A buffer of `count` zeros.
    public init(count: Int) {
        precondition(count >= 0, "negative buffer size")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
        self.pointer = raw.assumingMemoryBound(to: Float.self)
    }

    /// A buffer holding a copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { src in
            if let s = src.baseAddress { pointer.update(from: s, count: values.count) }
        }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    /// A view of the storage. Like `pointer`, it is valid only while this
    /// buffer is alive: keep a reference across the call that uses it (a
    /// stored property, or `withExtendedLifetime` for a temporary).
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    public var readOnly: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }

    public subscript(i: Int) -> Float {
        get { precondition(i >= 0 && i < count); return pointer[i] }
        set { precondition(i >= 0 && i < count); pointer[i] = newValue }
    }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: count) }

    /// Copies `other` (same count) into this buffer.
    public func copy(from other: FloatBuffer) {
        precondition(other.count == count, "size mismatch")
        pointer.update(from: other.pointer, count: count)
    }

    /// The contents as an array (for tests and reporting, not hot loops).
    public var array: [Float] { Array(readOnly) }
}
