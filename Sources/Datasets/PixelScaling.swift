/// Conversion of 8-bit pixels to Float32 in [0, 1].
///
/// Every reader turns byte `b` into `Float(b) / 255` (exactly the division,
/// as torchvision's `ToTensor` does), through one table of the 256 possible
/// values so that the loop over tens of millions of pixels is a load and a
/// store each, even in a debug build.
enum PixelScaling {
    /// `Float(b) / 255` for every byte value.
    static let table: [Float] = (0..<256).map { Float($0) / 255 }

    /// The pixels of `bytes`, scaled.
    static func floats(_ bytes: [UInt8]) -> [Float] {
        bytes.withUnsafeBufferPointer { floats($0) }
    }

    /// The pixels of `bytes`, scaled.
    static func floats(_ bytes: UnsafeBufferPointer<UInt8>) -> [Float] {
        [Float](unsafeUninitializedCapacity: bytes.count) { out, initialized in
            if let base = out.baseAddress { append(bytes, to: base) }
            initialized = bytes.count
        }
    }

    /// Writes the scaled pixels of `bytes` at `out` (room for `bytes.count`).
    static func append(_ bytes: UnsafeBufferPointer<UInt8>, to out: UnsafeMutablePointer<Float>) {
        guard let src = bytes.baseAddress else { return }
        table.withUnsafeBufferPointer { t in
            let tp = t.baseAddress!
            for i in 0..<bytes.count { out[i] = tp[Int(src[i])] }
        }
    }
}
