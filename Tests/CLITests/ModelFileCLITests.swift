import Foundation
import XCTest

/// `--save-model` and `--init-from` through the real binary: the file has
/// PyTorch's state_dict names and shapes and the run's x_T (its bytes hash to
/// the summary's params_sha256), a run started from it starts where the
/// first ended, NumPy reads the same numbers (when Python's `safetensors`
/// is installed), and every bad file or combination is one line, exit 2,
/// nothing written. The files are read here by an independent parser.
final class ModelFileCLITests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-model-file-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    static let mlp = ["train", "--model", "mlp:8-4-3", "--dataset", "synthetic:n=64,classes=3,shape=1x2x4", "--batch", "8",
                      "--log-every", "1", "--json"]
    static let saddle = ["optimize", "--problem", "saddle:d=10", "--method", "sgd", "--lr", "0.1", "--log-every", "1", "--json"]

    func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let r = try CLIRunner.run(args, in: dir)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let last = try XCTUnwrap(r.stdout.split(separator: "\n").last, "no output; stderr: \(r.stderr)", file: file, line: line)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], file: file, line: line)
    }

    /// A safetensors file as read here: its header's tensors (name, dtype, shape, [begin, end)), metadata and data.
    struct Parsed {
        var tensors: [(name: String, dtype: String, shape: [Int], range: Range<Int>)]
        var metadata: [String: String]
        var data: Data
        func bytes(_ names: [String]) -> Data {
            names.reduce(into: Data()) { out, n in out += data[tensors.first { $0.name == n }!.range] }
        }
    }

    func parse(_ name: String) throws -> Parsed {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(n % 8, 0)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as? [String: Any])
        var tensors: [(name: String, dtype: String, shape: [Int], range: Range<Int>)] = []
        for (k, v) in json where k != "__metadata__" {
            let e = try XCTUnwrap(v as? [String: Any])
            let o = try XCTUnwrap(e["data_offsets"] as? [Int])
            tensors.append((k, try XCTUnwrap(e["dtype"] as? String), try XCTUnwrap(e["shape"] as? [Int]), o[0]..<o[1]))
        }
        tensors.sort { $0.range.lowerBound < $1.range.lowerBound || ($0.range.lowerBound == $1.range.lowerBound && $0.range.upperBound < $1.range.upperBound) }
        let data = bytes.subdata(in: (8 + n)..<bytes.count)
        XCTAssertEqual(tensors.last?.range.upperBound ?? 0, data.count)
        return Parsed(tensors: tensors, metadata: json["__metadata__"] as? [String: String] ?? [:], data: data)
    }

    /// Hex SHA-256 by coreutils' sha256sum.
    func sha256(_ data: Data) throws -> String {
        let path = dir + "/.sha-input"
        try data.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return String(text.prefix(64))
    }

    /// The step records of a log (not its header and summary lines, which have a "type").
    func logLines(_ name: String) throws -> [[String: Any]] {
        try String(contentsOfFile: dir + "/" + name, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }.filter { $0["type"] == nil }
    }

    func testTrainSavesTheStateDictAndARunStartsFromIt() throws {
        let a = try run(Self.mlp + ["--steps", "5", "--save-model", "a.safetensors", "--log", "a.jsonl"])
        let sha = try XCTUnwrap(a["params_sha256"] as? String)
        let f = try parse("a.safetensors")
        // nn.Sequential(Flatten, Linear(8, 4), ReLU, Linear(4, 3)); data in state_dict order.
        XCTAssertEqual(f.tensors.map(\.name), ["1.weight", "1.bias", "3.weight", "3.bias"])
        XCTAssertEqual(f.tensors.map(\.shape), [[4, 8], [4], [3, 4], [3]])
        XCTAssertEqual(Set(f.tensors.map(\.dtype)), ["F32"])
        XCTAssertEqual(try sha256(f.data), sha, "the data is x_T, float32 little-endian, in csgd's order")
        XCTAssertEqual(f.metadata["params_sha256"], sha)
        XCTAssertEqual(f.metadata["steps"], "5")
        XCTAssertEqual(f.metadata["format"], "pt")
        XCTAssertTrue(f.metadata["model"]?.hasPrefix("mlp:8-4-3") == true, "\(f.metadata)")
        XCTAssertEqual(f.metadata["method"], "sgd")
        XCTAssertNotNil(f.metadata["csgd_version"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["a.jsonl", "a.safetensors"], "no temporary file left")

        // Started from the file, the run's first record is the first run's last.
        _ = try run(Self.mlp + ["--steps", "1", "--init-from", "a.safetensors", "--log", "b.jsonl"])
        let (la, lb) = (try logLines("a.jsonl"), try logLines("b.jsonl"))
        XCTAssertEqual(la.last?["step"] as? Int, 5)
        XCTAssertEqual(lb.first?["step"] as? Int, 0)
        for key in ["loss", "grad_norm"] {
            XCTAssertEqual(try XCTUnwrap(lb.first?[key] as? Double), try XCTUnwrap(la.last?[key] as? Double), key)
        }
        XCTAssertNotEqual(lb.first?["loss"] as? Double, la.first?["loss"] as? Double, "the seeded start differs from x_5")
        // A step of η = 1e-45 moves no float, so x_1 is the file's x: the same params_sha256.
        let c = try run(Self.mlp + ["--steps", "1", "--lr", "1e-45", "--init-from", "a.safetensors", "--save-model", "a.safetensors"])
        XCTAssertEqual(c["params_sha256"] as? String, sha)
        XCTAssertEqual(try sha256(try parse("a.safetensors").data), sha)
    }

    func testOptimizeSavesTheIterateAsX() throws {
        let a = try run(Self.saddle + ["--steps", "20", "--save-model", "x.safetensors", "--log", "a.jsonl"])
        let sha = try XCTUnwrap(a["params_sha256"] as? String)
        let f = try parse("x.safetensors")
        XCTAssertEqual(f.tensors.map(\.name), ["x"])
        XCTAssertEqual(f.tensors.map(\.shape), [[10]])
        XCTAssertEqual(f.tensors.map(\.dtype), ["F32"])
        XCTAssertEqual(try sha256(f.data), sha)
        XCTAssertTrue(f.metadata["problem"]?.hasPrefix("saddle:d=10,") == true, "\(f.metadata)")
        XCTAssertEqual(f.metadata["steps"], "20")
        _ = try run(Self.saddle + ["--steps", "1", "--init-from", "x.safetensors", "--log", "b.jsonl"])
        XCTAssertEqual(try XCTUnwrap(try logLines("b.jsonl").first?["loss"] as? Double),
                       try XCTUnwrap(try logLines("a.jsonl").last?["loss"] as? Double))
    }

    /// A ResNet (convolutions and BatchNorm): running statistics and
    /// num_batches_tracked (I64 scalar, the batches they average) are
    /// written beside the parameters, and the file loads back.
    func testBatchNormModelsWriteRunningStatistics() throws {
        let base = ["train", "--model", "resnet:8,width=2", "--dataset", "synthetic:n=40,classes=3,shape=1x8x8", "--batch", "8",
                    "--log-every", "1", "--threads", "1", "--json"]
        let a = try run(base + ["--steps", "2", "--save-model", "r.safetensors", "--log", "a.jsonl"])
        let f = try parse("r.safetensors")
        let names = f.tensors.map(\.name)
        XCTAssertEqual(Array(names.prefix(6)), ["0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"])
        XCTAssertTrue(names.contains("4.short.0.weight") && names.contains("5.main.4.running_var"), "\(names)")
        XCTAssertEqual(Array(names.suffix(2)), ["8.weight", "8.bias"])
        let tracked = try XCTUnwrap(f.tensors.first { $0.name == "1.num_batches_tracked" })
        XCTAssertEqual(tracked.dtype, "I64")
        XCTAssertEqual(tracked.shape, [])
        // 40 calibration samples (all of them) in batches of 8: 5 batches.
        XCTAssertEqual(Array(f.data[tracked.range]), [5, 0, 0, 0, 0, 0, 0, 0])
        let variance = try XCTUnwrap(f.tensors.first { $0.name == "1.running_var" })
        XCTAssertNotEqual(f.data[variance.range], Data(repeating: 0, count: 8), "estimated, not zero")
        let parameters = names.filter { !$0.hasSuffix("running_mean") && !$0.hasSuffix("running_var") && !$0.hasSuffix("num_batches_tracked") }
        XCTAssertEqual(try sha256(f.bytes(parameters)), a["params_sha256"] as? String)
        _ = try run(base + ["--steps", "1", "--init-from", "r.safetensors", "--log", "b.jsonl"])
        XCTAssertEqual(try XCTUnwrap(try logLines("b.jsonl").first?["loss"] as? Double),
                       try XCTUnwrap(try logLines("a.jsonl").last?["loss"] as? Double))
    }

    /// NumPy, through Python's `safetensors`, reads the same numbers.
    func testPythonSafetensorsReadsTheSameNumbers() throws {
        // scripts/setup --no-build installs them in .build/python; else python3 on PATH may have them.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let venv = root.appendingPathComponent(".build/python/bin/python3").path
        let python = FileManager.default.isExecutableFile(atPath: venv) ? [venv] : ["python3"]
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = python + ["-c", "import safetensors, numpy"]
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch { throw XCTSkip("python3 cannot be started") }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            throw XCTSkip("Python's safetensors and numpy are not installed (scripts/setup --no-build installs them in .build/python)")
        }
        let a = try run(Self.mlp + ["--steps", "3", "--save-model", "a.safetensors"])
        let o = try run(Self.saddle + ["--steps", "5", "--save-model", "x.safetensors"])
        let script = """
        import hashlib, json, sys
        import numpy as np
        from safetensors import safe_open
        from safetensors.numpy import load_file
        path, order = sys.argv[1], sys.argv[2].split(",")
        t = load_file(path)
        with safe_open(path, framework="np") as f:
            meta = f.metadata()
        flat = np.concatenate([t[n].astype("<f4").ravel() for n in order])
        print(json.dumps({"sha": hashlib.sha256(flat.tobytes()).hexdigest(), "meta": meta["params_sha256"],
                          "shapes": {k: list(v.shape) for k, v in t.items()}, "dtypes": sorted({str(v.dtype) for v in t.values()}),
                          "first": float(flat[0]), "count": int(flat.size)}))
        """
        for (file, order, summary, shapes) in [("a.safetensors", "1.weight,1.bias,3.weight,3.bias", a, ["1.weight": [4, 8], "1.bias": [4], "3.weight": [3, 4], "3.bias": [3]]),
                                               ("x.safetensors", "x", o, ["x": [10]])] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = python + ["-c", script, dir + "/" + file, order]
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let text = out.fileHandleForReading.readDataToEndOfFile()
            let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, errText)
            let r = try XCTUnwrap(JSONSerialization.jsonObject(with: text) as? [String: Any], errText)
            XCTAssertEqual(r["sha"] as? String, summary["params_sha256"] as? String, file)
            XCTAssertEqual(r["meta"] as? String, summary["params_sha256"] as? String, file)
            XCTAssertEqual(r["shapes"] as? [String: [Int]], shapes, file)
            XCTAssertEqual(r["dtypes"] as? [String], ["float32"], file)
            // The first value as NumPy reads it is the first float of the data here.
            let first = try parse(file).data.prefix(4).withUnsafeBytes { Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
            XCTAssertEqual((r["first"] as? Double).map(Float.init), first, file)
        }
    }

    /// A fresh run from --init-from with checkpoints resumes with `--resume
    /// --checkpoint DIR` alone (the recorded --init-from is left out) and may
    /// save the model at its end.
    func testARunStartedFromAFileResumes() throws {
        _ = try run(Self.mlp + ["--steps", "3", "--save-model", "a.safetensors"])
        let first = try run(Self.mlp + ["--steps", "4", "--init-from", "a.safetensors", "--checkpoint", "ck", "--checkpoint-every", "2"])
        XCTAssertEqual(first["steps"] as? Int, 4)
        let resumed = try run(["train", "--resume", "--checkpoint", "ck", "--steps", "6", "--json", "--save-model", "b.safetensors"])
        XCTAssertEqual(resumed["steps"] as? Int, 6)
        XCTAssertEqual(try sha256(try parse("b.safetensors").data), resumed["params_sha256"] as? String)
    }

    /// --save-model-at-checkpoints writes x_t into each checkpoint's step
    /// directory (the newest kept with it); at the run's last step that is
    /// x_T, the summary's params_sha256. A resume may add the flag.
    func testModelFilesBesideCheckpoints() throws {
        let s = try run(Self.mlp + ["--steps", "5", "--checkpoint", "ck", "--checkpoint-every", "2", "--save-model-at-checkpoints"])
        let steps = try FileManager.default.contentsOfDirectory(atPath: dir + "/ck").filter { $0.hasPrefix("step-") }
        XCTAssertEqual(steps, ["step-0000000005"], "older checkpoints are pruned with their model files")
        let f = try parse("ck/step-0000000005/model.safetensors")
        XCTAssertEqual(f.tensors.map(\.name), ["1.weight", "1.bias", "3.weight", "3.bias"])
        XCTAssertEqual(f.metadata["steps"], "5")
        XCTAssertEqual(try sha256(f.data), s["params_sha256"] as? String)
        XCTAssertEqual(f.metadata["params_sha256"], s["params_sha256"] as? String)
        // Continued to step 7 with the flag given on the resume: step 6 (interval) and 7 (final) get theirs.
        let r = try run(["train", "--resume", "--checkpoint", "ck", "--steps", "7", "--json", "--save-model-at-checkpoints"])
        let g = try parse("ck/step-0000000007/model.safetensors")
        XCTAssertEqual(g.metadata["steps"], "7")
        XCTAssertEqual(try sha256(g.data), r["params_sha256"] as? String)
        // optimize: the iterate x.
        let o = try run(Self.saddle + ["--steps", "4", "--checkpoint", "ok", "--checkpoint-every", "3", "--save-model-at-checkpoints"])
        let h = try parse("ok/step-0000000004/model.safetensors")
        XCTAssertEqual(h.tensors.map(\.name), ["x"])
        XCTAssertEqual(try sha256(h.data), o["params_sha256"] as? String)
    }

    /// Bad files and combinations: one line, exit 2, nothing written.
    func testBadModelFilesAreOneLineAndWriteNothing() throws {
        _ = try run(Self.mlp + ["--steps", "1", "--save-model", "good.safetensors"])
        _ = try run(Self.saddle + ["--steps", "1", "--save-model", "x.safetensors"])
        /// A file of these tensors (zeros) with a header as given.
        func craft(_ name: String, _ tensors: [(String, String, [Int])], length: UInt64? = nil, data extra: Int = 0) throws {
            let size = ["F32": 4, "F64": 8, "I32": 4, "I64": 8]
            var header: [String] = [], offset = 0
            for (n, dtype, shape) in tensors {
                let bytes = shape.reduce(size[dtype]!, *)
                header.append("\"\(n)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + bytes)]}")
                offset += bytes
            }
            let json = Array(("{" + header.joined(separator: ",") + "}").utf8)
            var b: [UInt8] = []
            withUnsafeBytes(of: (length ?? UInt64(json.count)).littleEndian) { b.append(contentsOf: $0) }
            try Data(b + json + [UInt8](repeating: 0, count: offset + extra)).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        let mlp: [(String, String, [Int])] = [("1.weight", "F32", [4, 8]), ("1.bias", "F32", [4]), ("3.weight", "F32", [3, 4]), ("3.bias", "F32", [3])]
        try craft("i32.safetensors", Array(mlp.dropLast()) + [("3.bias", "I32", [3])])
        try craft("extra.safetensors", mlp + [("4.weight", "F32", [1])])
        try craft("trailing.safetensors", mlp, data: 3)
        try craft("long.safetensors", mlp, length: 1 << 20)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/short.safetensors"))
        let out = ["--save-model", "out.safetensors", "--log", "run.jsonl"]
        let cases: [([String], String)] = [
            (Self.mlp + ["--init-from", "short.safetensors"], "'short.safetensors' is not a valid safetensors file: 3 bytes, shorter than the 8-byte header length"),
            (Self.mlp + ["--init-from", "long.safetensors"], "the header length 1048576 runs past the end of the file"),
            (Self.mlp + ["--init-from", "trailing.safetensors"], "3 bytes after the last tensor's data"),
            (Self.mlp + ["--init-from", "i32.safetensors"], "tensor '3.bias' has dtype I32, model 'mlp:8-4-3"),
            (Self.mlp + ["--init-from", "extra.safetensors"], "tensor '4.weight' is not in model 'mlp:8-4-3"),
            (["train", "--model", "mlp:8-5-3", "--dataset", "synthetic:n=64,classes=3,shape=1x2x4", "--init-from", "good.safetensors"],
             "tensor '1.weight' has shape [4, 8], model 'mlp:8-5-3"),
            (Self.mlp + ["--init-from", "x.safetensors"], "no tensor '1.weight' (model 'mlp:8-4-3"),
            (Self.saddle + ["--init-from", "good.safetensors"], "no tensor 'x' (problem 'saddle:d=10,"),
            (["optimize", "--problem", "saddle:d=11", "--method", "sgd", "--lr", "0.1", "--init-from", "x.safetensors"],
             "tensor 'x' has shape [10], problem 'saddle:d=11,"),
            (Self.mlp + ["--init-from", "good.safetensors", "--resume", "--checkpoint", "ck"], "--init-from and --resume"),
            (Self.mlp + ["--save-model", "good.safetensors/m"], "no directory 'good.safetensors'"),
        ]
        let before = try snapshot()
        for (args, says) in cases {
            let r = try CLIRunner.run(args + (args.contains("--save-model") ? ["--log", "run.jsonl"] : out), in: dir)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(args)")
            XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("csgd: error: ") && r.stderr.contains(says), "\(args): \(r.stderr.debugDescription) lacks \(says.debugDescription)")
            XCTAssertEqual(try snapshot(), before, "\(args) changed the directory")
        }
    }

    /// A model file that cannot be written (a 4096-byte file-size limit,
    /// SIGXFSZ ignored, so the write fails with EFBIG part-way) is one line
    /// and exit status 1, leaves the earlier file as it was and no
    /// temporary file; a symbolic link as FILE stays a link to the new file.
    func testAFailedWriteKeepsTheOldFileAndALinkStaysALink() throws {
        _ = try run(Self.mlp + ["--steps", "1", "--save-model", "m.safetensors"])
        let before = try snapshot()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        let args = ["train", "--model", "mlp:8-300-3", "--dataset", "synthetic:n=64,classes=3,shape=1x2x4", "--steps", "1",
                    "--save-model", "m.safetensors"].map { "'\($0)'" }.joined(separator: " ")
        p.arguments = ["-c", "trap '' XFSZ; ulimit -f 4; exec '\(CLIRunner.executable.path)' \(args)"]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 1, e)
        XCTAssertEqual(o.count, 0)
        XCTAssertEqual(e.filter { $0 == "\n" }.count, 1, e)
        XCTAssertTrue(e.hasPrefix("csgd: error: cannot write '") && e.contains("m.safetensors") && e.contains("File too large"), e)
        XCTAssertEqual(try snapshot(), before, "the earlier file changed or a temporary file was left")

        try FileManager.default.createSymbolicLink(atPath: dir + "/link.safetensors", withDestinationPath: "m.safetensors")
        let r = try run(Self.mlp + ["--steps", "2", "--save-model", "link.safetensors"])
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/link.safetensors")
        XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeSymbolicLink)
        XCTAssertEqual(try sha256(try parse("m.safetensors").data), r["params_sha256"] as? String)
    }

    /// Every file's name and bytes.
    func snapshot() throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            out[name] = FileManager.default.contents(atPath: dir + "/" + name) ?? Data()
        }
        return out
    }
}
