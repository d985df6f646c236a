import Foundation
import XCTest

/// The bad-input matrix: every row is a command line a user could type that
/// `csgd` must refuse with exactly one line on stderr (`csgd: error: …`,
/// naming the problem), nothing on stdout, exit status 2, and no file or
/// directory created. Each row runs in an empty directory of its own, and
/// the paths rows give (logs, checkpoints, outputs) are relative, so
/// anything a refused run wrote would be found there. Listed, with its
/// count, in docs/reliability.md.
final class BadInputMatrixTests: XCTestCase {
    struct Row {
        var arguments: [String]
        /// Text the one stderr line must contain.
        var says: String
        var line: UInt
        init(_ arguments: [String], says: String, line: UInt = #line) {
            self.arguments = arguments
            self.says = says
            self.line = line
        }
    }

    static let saddle = ["optimize", "--problem", "saddle", "--method", "sgd", "--lr", "0.1", "--log", "run.jsonl"]
    static let train = ["train", "--model", "mlp:784-10", "--dataset", "synthetic:n=100", "--log", "run.jsonl"]

    static let rows: [Row] = [
        // The argument parser's findings: one line and exit 2, like every other bad input.
        Row(["bogus"], says: "Unexpected argument 'bogus'"),
        Row(["--bogus"], says: "Unknown option '--bogus'"),
        Row(["compress", "--bogus"], says: "Unknown option '--bogus'"),
        Row(["compress", "--dim"], says: "Missing value for '--dim <dim>'"),
        Row(["compress", "--dim", "abc"], says: "The value 'abc' is invalid for '--dim <dim>'"),
        Row(["compress", "--dim", "99999999999999999999999"], says: "The value '99999999999999999999999' is invalid for '--dim <dim>'"),
        Row(["compress", "--seed", "-1"], says: "The value '-1' is invalid for '--seed <seed>'"),
        Row(["compress", "--json", "-5"], says: "'--json' does not take any value"),
        Row(saddle + ["--backend", "gpu"], says: "The value 'gpu' is invalid for '--backend <backend>'"),
        Row(["optimize", "--method", "sgd"], says: "Missing expected argument '--problem <problem>'"),
        Row(saddle + ["--steps", "99999999999999999999"], says: "The value '99999999999999999999' is invalid for '--steps <steps>'"),
        Row(train + ["--backend", "gpu"], says: "The value 'gpu' is invalid for '--backend <backend>'"),
        Row(train + ["--epochs", "many"], says: "The value 'many' is invalid for '--epochs <epochs>'"),
        Row(["theory", "--eps", "1"], says: "Missing expected argument '--L <L>'"),
        Row(["bench-step"], says: "Missing expected argument '--compressor <compressor>'"),
        Row(["report"], says: "Missing expected argument '<directory>'"),
        Row(["reproduce", "--runs", "x", "cnc"], says: "The value 'x' is invalid for '--runs <runs>'"),
        // A negative number after an option is that option's value (then judged), not a missing value.
        Row(["compress", "--dim", "-5"], says: "--dim -5 must be positive"),
        Row(["compress", "--reps", "-1"], says: "--reps -1 must be positive"),
        Row(saddle + ["--steps", "-3"], says: "--steps -3 must be at least 1"),
        Row(saddle + ["--workers", "-2"], says: "--workers -2 must be at least 1"),
        Row(train + ["--batch", "-64"], says: "--batch -64 must be at least 1"),
        Row(["bench-step", "--compressor", "topk:1", "--threads", "-1"], says: "--threads -1 must not be negative"),
        // User text with a line break stays on one line (escaped).
        Row(["compress", "--compressor", "to\npk:1"], says: "compressor 'to\\npk' is not known"),
        Row(["compress", "--bo\ngus"], says: "Unknown option '--bo\\ngus'"),
        Row(saddle + ["--problem", "sad\r\ndle"], says: "problem 'sad\\r\\ndle' is not known"),
        // compress
        Row(["compress", "--dim", "0"], says: "--dim 0 must be positive"),
        Row(["compress", "--trials", "0"], says: "--trials 0 must be positive"),
        Row(["compress", "--compressor", "nosuch"], says: "compressor 'nosuch' is not known"),
        Row(["compress", "--compressor", "topk:0"], says: "K = 0 must be positive"),
        // optimize
        Row(["optimize", "--problem", "nosuch", "--method", "sgd"], says: "problem 'nosuch' is not known"),
        Row(["optimize", "--problem", "saddle", "--method", "nosuch"], says: "method 'nosuch' is not known"),
        Row(saddle + ["--steps", "0"], says: "--steps 0 must be at least 1"),
        Row(saddle + ["--lr", "nan"], says: "--lr nan must be a positive step size"),
        Row(saddle + ["--eps", "-1"], says: "--eps -1.0 must be positive"),
        Row(saddle + ["--log-every", "0"], says: "--log-every 0 must be at least 1"),
        Row(saddle + ["--stop-at-sosp"], says: "--stop-at-sosp needs --eps"),
        Row(saddle + ["--ensemble", "bogus"], says: "L = 'bogus' is not an integer"),
        Row(saddle + ["--batch", "0"], says: "--batch 0 must be at least 1"),
        Row(["optimize", "--problem", "saddle", "--method", "sgd:batch=4", "--batch", "8"], says: "--batch 8 disagrees with the method's batch=4"),
        Row(saddle + ["--noise", "-1"], says: "--noise -1.0 must be a non-negative σ"),
        Row(["optimize", "--problem", "saddle", "--method", "alg1:sigma=0.1", "--noise", "0.2"], says: "--noise 0.2 and the method's own r=/sigma=: give one"),
        Row(saddle + ["--momentum-at", "sideways"], says: "--momentum-at 'sideways' is not known (expected update or worker)"),
        Row(saddle + ["--momentum-at", "worker"], says: "--momentum-at worker needs --momentum β > 0"),
        Row(saddle + ["--momentum", "0.9", "--nesterov", "--momentum-at", "worker"], says: "--nesterov is momentum on the averaged update"),
        Row(saddle + ["--resume"], says: "--resume needs --checkpoint DIR"),
        Row(saddle + ["--checkpoint-every", "5"], says: "--checkpoint-every 5 needs --checkpoint DIR"),
        Row(saddle + ["--checkpoint", "ckpt", "--checkpoint-every", "0"], says: "--checkpoint-every 0"),
        Row(saddle + ["--checkpoint", "ckpt", "--resume"], says: "no complete checkpoint in 'ckpt'"),
        // The log is opened only after every check: a bad --log path is bad input, a refused run writes no log.
        Row(saddle + ["--log", "nodir/run.jsonl"], says: "--log 'nodir/run.jsonl': no directory 'nodir' to write it in"),
        Row(saddle + ["--log", "."], says: "--log '.' is a directory"),
        Row(["optimize", "--problem", "phase-retrieval", "--method", "sgd", "--log", "run.jsonl"], says: "no step size on 'phase-retrieval"),
        // theory
        Row(["theory", "--eps", "1", "--L", "1", "--rho", "1", "--sigma", "0", "--d", "10", "--mu", "0"], says: "mu = 0.0 must be in (0, 1]"),
        Row(["theory", "--eps", "1", "--L", "1", "--rho", "1", "--sigma", "0", "--d", "-3", "--mu", "0.5"], says: "d = -3 must be at least 1"),
        Row(["theory", "--eps", "0", "--L", "1", "--rho", "1", "--sigma", "0", "--d", "3", "--mu", "0.5"], says: "eps = 0.0 must be positive"),
        // train
        Row(train + ["--epochs", "1e300"], says: "--epochs 1e+300 is more steps than a run can count"),
        Row(train + ["--epochs", "0"], says: "--epochs 0.0 must be positive"),
        Row(train + ["--epochs", "1", "--steps", "5"], says: "give either --epochs or --steps, not both"),
        Row(train + ["--model", "nosuch"], says: "model 'nosuch' is not known"),
        Row(train + ["--dataset", "nosuch"], says: "dataset 'nosuch' is not known"),
        Row(train + ["--partition", "dirichlet:-1"], says: "α = -1 must be positive"),
        Row(train + ["--certify-every", "5"], says: "--certify-every needs --certify"),
        Row(train + ["--noise", "0.1"], says: "--noise: method 'sgd' adds no noise"),
        Row(train + ["--threads", "0"], says: "--threads 0 must be at least 1"),
        Row(train + ["--lr", "-1"], says: "--lr -1.0 must be a positive step size"),
        Row(train + ["--workers", "101"], says: "--workers 101 exceeds the 100 training samples"),
        // bench-step
        Row(["bench-step", "--compressor", "topk:1", "--dim", "0"], says: "--dim 0 must be positive"),
        Row(["bench-step", "--compressor", "topk:1", "--workers", "0"], says: "--workers 0 must be at least 1"),
        Row(["bench-step", "--compressor", "nosuch"], says: "compressor 'nosuch' is not known"),
        // bench-train: everything checkable is checked before the benchmark runs.
        Row(["bench-train", "--steps", "1", "--warmup", "0", "--torch", "MISSING.py"], says: "--torch 'MISSING.py': no such file"),
        Row(["bench-train", "--split", "nosuch"], says: "--split 'nosuch' is not one of: batch, blas"),
        Row(["bench-train", "--input", "1x28"], says: "--input '1x28' is not CxHxW with positive sizes"),
        Row(["bench-train", "--model", "nosuch"], says: "model 'nosuch' is not known"),
        Row(["bench-train", "--batch", "0"], says: "--batch 0 must be positive"),
        // Memory and workers: what cannot fit is refused before anything is allocated or started.
        Row(saddle + ["--workers", "100000", "--max-memory", "1G"], says: "with 100000 workers needs about 6.1 GiB of memory, more than --max-memory (1.0 GiB)"),
        Row(saddle + ["--max-memory", "1k"], says: "with 1 worker needs about 64.2 KiB of memory, more than --max-memory (1.0 KiB)"),
        Row(saddle + ["--max-memory", "lots"], says: "--max-memory 'lots' is not a positive size"),
        Row(["compress", "--compressor", "topk:1", "--dim", "4294967296", "--max-memory", "8G"],
            says: "--dim 4294967296 needs about 128 GiB of memory, more than --max-memory (8.0 GiB)"),
        Row(train + ["--model", "mlp:784-4000000000-10", "--max-memory", "8G"], says: "(3180000000010 parameters) with 1 worker at batch 64 needs about 26.9 TiB"),
        Row(["bench-step", "--compressor", "topk:1", "--dim", "1000", "--workers", "100000", "--max-memory", "1G"],
            says: "--dim 1000 with 100000 workers needs about 6.8 GiB"),
        Row(["bench-train", "--model", "mlp:784-4000000000-10", "--max-memory", "8G"], says: "(3180000000010 parameters) at batch 64 needs about 50.0 TiB"),
        Row(["optimize", "--problem", "phase-retrieval:n=1000000,d=1000", "--method", "sgd", "--lr", "0.1", "--max-memory", "1G", "--log", "run.jsonl"],
            says: "with 1 worker needs about 3.7 GiB of memory"),
        Row(["optimize", "--problem", "matrix-factorization:n=100000,r=2", "--method", "sgd", "--lr", "0.1", "--log", "run.jsonl"],
            says: "n = 100000 is too large (the n×n target is dense; at most 46000)"),
        // A mini-batch larger than the data (drawn with replacement, it would only repeat samples).
        Row(["optimize", "--problem", "phase-retrieval:n=50", "--method", "sgd:batch=99999999999", "--lr", "0.01", "--log", "run.jsonl"],
            says: "a mini-batch of 99999999999 is more than the 50 samples of 'phase-retrieval"),
        Row(train + ["--batch", "1000"], says: "--batch 1000 is more than the 100 training samples"),
        // More of every subcommand's own checks.
        Row(["compress", "--reps", "0"], says: "--reps 0 must be positive"),
        Row(["compress", "--dim", "10", "--compressor", "qsgd:0"], says: "compressor 'qsgd': S = 0 must be positive"),
        Row(["compress", "--dim", "10", "--compressor", "sketch-topk:5,rows=0"], says: "compressor 'sketch-topk': rows = 0 must be positive"),
        Row(["bench-step", "--compressor", "topk:1", "--steps", "0"], says: "--steps 0 must be at least 1"),
        Row(["bench-step", "--compressor", "topk:1", "--reps", "0"], says: "--reps 0 must be at least 1"),
        Row(["bench-step", "--compressor", "topk:1", "--threads", "-1"], says: "--threads -1 must not be negative"),
        Row(["bench-train", "--steps", "0"], says: "--steps 0 must be positive"),
        Row(["bench-train", "--warmup", "-1"], says: "--warmup -1 must be non-negative"),
        Row(["bench-train", "--threads", "0"], says: "--threads 0 must be positive"),
        Row(train + ["--log-every", "0"], says: "--log-every 0 must be at least 1"),
        Row(train + ["--eval-every", "-1"], says: "--eval-every -1 must be 0 or more"),
        Row(train + ["--train-size", "0"], says: "--train-size 0 must be at least 1"),
        Row(train + ["--test-size", "0"], says: "--test-size 0 must be at least 1"),
        Row(train + ["--steps", "0"], says: "--steps 0 must be at least 1"),
        Row(train + ["--batch", "0"], says: "--batch 0 must be at least 1"),
        Row(train + ["--workers", "0"], says: "--workers 0 must be at least 1"),
        Row(train + ["--threads", "-3"], says: "--threads -3 must be at least 1"),
        Row(train + ["--lr", "inf"], says: "--lr inf must be a positive step size"),
        Row(train + ["--method", "alg1", "--noise", "-1"], says: "--noise -1.0 must be a non-negative σ"),
        Row(train + ["--certify", "--eps", "0"], says: "--eps and --rho must be positive"),
        Row(train + ["--certify", "--certify-every", "3", "--log-every", "2"], says: "--certify-every 3 must be a positive multiple of --log-every 2"),
        Row(train + ["--partition", "nosuch"], says: "partition 'nosuch' is not known"),
        Row(train + ["--dataset", "synthetic:n=0"], says: "dataset 'synthetic': n = 0 must be positive"),
        Row(train + ["--model", "mlp:abc"], says: "model 'mlp': width = 'abc' is not an integer"),
        // Model files (--save-model, --init-from): checked before the run starts.
        Row(train + ["--save-model", "nodir/m.safetensors"], says: "--save-model 'nodir/m.safetensors': no directory 'nodir' to write it in"),
        Row(train + ["--save-model", "."], says: "--save-model '.' is a directory"),
        Row(train + ["--save-model", "/dev/null"], says: "--save-model '/dev/null' is not a regular file"),
        Row(train + ["--save-model-at-checkpoints"], says: "--save-model-at-checkpoints needs --checkpoint DIR"),
        Row(train + ["--init-from", "none.safetensors"], says: "cannot open 'none.safetensors': No such file or directory"),
        Row(train + ["--init-from", "/dev/null"], says: "'/dev/null' is not a regular file"),
        Row(train + ["--init-from", "m.safetensors", "--resume", "--checkpoint", "ckpt"], says: "--init-from and --resume"),
        Row(saddle + ["--save-model", "."], says: "--save-model '.' is a directory"),
        Row(saddle + ["--init-from", "/dev/null"], says: "'/dev/null' is not a regular file"),
        Row(saddle + ["--save-model", "m.safetensors", "--ensemble", "3,eps=0.1"], says: "--save-model with --ensemble"),
        Row(saddle + ["--save-model", "m.safetensors", "--eps", "0.1", "--stop-at-sosp"], says: "--save-model with --stop-at-sosp"),
        Row(saddle + ["--rho", "0"], says: "--rho 0.0 must be positive"),
        Row(saddle + ["--workers", "0"], says: "--workers 0 must be at least 1"),
        Row(saddle + ["--compressor", "topk:0"], says: "compressor 'topk': K = 0 must be positive"),
        Row(saddle + ["--ensemble", "4", "--checkpoint", "ckpt"], says: "option '--ensemble': needs eps=ε"),
        Row(saddle + ["--method", "alg1:foo=1"], says: "method 'alg1': option 'foo' is not known"),
        Row(saddle + ["--steps", "10", "--backend", "mpi", "--workers", "2"], says: "--backend mpi"),
        Row(["optimize", "--problem", "saddle:foo=1", "--method", "sgd", "--lr", "0.1", "--log", "run.jsonl"], says: "problem 'saddle': option 'foo' is not known"),
        Row(["theory", "--eps", "1", "--L", "1", "--rho", "1", "--sigma", "0", "--d", "10"], says: "Missing expected argument '--mu <mu>'"),
        Row(["reproduce", "--out", "out", "--jobs", "0", "cnc"], says: "--jobs 0 must be at least 1"),
        // reproduce and report
        Row(["reproduce", "--out", "out"], says: "name at least one experiment, or all"),
        Row(["reproduce", "--out", "out", "nosuch"], says: "unknown experiment 'nosuch'"),
        Row(["reproduce", "--out", "out", "--runs", "0", "cnc"], says: "--runs 0 must be at least 1"),
        Row(["reproduce", "--out", "out", "--jobs", "-2", "cnc"], says: "--jobs -2 must be at least 1"),
        Row(["report", "nonexistent"], says: "is not a directory"),
        // rerun: a log it cannot rerun (the fixtures are written by the test, outside the row's directory)
        Row(["rerun"], says: "Missing expected argument '<log-file>'"),
        Row(["rerun", "missing.jsonl"], says: "the log 'missing.jsonl' does not exist"),
        Row(["rerun", "."], says: "the log '.' is a directory"),
        Row(["rerun", logs + "/empty.jsonl"], says: "is empty: nothing to rerun"),
        Row(["rerun", logs + "/text.jsonl"], says: "is not a csgd log: line 1 is not a JSON object"),
        Row(["rerun", logs + "/records.jsonl"], says: "has no header"),
        Row(["rerun", logs + "/damaged.jsonl"], says: "has a damaged header on line 1: no 'argv'"),
        Row(["rerun", logs + "/cut.jsonl"], says: "is damaged: line 3 is not a JSON object"),
        Row(["rerun", logs + "/header.jsonl", "--log", logs + "/../\(URL(fileURLWithPath: logs).lastPathComponent)/header.jsonl"],
            says: "is the log being rerun"),
    ]

