// The data set readers' fuzz targets: IDX images and labels (MNIST,
// Fashion-MNIST), CIFAR-10 batches and the gzip decompression they share,
// each fed from memory through the same code as a file.
//
// An input is a mode byte and the rest. For the three file readers, the
// mode's bit 0 asks the harness to gzip the rest first (so a mutated header
// also reaches the reader through the inflater, which the fuzzer could not
// reach by itself past gzip's CRC-32); for IDX labels, mode >> 1 is the
// number of classes the labels must be below (0: no bound). For every input:
//   • reading throws nothing but a `CSGDError` that starts with the file's
//     name;
// and when it succeeds:
//   • what was read, written back in the format (header and data), is the
//     file's data byte for byte (so nothing is dropped, added or reordered,
//     and the sizes agree with the header);
//   • labels are below the bound given (10 for CIFAR-10).
// Memory is bounded by the input: a header that promises gigabytes must be
// refused (or read as truncated) without allocating them; libFuzzer's
// -malloc_limit_mb catches a reader that trusts it.
//
// The gzip target: with the mode's bit 0 the rest is data the harness
// compresses (level = mode >> 4 mod 10) into one member, or with bit 1 into
// two members split at the rest's first byte, and decompressing must give
// the data back exactly. Otherwise the rest is a file: decompressing it
// must fail with a `CSGDError` naming it, or give bytes that are the input
// itself (no gzip magic) or that compress and decompress back to themselves.

import CSGDCore
import Datasets

enum DatasetTargets {
    static let name = "fuzz.bin"
    /// The readers' memory budget: libFuzzer's own limit (a fixed figure, so
    /// no execution reads the system's available memory).
    static let budget = MemoryBudget(bytes: 2 << 30, source: "the fuzzer's -malloc_limit_mb")

    static var all: [FuzzTarget] { [idxImages(), idxLabels(), cifar10(), gzip()] }

    static func rest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { bytes.count > 1 ? Array(bytes[1...]) : [] }

    /// The file an input stands for.
    static func file(_ target: String, _ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let r = rest(bytes)
        if let mode = bytes.first, mode & 1 == 1 {
            do { return try Gzip.compress(r) } catch { failInput(target, "gzip could not compress the input: \(error)", bytes) }
        }
        return r
    }

    /// The data of a file the reader accepted (what it should have seen):
    /// the rest, inflated when the rest is gzip (the harness's or the input's).
    static func data(_ target: String, _ bytes: UnsafeRawBufferPointer, file: [UInt8]) -> [UInt8] {
        guard file.count >= 2, file[0] == 0x1F, file[1] == 0x8B else { return file }
        do { return try file.withUnsafeBytes { try Gzip.decompress($0, name: name) } } catch {
            failInput(target, "the reader accepted a file whose gzip stream does not decompress: \(error)", bytes)
        }
    }

    static func bigEndian(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }

    static func gzipped(_ bytes: [UInt8]) -> [UInt8] { (try? Gzip.compress(bytes)) ?? [] }

    // MARK: IDX

