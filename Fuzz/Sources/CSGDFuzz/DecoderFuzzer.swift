// The wire decoders' fuzz targets, one a decoder (`Harness.decoders`).
//
// An input is a small header that fixes the compressor's parameters (d ≤ 4096
// and, per decoder, K, R, C, S and the shared key), followed by the message.
// The compressor is built through the factory, `CompressorSpec.make`, so the
// harness follows whatever the factory builds. For every input:
//   • decoding may throw, but only a `WireFormatError` (the protocol's contract);
//   • `decode(_:key:into:)` into a new message and a `BitReader` over libFuzzer's
//     own exactly-sized buffer (ASan-precise) decoding into a *used* message
//     (the previous input's, or one holding a compress's state) both succeed
//     or both throw;
// and when it succeeds:
//   • bits(of:) = 8·bytes − padding, with 0 ≤ padding < 8;
//   • re-encoding writes exactly bits(of:) bits and gives the same bytes;
//   • the used message re-encodes to the same bytes too;
//   • decompress and add into an exactly-sized buffer do not trap (ASan
//     checks them).
// A failed check traps, which libFuzzer reports as a crash with the input.
// The seeds are a few valid messages per decoder.

import CSGDCore
import Compression

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads the header fields off the front of the input, little-endian; missing
/// bytes read as zero, so every input has a header.
struct HeaderReader {
    let data: UnsafeRawBufferPointer
    var offset = 0

    mutating func u8() -> Int {
        defer { offset += 1 }
        return offset < data.count ? Int(data[offset]) : 0
    }
    mutating func u16() -> Int { u8() | u8() << 8 }
    mutating func u32() -> Int { u16() | u16() << 16 }

    /// The message: what follows the header (empty when the input is shorter).
    var rest: UnsafeRawBufferPointer {
        offset >= data.count ? UnsafeRawBufferPointer(start: nil, count: 0)
            : UnsafeRawBufferPointer(rebasing: data[offset...])
    }
}

/// The parameters of one fuzz case: a spec for the factory, its dimension and
/// the key the message is decoded with.
struct Case {
    var spec: CompressorSpec
    var dimension: Int
    var key: RandomKey

    /// The header bytes that `Harness.parse` reads back as this case.
    var header: [UInt8]
}

enum Harness {
    static let maxDimension = 4096
    /// sketch-topk's d: smaller, since each decode estimates all d coordinates
    /// from the sketch (R lookups each), which would dominate its executions.
    static let maxSketchDimension = 512
    static let maxRows = 8
    static let maxCols = 2048

    /// Decoder names, one a compressor kind and wire format.
    static let decoders = ["none", "fp64", "randomk", "topk", "sketch-topk", "sign", "qsgd-elias", "qsgd-fixed"]

    static func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    /// Header layout per decoder (all fields little-endian):
    ///   none, fp64, sign: d:2
    ///   randomk:       d:2 K:2 seed:1 step:1
    ///   topk:          d:2 K:2
    ///   sketch-topk:   d:2 K:2 R:1 C:2 seed:1 step:1   (R's bit 7 / bit 6: default R / default C)
    ///   qsgd-*:        d:2 S:4 seed:1
    /// with d = 1 + (v mod 4096) (sketch-topk: v mod 512), K = 1 + (v mod d), R = 1 + (v mod 8),
    /// C = 1 + (v mod 2048), S = 1 + (v mod 2^30).
    static func parse(_ decoder: String, _ h: inout HeaderReader) -> Case {
        let start = h.offset
        let d = 1 + h.u16() % (decoder == "sketch-topk" ? maxSketchDimension : maxDimension)
        var key = RandomKey(seed: 0, purpose: .test)
        let spec: CompressorSpec
        switch decoder {
        case "none":
            spec = .none
        case "fp64":
            spec = .fp64
        case "sign":
            spec = .sign
        case "randomk":
            let k = 1 + h.u16() % d
            key = RandomKey(seed: UInt64(h.u8()), step: UInt64(h.u8()), purpose: .test)
            spec = .randomK(.count(k))
        case "topk":
            spec = .topK(.count(1 + h.u16() % d))
        case "sketch-topk":
            let k = 1 + h.u16() % d
            let rByte = h.u8()
            let c = 1 + h.u16() % maxCols
            key = RandomKey(seed: UInt64(h.u8()), step: UInt64(h.u8()), purpose: .test)
            spec = .sketchTopK(.count(k), rows: rByte & 0x80 != 0 ? nil : 1 + (rByte & 0x3F) % maxRows,
                               cols: rByte & 0x40 != 0 ? nil : c)
        case "qsgd-elias", "qsgd-fixed":
            let s = 1 + h.u32() % (1 << 30)
            key = RandomKey(seed: UInt64(h.u8()), purpose: .test)
            spec = .qsgd(levels: s, coding: decoder == "qsgd-fixed" ? .fixed : .elias)
        default:
            fatalError("unknown decoder '\(decoder)' (expected one of: \(decoders.joined(separator: ", ")))")
        }
        let header = h.offset <= h.data.count ? Array(h.data[start ..< h.offset]) : []
        return Case(spec: spec, dimension: d, key: key, header: header)
    }