    /// Where the rerun rows' logs are (outside every row's directory).
    static let logs = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-bad-input-logs-\(getpid())").path

    /// A header a csgd of this version writes, for a 5-step run.
    static let header = #"{"argv":["optimize","--problem","saddle","--method","sgd","--lr","0.1","--steps","5"],"command":"optimize","#
        + #""config":{"backend":"inproc","batch":1,"compressor":"none","eta":0.1,"method":"sgd","method_options":{"batch":"1","eta":"none"},"#
        + #""problem":"saddle:d=2","seed":0,"steps":5,"threads":0,"workers":1},"csgd_version":"0.1.0","#
        + #""machine":{"blas_core":"SkylakeX","cores":2,"cpu":"x","instruction_path":"avx512"},"type":"header"}"#

    /// Writes the logs the rerun rows read.
    static func writeLogs() throws {
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let record = #"{"download_bits":0,"error_norm":0,"grad_norm":1,"loss":1,"resets":0,"step":0,"stochastic_grad_norm":1,"update_norm":0,"upload_bits":0,"wall_seconds":0}"#
        let files = [
            "empty.jsonl": "",
            "text.jsonl": "not json\n",
            "records.jsonl": record + "\n",
            "damaged.jsonl": header.replacingOccurrences(of: #""argv":"#, with: #""args":"#) + "\n" + record + "\n",
            "cut.jsonl": header + "\n" + record + "\n" + #"{"download_bits":0,"err"# + "\n",
            "header.jsonl": header + "\n" + record + "\n",
        ]
        for (name, text) in files { try Data(text.utf8).write(to: URL(fileURLWithPath: logs + "/" + name)) }
    }

    func testEveryBadInputIsOneLineExitTwoAndCreatesNothing() throws {
        XCTAssertGreaterThanOrEqual(Self.rows.count, 60)
        try Self.writeLogs()
        defer { try? FileManager.default.removeItem(atPath: Self.logs) }
        let before = try FileManager.default.contentsOfDirectory(atPath: Self.logs).sorted()
        for row in Self.rows {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-bad-input-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let r = try CLIRunner.run(row.arguments, in: dir)
            let shown = row.arguments.map { $0.debugDescription }.joined(separator: " ")
            XCTAssertEqual(r.status, 2, "\(shown): \(r.stderr)", line: row.line)
            XCTAssertEqual(r.stdout, "", "\(shown): stdout", line: row.line)
            XCTAssertTrue(r.stderr.hasPrefix("csgd: error: ") && r.stderr.hasSuffix("\n"), "\(shown): \(r.stderr)", line: row.line)
            XCTAssertEqual(r.stderr.filter { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }.count, 1, "\(shown): not one line: \(r.stderr)", line: row.line)
            XCTAssertTrue(r.stderr.contains(row.says), "\(shown): \(r.stderr.debugDescription) lacks \(row.says.debugDescription)", line: row.line)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "\(shown) created files", line: row.line)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: Self.logs).sorted(), before, "rerun wrote beside its logs")
    }

    /// Help is not an error: it stays on stdout with exit status 0.
    func testHelpIsUnchanged() throws {
        for args in [["--help"], ["compress", "--help"], ["help", "train"], ["optimize", "-h"], []] {
            let r = try CLIRunner.run(args)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stdout.contains("USAGE: csgd"), "\(args): \(r.stdout)")
            XCTAssertEqual(r.stderr, "", "\(args)")
        }
    }
}
