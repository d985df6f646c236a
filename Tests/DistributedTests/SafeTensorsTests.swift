import Checkpointing
import CSGDCore
import Foundation
import XCTest

/// The safetensors writer and reader: a round trip keeps every bit, the
/// layout is the format's (8-byte length, space-padded JSON, contiguous
/// data), and damaged files are refused in one line naming the fault.
final class SafeTensorsTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-safetensors-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func write(_ bytes: [UInt8], _ name: String = "t.safetensors") throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A file from its JSON header text and `data` bytes, as a hostile writer would make it.
    func raw(_ json: String, data: Int, length: UInt64? = nil) throws -> String {
        let h = Array(json.utf8)
        var b: [UInt8] = []
        withUnsafeBytes(of: (length ?? UInt64(h.count)).littleEndian) { b.append(contentsOf: $0) }
        return try write(b + h + [UInt8](repeating: 7, count: data))
    }

    func testRoundTripKeepsEveryBitAndTheLayout() throws {
        let w: [Float] = [1.5, -0, .nan, .infinity, -.leastNonzeroMagnitude, 3.25, 1e-30, -7]
        let b: [Float] = [0.125, -2]
        let tensors = [
            w.withUnsafeBufferPointer { SafeTensors.Tensor(name: "0.weight", shape: [2, 4], floats: $0) },
            b.withUnsafeBufferPointer { SafeTensors.Tensor(name: "0.bias", shape: [2], floats: $0) },
            SafeTensors.Tensor(name: "1.num_batches_tracked", shape: [], int64s: [Int64.max - 1]),
            [Float]().withUnsafeBufferPointer { SafeTensors.Tensor(name: "empty", shape: [0, 3], floats: $0) },
        ]
        let bytes = try SafeTensors.encode(tensors, metadata: ["params_sha256": "abc", "model": "mlp:4-2"])
        // 8-byte length, a JSON header padded with spaces to a multiple of 8, then 32 + 8 + 8 bytes of data.
        let n = bytes.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(bytes.count, 8 + n + 48)
        XCTAssertEqual(bytes[8], UInt8(ascii: "{"))
        let f = try SafeTensorsFile(path: try write(bytes))
        XCTAssertEqual(f.header.metadata, ["params_sha256": "abc", "model": "mlp:4-2"])
        XCTAssertEqual(f.header.namesInDataOrder, ["0.weight", "0.bias", "1.num_batches_tracked", "empty"])
        XCTAssertEqual(f.header.entries["0.weight"], SafeTensorsEntry(dtype: "F32", shape: [2, 4], begin: 0, end: 32))
        XCTAssertEqual(f.header.entries["1.num_batches_tracked"], SafeTensorsEntry(dtype: "I64", shape: [], begin: 40, end: 48))
        XCTAssertEqual(try f.floats(of: "0.weight").map(\.bitPattern), w.map(\.bitPattern))
        XCTAssertEqual(try f.floats(of: "0.bias"), b)
        XCTAssertEqual(try f.floats(of: "empty"), [])
        XCTAssertEqual(try f.int64s(of: "1.num_batches_tracked"), [Int64.max - 1])
        // Little-endian on disk, whatever the host: 1.5 is 0x3FC00000.
        XCTAssertEqual(Array(bytes[(8 + n)..<(8 + n + 4)]), [0x00, 0x00, 0xC0, 0x3F])
        XCTAssertThrowsError(try f.floats(of: "1.num_batches_tracked")) { XCTAssertTrue("\($0)".contains("has dtype I64, not F32"), "\($0)") }
        XCTAssertThrowsError(try f.floats(of: "nosuch")) { XCTAssertTrue("\($0)".contains("has no tensor 'nosuch'"), "\($0)") }
    }

    func testTheWriterRefusesInconsistentTensors() {
        let cases: [(SafeTensors.Tensor, String)] = [
            (SafeTensors.Tensor(name: "a", dtype: "F32", shape: [3], bytes: [0, 0, 0, 0]), "has 4 bytes"),
            (SafeTensors.Tensor(name: "a", dtype: "F31", shape: [1], bytes: [0, 0, 0, 0]), "unknown dtype 'F31'"),
            (SafeTensors.Tensor(name: "__metadata__", dtype: "U8", shape: [1], bytes: [0]), "reserved"),
            (SafeTensors.Tensor(name: "a", dtype: "F32", shape: [1 << 62, 8], bytes: []), "has 0 bytes"),
        ]
        for (t, says) in cases {
            XCTAssertThrowsError(try SafeTensors.encode([t], metadata: [:])) { XCTAssertTrue("\($0)".contains(says), "\($0)") }
        }
        let a = SafeTensors.Tensor(name: "a", dtype: "U8", shape: [1], bytes: [1])
        XCTAssertThrowsError(try SafeTensors.encode([a, a], metadata: [:])) { XCTAssertTrue("\($0)".contains("given twice"), "\($0)") }
    }

    /// Every damage the format's rules forbid is one line naming the file and the fault.
    func testDamagedFilesAreRefusedInOneLine() throws {
        let f32 = #""dtype":"F32""#
        let cases: [(() throws -> String, String)] = [
            ({ try self.write([1, 2, 3]) }, "3 bytes, shorter than the 8-byte header length"),
            ({ try self.raw("{}", data: 0, length: 1 << 40) }, "over the format's limit of 100000000"),
            ({ try self.raw("{}", data: 0, length: 1000) }, "the header length 1000 runs past the end of the file"),
            ({ try self.raw(" {}", data: 0) }, "does not start with '{'"),
            ({ try self.raw("[1, 2]", data: 0) }, "does not start with '{'"),
            ({ try self.raw("{\"a\": ", data: 0) }, "is not valid JSON"),
            ({ try self.raw("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", data: 4) }, "tensor 'a' has unknown dtype 'F33'"),
            ({ try self.raw("{\"a\":{\(f32),\"shape\":[3],\"data_offsets\":[0,8]}}", data: 8) }, "needs 12 bytes, its data_offsets [0, 8] give 8"),
            ({ try self.raw("{\"a\":{\(f32),\"shape\":[-1],\"data_offsets\":[0,4]}}", data: 4) }, "negative dimension"),
            ({ try self.raw("{\"a\":{\(f32),\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", data: 4) }, "larger than a file can hold"),
            ({ try self.raw("{\"a\":{\(f32),\"shape\":[2.5],\"data_offsets\":[0,4]}}", data: 4) }, "tensor 'a' is malformed at 'shape': not a list of integers"),
            ({ try self.raw("{\"a\":{\(f32),\"shape\":[true],\"data_offsets\":[0,4]}}", data: 4) }, "tensor 'a' is malformed at 'shape': not a list of integers"),
            ({ try self.raw("{\"a\":{\(f32),\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", data: 4) }, "tensor 'a' is malformed at 'data_offsets': not a list of integers"),
            ({ try self.raw("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", data: 4) }, "tensor 'a' is malformed at 'dtype'"),
            ({ try self.raw("{\"a\":{\(f32),\"shape\":[1]}}", data: 4) }, "tensor 'a' is malformed: no 'data_offsets'"),
            ({ try self.raw("{\"a\":{\(f32),\"shape\":[1],\"data_offsets\":[0,4,8]}}", data: 4) }, "3 data_offsets, not 2"),
            ({ try self.raw("{\"a\":{\(f32),\"shape\":[1],\"data_offsets\":[8,4]}}", data: 4) }, "not 0 ≤ begin ≤ end"),
            ({ try self.raw("{\"a\":{\(f32),\"shape\":[1],\"data_offsets\":[0,4]}}", data: 2) }, "end at byte 4, past the 2 bytes of data"),
            ({ try self.raw("{\"a\":{\(f32),\"shape\":[1],\"data_offsets\":[0,4]}}", data: 6) }, "2 bytes after the last tensor's data"),
            ({ try self.raw("{\"a\":{\(f32),\"shape\":[1],\"data_offsets\":[4,8]}}", data: 8) }, "a gap before tensor 'a'"),
            ({ try self.raw("{\"a\":{\(f32),\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\(f32),\"shape\":[2],\"data_offsets\":[4,12]}}", data: 12) },
             "tensor 'b' overlaps the tensor before it"),
            ({ try self.raw("{\"__metadata__\":{\"a\":1}}", data: 0) }, "the metadata is malformed at 'a'"),
            ({ self.directory }, "is not a regular file"),
            ({ self.directory + "/missing.safetensors" }, "cannot open"),
        ]
        for (make, says) in cases {
            let path = try make()
            XCTAssertThrowsError(try SafeTensorsFile(path: path), says) { e in
                let line = "\(e)"
                XCTAssertTrue(e is CSGDError, "\(type(of: e))")
                XCTAssertTrue(line.contains(says), "\(line.debugDescription) lacks \(says.debugDescription)")
                XCTAssertTrue(line.contains(path), line)
            }
            try? FileManager.default.removeItem(atPath: directory + "/t.safetensors")
        }
    }

    /// A header padded with trailing spaces (as the reference writer pads it) is read.
    func testTrailingSpacesInTheHeaderAreAllowed() throws {
        let f = try SafeTensorsFile(path: try raw("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}      ", data: 2))
        XCTAssertEqual(try f.bytes(of: "a"), [7, 7])
    }
}