    /// Headers for the seed corpus: a few (d, parameters, key) per decoder.
    static func seedHeaders(_ decoder: String) -> [[UInt8]] {
        let dims = [1, 7, 64, 100, 1000, 4096]
        var out: [[UInt8]] = []
        for d in dims {
            let dv = le(d - 1, 2)
            let ks = Set([1, max(1, d / 100), max(1, d / 10), d]).sorted()
            switch decoder {
            case "none", "fp64", "sign":
                out.append(dv)
            case "randomk":
                for k in ks { out.append(dv + le(k - 1, 2) + [UInt8(d % 251), 3]) }
            case "topk":
                for k in ks { out.append(dv + le(k - 1, 2)) }
            case "sketch-topk":
                for k in ks {
                    out.append(dv + le(k - 1, 2) + [0xC0] + le(0, 2) + [1, 2])          // default R and C
                    out.append(dv + le(k - 1, 2) + [2] + le(min(2 * k, 2047), 2) + [5, 0]) // R = 3, C = 2K+1
                }
            case "qsgd-elias", "qsgd-fixed":
                for s in [1, 15, 255, 1 << 30] { out.append(dv + le(s - 1, 4) + [9]) }
            default:
                break
            }
        }
        return out
    }
}

// MARK: - The checks

func fail(_ what: String, _ c: some Compressor, _ cs: Case, _ bytes: UnsafeRawBufferPointer) -> Never {
    let hex = bytes.prefix(64).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    fatalError("\(c) d=\(cs.dimension) key=\(cs.key): \(what) (message \(bytes.count) bytes: \(hex)\(bytes.count > 64 ? "…" : ""))")
}

/// Messages kept per compressor (kind, parameters, d) seen recently:
/// `pristine`, as `makeMessage()` made it, which every input decodes into a
/// copy of (a message is a value: the copy is a new message, without paying
/// for `makeMessage`'s allocations on every input), and `used`, the message
/// of the previous input with that compressor, which the next one decodes
/// into: that checks that a decoder overwrites whatever an earlier compress,
/// decode or failed decode left there.
nonisolated(unsafe) var cache: [String: (pristine: Any, used: Any)] = [:]
nonisolated(unsafe) var cacheMisses = 0

func cachedMessages<C: Compressor>(_ c: C, id: String, _ cs: Case) -> (pristine: C.Message, used: C.Message) {
    if let k = cache[id], let p = k.pristine as? C.Message, let u = k.used as? C.Message { return (p, u) }
    if cache.count >= 256 { cache.removeAll() }
    let pristine = c.makeMessage()
    var used = pristine
    // A new compressor: every 16th time, start `used` from a compress's state
    // (compressing is not what is fuzzed here, and costs more than decoding).
    cacheMisses += 1
    if cacheMisses % 16 == 1 {
        let x = UnsafeMutableBufferPointer<Float>.allocate(capacity: cs.dimension)
        defer { x.deallocate() }
        RandomFill.gaussian(RandomKey(seed: 7, purpose: .test), sigma: 1, into: x)
        c.compress(UnsafeBufferPointer(x), key: RandomKey(seed: 1, step: 1, worker: 0, purpose: .test), into: &used)
    }
    return (pristine, used)
}

