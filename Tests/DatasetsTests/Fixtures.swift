import Foundation
import XCTest
import CSGDCore
@testable import Datasets

/// Small data files written into a fresh temporary directory for one test,
/// removed when the test ends.
final class Fixtures {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "csgd-datasets-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Writes `bytes` to `name` (gzip-compressed first when `gzip`); returns the path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8], gzip: Bool = false) throws -> String {
        let path = directory + "/" + name
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let content = gzip ? try Gzip.compress(bytes) : bytes
        guard let f = fopen(path, "wb") else { throw CSGDError("cannot create \(path)") }
        defer { fclose(f) }
        let written = content.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        guard written == content.count else { throw CSGDError("cannot write \(path)") }
        return path
    }

    /// An IDX file: magic, big-endian dimensions, data.
    static func idx(magic: UInt32, dims: [Int], data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for v in [Int(magic)] + dims {
            out += [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)]
        }
        return out + data
    }

    /// `n` images of rows×cols with pixel (i, p) = (7i + p) mod 256.
    static func pixels(_ n: Int, _ rows: Int, _ cols: Int) -> [UInt8] {
        (0..<(n * rows * cols)).map { UInt8(((($0 / (rows * cols)) * 7) + $0 % (rows * cols)) % 256) }
    }

    static func imagesFile(_ n: Int, _ rows: Int, _ cols: Int) -> [UInt8] {
        idx(magic: IDXReader.imagesMagic, dims: [n, rows, cols], data: pixels(n, rows, cols))
    }

    static func labelsFile(_ labels: [UInt8]) -> [UInt8] {
        idx(magic: IDXReader.labelsMagic, dims: [labels.count], data: labels)
    }

    /// Writes the four IDX files of a small MNIST-like set (train: `n`
    /// images, test: `m`), raw or gzip.
    func writeMNIST(train n: Int, test m: Int, rows: Int = 4, cols: Int = 3, gzip: Bool) throws {
        let suffix = gzip ? ".gz" : ""
        try write("train-images-idx3-ubyte" + suffix, Self.imagesFile(n, rows, cols), gzip: gzip)
        try write("train-labels-idx1-ubyte" + suffix, Self.labelsFile((0..<n).map { UInt8($0 % 10) }), gzip: gzip)
        try write("t10k-images-idx3-ubyte" + suffix, Self.imagesFile(m, rows, cols), gzip: gzip)
        try write("t10k-labels-idx1-ubyte" + suffix, Self.labelsFile((0..<m).map { UInt8(($0 * 3) % 10) }), gzip: gzip)
    }
}

/// Asserts that `body` throws a one-line `CSGDError` whose message contains
/// every string of `fragments`; returns the message.
@discardableResult
func assertOneLineError<T>(
    _ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) -> String? {
    do {
        _ = try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
        return nil
    } catch let e as CSGDError {
        let m = e.description
        XCTAssertFalse(m.contains("\n"), "message has several lines: \(m)", file: file, line: line)
        for f in fragments {
            XCTAssertTrue(m.contains(f), "message '\(m)' lacks '\(f)'", file: file, line: line)
        }
        return m
    } catch {
        XCTFail("unexpected error type: \(error)", file: file, line: line)
        return nil
    }
}