    static func idxImages() -> FuzzTarget {
        let target = "idx-images"
        return FuzzTarget(name: target, run: { bytes in
            let f = file(target, bytes)
            let images: IDXReader.Images
            do {
                images = try f.withUnsafeBytes { try IDXReader.readImages(bytes: $0, name: name, budget: budget) }
            } catch {
                checkError(error, target: target, prefix: "\(name): ", bytes)
                return
            }
            let back = bigEndian(Int(IDXReader.imagesMagic)) + bigEndian(images.count) + bigEndian(images.rows)
                + bigEndian(images.columns) + images.pixels
            if images.count * images.rows * images.columns != images.pixels.count || back != data(target, bytes, file: f) {
                failInput(target, "read \(images.count) images of \(images.rows)×\(images.columns) in \(images.pixels.count) bytes, which write back as other data", bytes)
            }
        }, seeds: {
            var seeds: [[UInt8]] = []
            for (n, r, c) in [(1, 1, 1), (2, 3, 4), (3, 28, 28)] {
                let file = bigEndian(Int(IDXReader.imagesMagic)) + bigEndian(n) + bigEndian(r) + bigEndian(c)
                    + (0..<(n * r * c)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
                seeds += [[0] + file, [1] + file, [0] + gzipped(file)]
            }
            return seeds
        })
    }

    static func idxLabels() -> FuzzTarget {
        let target = "idx-labels"
        return FuzzTarget(name: target, run: { bytes in
            let f = file(target, bytes)
            let classes = bytes.first.map { Int($0 >> 1) } ?? 0
            let labels: [UInt8]
            do {
                labels = try f.withUnsafeBytes { try IDXReader.readLabels(bytes: $0, name: name, classes: classes > 0 ? classes : nil, budget: budget) }
            } catch {
                checkError(error, target: target, prefix: "\(name): ", bytes)
                return
            }
            if classes > 0, let l = labels.first(where: { Int($0) >= classes }) {
                failInput(target, "label \(l) read where labels are below \(classes)", bytes)
            }
            if bigEndian(Int(IDXReader.labelsMagic)) + bigEndian(labels.count) + labels != data(target, bytes, file: f) {
                failInput(target, "\(labels.count) labels read, which write back as other data", bytes)
            }
        }, seeds: {
            var seeds: [[UInt8]] = []
            for n in [1, 10, 100] {
                let file = bigEndian(Int(IDXReader.labelsMagic)) + bigEndian(n) + (0..<n).map { UInt8($0 % 10) }
                seeds += [[20] + file, [21] + file, [0] + gzipped(file)]
            }
            return seeds
        })
    }

    // MARK: CIFAR-10

    static func cifar10() -> FuzzTarget {
        let target = "cifar10"
        return FuzzTarget(name: target, run: { bytes in
            let f = file(target, bytes)
            let batch: (pixels: [UInt8], labels: [UInt8])
            do {
                batch = try f.withUnsafeBytes { try CIFAR10Reader.readBatch(bytes: $0, name: name, budget: budget) }
            } catch {
                checkError(error, target: target, prefix: "\(name): ", bytes)
                return
            }
            let p = CIFAR10Reader.recordSize - 1
            if batch.labels.contains(where: { Int($0) >= CIFAR10Reader.classes }) || batch.pixels.count != p * batch.labels.count {
                failInput(target, "\(batch.labels.count) labels and \(batch.pixels.count) pixel bytes read", bytes)
            }
            var back: [UInt8] = []
            for (i, l) in batch.labels.enumerated() { back += [l] + batch.pixels[(i * p) ..< ((i + 1) * p)] }
            if back != data(target, bytes, file: f) { failInput(target, "the records read write back as other data", bytes) }
        }, seeds: {
            var seeds: [[UInt8]] = []
            for n in [1, 2] {
                var file: [UInt8] = []
                for r in 0..<n {
                    file.append(UInt8(r % 10))
                    for i in 0..<(CIFAR10Reader.recordSize - 1) { file.append(UInt8(truncatingIfNeeded: i &* 7 &+ r)) }
                }
                seeds += [[0] + file, [1] + file, [0] + gzipped(file)]
            }
            return seeds
        })
    }

    // MARK: gzip

    static func gzip() -> FuzzTarget {
        let target = "gzip"
        return FuzzTarget(name: target, run: { bytes in
            let r = rest(bytes)
            let mode = bytes.first ?? 0
            if mode & 3 != 0 {
                let file: [UInt8]
                do {
                    let level = Int32(mode >> 4) % 10
                    if mode & 2 != 0 {
                        let cut = min(Int(r.first ?? 0), r.count)
                        file = try Gzip.compress(Array(r[..<cut]), level: level) + Gzip.compress(Array(r[cut...]), level: level)
                    } else {
                        file = try Gzip.compress(r, level: level)
                    }
                } catch {
                    failInput(target, "gzip could not compress the input: \(error)", bytes)
                }
                let out: [UInt8]
                do { out = try file.withUnsafeBytes { try Gzip.decompress($0, name: name) } } catch {
                    failInput(target, "a file gzip wrote does not decompress: \(error)", bytes)
                }
                if out != r { failInput(target, "a file gzip wrote decompresses to \(out.count) other bytes", bytes) }
                return
            }
            let out: [UInt8]
            do {
                out = try r.withUnsafeBytes { try Gzip.decompress($0, name: name) }
            } catch {
                checkError(error, target: target, prefix: "\(name): ", bytes)
                return
            }
            if !(r.count >= 2 && r[0] == 0x1F && r[1] == 0x8B) {
                if out != r { failInput(target, "a file without the gzip magic reads as other bytes", bytes) }
                return
            }
            let again = gzipped(out)
            let back = try? again.withUnsafeBytes { try Gzip.decompress($0, name: name) }
            if back != out { failInput(target, "its \(out.count) decompressed bytes do not survive another compression", bytes) }
        }, seeds: {
            let text = Array("the quick brown fox jumps over the lazy dog, again and again and again".utf8)
            let data = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* $0 &+ 11) }
            return [[1] + text, [2] + [30] + text, [0x91] + data, [0] + gzipped(text), [0] + gzipped(data) + gzipped(text), [0] + text]
        })
    }
}