/// Decodes `bytes` and checks the contract; returns whether decoding succeeded.
@discardableResult
func check<C: Compressor>(_ c: C, _ cs: Case, _ bytes: UnsafeRawBufferPointer) -> Bool {
    let array = [UInt8](bytes)
    let id = "\(C.self) \(c) d=\(cs.dimension)"
    let (pristine, previous) = cachedMessages(c, id: id, cs)
    var used = previous
    defer { cache[id] = (pristine, used) }

    // The same decode with a BitReader over libFuzzer's own exactly-sized
    // buffer (so ASan sees any read past the end), into the used message.
    var reader = BitReader(bytes)
    var readerError: Error?
    do {
        try c.decode(from: &reader, key: cs.key, into: &used)
        try reader.finish()
    } catch {
        readerError = error
    }

    var decoded = pristine
    do {
        try c.decode(array, key: cs.key, into: &decoded)
    } catch {
        guard error is WireFormatError else { fail("decode threw a non-WireFormatError: \(error)", c, cs, bytes) }
        if readerError == nil { fail("decode(_:key:into:) threw \(error) but decoding into a used message succeeded", c, cs, bytes) }
        return false
    }
    if let readerError { fail("decoding into a used message threw \(readerError) but decode(_:key:into:) succeeded", c, cs, bytes) }

    // bits(of:) = 8·bytes − padding, 0 ≤ padding < 8.
    let bits = c.bits(of: decoded)
    let padding = 8 * bytes.count - bits
    if !(0..<8).contains(padding) { fail("bits(of:) = \(bits) but the message has \(bytes.count) bytes", c, cs, bytes) }

    // Re-encoding gives the same bytes, exactly bits(of:) of them.
    var w = BitWriter(reservingBits: bits)
    c.encode(decoded, into: &w)
    if w.bitCount != bits { fail("encode wrote \(w.bitCount) bits but bits(of:) = \(bits)", c, cs, bytes) }
    if w.finished() != array { fail("re-encoding differs from the input", c, cs, bytes) }

    // The used message decoded to the same message.
    if c.bits(of: used) != bits || c.encode(used) != array {
        fail("decoding into a used message gave another message", c, cs, bytes)
    }

    // decompress (and add) into an exactly-sized buffer.
    let y = UnsafeMutableBufferPointer<Float>.allocate(capacity: cs.dimension)
    defer { y.deallocate() }
    c.decompress(decoded, into: y)
    c.add(used, scaledBy: -0.5, into: y)
    return true
}

func makeCompressor(_ cs: Case) -> (any Compressor)? {
    do {
        return try cs.spec.make(dimension: cs.dimension)
    } catch {
        return nil   // parameters the factory refuses (K > d, …)
    }
}

func runOne(_ decoder: String, _ data: UnsafeRawBufferPointer) {
    var h = HeaderReader(data: data)
    let cs = Harness.parse(decoder, &h)
    guard let c = makeCompressor(cs) else { return }
    check(c, cs, h.rest)
}

// MARK: - The target

enum DecoderTarget {
    static func make(_ decoder: String) -> FuzzTarget {
        FuzzTarget(name: decoder, run: { runOne(decoder, $0) }, seeds: { seeds(decoder) }, pending: { pending(decoder) })
    }

    /// Why the factory cannot build this decoder's compressor yet, if so.
    static func pending(_ decoder: String) -> String? {
        let probe = Harness.seedHeaders(decoder)[0].withUnsafeBytes { raw -> Case in
            var h = HeaderReader(data: raw)
            return Harness.parse(decoder, &h)
        }
        do {
            _ = try probe.spec.make(dimension: probe.dimension)
            return nil
        } catch {
            return "the factory cannot build it: \(error)"
        }
    }

    /// Two valid messages per seed header: a Gaussian vector, and a small
    /// one with some exact zeros, each compressed and encoded.
    static func seeds(_ decoder: String) -> [[UInt8]] {
        var all: [[UInt8]] = []
        for header in Harness.seedHeaders(decoder) {
            let cs = header.withUnsafeBytes { raw -> Case in
                var h = HeaderReader(data: raw)
                return Harness.parse(decoder, &h)
            }
            precondition(cs.header == header, "seed header \(header) parses as \(cs.header)")
            guard let c = makeCompressor(cs) else { continue }
            func seed<C: Compressor>(_ c: C) -> [[UInt8]] {
                let x = UnsafeMutableBufferPointer<Float>.allocate(capacity: cs.dimension)
                defer { x.deallocate() }
                var out: [[UInt8]] = []
                for (i, sigma) in [Float(1), 1e-3].enumerated() {
                    RandomFill.gaussian(RandomKey(seed: 42, step: UInt64(i), purpose: .test), sigma: sigma, into: x)
                    if i == 1 { for j in stride(from: 0, to: x.count, by: 3) { x[j] = 0 } }   // some exact zeros
                    let m = c.compress(UnsafeBufferPointer(x), key: cs.key)
                    out.append(header + c.encode(m))
                }
                return out
            }
            for bytes in seed(c) {
                // Only seeds that pass the checks: a failing seed is a bug, reported here.
                bytes.withUnsafeBytes { raw in
                    var h = HeaderReader(data: raw)
                    let cs2 = Harness.parse(decoder, &h)
                    if !check(c, cs2, h.rest) { fatalError("\(c): a freshly encoded message (seed) did not decode") }
                }
                all.append(bytes)
            }
        }
        return all
    }
}
