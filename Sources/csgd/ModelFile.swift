import ArgumentParser
import Checkpointing
import CSGDCore
import Distributed
import Foundation
import NeuralNet
import Optimization

/// `--save-model FILE`, `--save-model-at-checkpoints` and `--init-from
/// FILE` of `train` and `optimize`: trained parameters out (at the end, or
/// beside each checkpoint) and in as safetensors files (see
/// docs/models.md). `train` writes the model's PyTorch `state_dict()`
/// (`Model.stateDict`: `0.weight`, `0.bias`, …, BatchNorm's running
/// statistics); `optimize` writes its flat iterate as one tensor `x` of
/// shape [d]. Both write, in the header's metadata, the csgd version, what
/// ran (model or problem, method, compressor, seed), the steps and the
/// parameters' SHA-256 (the summary's `params_sha256`).
struct ModelFileOptions: ParsableArguments {
    @Option(help: ArgumentHelp("At the end of the run, write the final parameters x_T to FILE as safetensors, atomically (train: PyTorch state_dict names and shapes; optimize: one tensor x of shape [d]; see docs/models.md).",
                               valueName: "FILE"))
    var saveModel: String?

    @Option(help: ArgumentHelp("Start from the parameters in the safetensors FILE instead of the seeded initialisation (names, shapes and dtypes must match the model, as --save-model writes them; not with --resume).",
                               valueName: "FILE"))
    var initFrom: String?

    @Flag(help: "With --checkpoint DIR: also write x_t beside each checkpoint as DIR/step-N/model.safetensors (as --save-model writes it), before the checkpoint is complete.")
    var saveModelAtCheckpoints = false

    /// The file written beside each checkpoint, in its step directory.
    static let checkpointFileName = "model.safetensors"

    /// Checks the flags before anything runs: --save-model names a file
    /// that can be written, --init-from does not come with --resume,
    /// --save-model-at-checkpoints comes with a checkpoint directory.
    func check(resume: Bool, checkpoint: String?) throws {
        if initFrom != nil, resume {
            throw CSGDError("--init-from and --resume: a resumed run continues from its checkpoint; give one of them")
        }
        if saveModelAtCheckpoints, checkpoint == nil { throw CSGDError("--save-model-at-checkpoints needs --checkpoint DIR") }
        if let path = saveModel { try ModelFile.checkWritable(path, flag: "--save-model") }
    }

    /// With --save-model-at-checkpoints, has the run call `save(x_t, t,
    /// SHA-256 of x_t, path)` for each checkpoint, into its step directory.
    func hookCheckpoints(_ config: inout TrainerConfiguration,
                         save: @escaping @Sendable (UnsafeBufferPointer<Float>, Int, String, String) throws -> Void) {
        guard saveModelAtCheckpoints else { return }
        config.onCheckpoint = { step, x, directory in
            try save(x, step, Trainer.sha256(x),
                     (directory as NSString).appendingPathComponent(Self.checkpointFileName))
        }
    }

    /// The objective a run optimises: `objective`, starting at `start` (what
    /// --init-from read) when there is one.
    static func startingAt(_ start: [Float]?, _ objective: any Objective) -> any Objective {
        guard let start else { return objective }
        return GivenStartObjective(objective, start: start)
    }
}

/// Reading and writing the safetensors files of `ModelFileOptions`.
enum ModelFile {
    /// Refuses `path` unless a file can be created or replaced there: not
    /// a directory or any other non-regular file (a device, a FIFO: the
    /// file is replaced by a rename, which would replace the node itself),
    /// in a directory that exists. A symbolic link counts as its target.
    static func checkWritable(_ path: String, flag: String) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) != S_IFDIR else { throw CSGDError("\(flag) '\(path)' is a directory") }
            guard (st.st_mode & S_IFMT) == S_IFREG else { throw CSGDError("\(flag) '\(path)' is not a regular file") }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent.isEmpty ? "." : parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CSGDError("\(flag) '\(path)': no directory '\(parent)' to write it in")
        }
    }

    /// Writes `tensors` and `metadata` to `path` atomically (a temporary
    /// file beside it, fsync, rename): a reader sees the old file or the
    /// whole new one. A symbolic link stays a link: its target is replaced.
    /// A failure is an `IOFailure` (exit status 1).
    static func write(_ tensors: [SafeTensors.Tensor], metadata: [String: String], to path: String) throws {
        let bytes = try SafeTensors.encode(tensors, metadata: metadata)
        let url = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        try AtomicFile.write(bytes, to: url.path, temporary: tmp)
    }

    /// The model's state_dict tensors at parameters `x`, with BatchNorm's
    /// running statistics `state` averaged over `batches` batches.
    static func tensors(of model: Model, parameters x: UnsafeBufferPointer<Float>, state: [Float], batches: Int) -> [SafeTensors.Tensor] {
        state.withUnsafeBufferPointer { s in
            model.stateDict.map { e in
                switch e.storage {
                case let .parameters(offset):
                    return SafeTensors.Tensor(name: e.name, shape: e.shape, floats: UnsafeBufferPointer(rebasing: x[offset ..< offset + e.count]))
                case let .runningState(offset):
                    return SafeTensors.Tensor(name: e.name, shape: e.shape, floats: UnsafeBufferPointer(rebasing: s[offset ..< offset + e.count]))
                case .batchesTracked:
                    return SafeTensors.Tensor(name: e.name, shape: e.shape, int64s: [Int64(batches)])
                }
            }
        }
    }

    /// The metadata every file gets: the csgd version and commit, `what` (the run's
    /// specs), the steps and the parameters' SHA-256.
    static func metadata(_ what: [String: String], steps: Int, sha256: String) -> [String: String] {
        what.merging(["format": "pt", "csgd_version": CSGDVersion.number, "csgd_commit": BuildInfo.commit ?? "unknown",
                      "steps": String(steps), "params_sha256": sha256]) { $1 }
    }

    /// Reads `model`'s flat parameter vector from the safetensors file at
    /// `path`. Its tensors must be exactly the model's state_dict (names,
    /// shapes, F32, num_batches_tracked I64); the first mismatch, in
    /// state_dict order (then a tensor the model does not have), is one
    /// line. Running statistics are checked but not used: csgd estimates
    /// them from the parameters whenever it evaluates.
    static func readParameters(_ path: String, model: Model) throws -> [Float] {
        let file = try SafeTensorsFile(path: path)
        let expected = model.stateDict
        for e in expected {
            let dtype = e.storage == .batchesTracked ? "I64" : "F32"
            try check(file, name: e.name, dtype: dtype, shape: e.shape, owner: "model '\(model.name)'")
        }
        let names = Set(expected.map(\.name))
        if let extra = file.header.entries.keys.sorted().first(where: { !names.contains($0) }) {
            throw CSGDError("--init-from '\(path)': tensor '\(extra)' is not in model '\(model.name)'")
        }
        var x = [Float](repeating: 0, count: model.parameterCount)
        for e in expected {
            guard case let .parameters(offset) = e.storage else { continue }
            x.replaceSubrange(offset ..< offset + e.count, with: try file.floats(of: e.name))
        }
        return x
    }

    /// Reads the flat iterate of `optimize` (one F32 tensor `x` of shape [d]).
    static func readVector(_ path: String, dimension d: Int, problem: String) throws -> [Float] {
        let file = try SafeTensorsFile(path: path)
        try check(file, name: "x", dtype: "F32", shape: [d], owner: "problem '\(problem)'")
        if let extra = file.header.entries.keys.sorted().first(where: { $0 != "x" }) {
            throw CSGDError("--init-from '\(path)': tensor '\(extra)' is not the iterate x of problem '\(problem)'")
        }
        return try file.floats(of: "x")
    }

    /// `owner` is what needs the tensor: "model 'mlp:…'" or "problem 'saddle:…'".
    private static func check(_ file: SafeTensorsFile, name: String, dtype: String, shape: [Int], owner: String) throws {
        guard let t = file.header.entries[name] else {
            throw CSGDError("--init-from '\(file.path)': no tensor '\(name)' (\(owner) has it, shape \(shape))")
        }
        guard t.shape == shape else {
            throw CSGDError("--init-from '\(file.path)': tensor '\(name)' has shape \(t.shape), \(owner) needs \(shape)")
        }
        guard t.dtype == dtype else {
            throw CSGDError("--init-from '\(file.path)': tensor '\(name)' has dtype \(t.dtype), \(owner) needs \(dtype)")
        }
    }
}

/// The final iterate x_T of a run, as the evaluator sees it on the
/// reporting rank: the run calls its evaluator at the end with x_T (and
/// every --eval-every steps before), and each call replaces the copy.
/// `parameters(sha256:)` hands it out only if it is the summary's x_T.
final class FinalIterate: @unchecked Sendable {
    private let lock = NSLock()
    private var x: [Float]?

    func keep(_ v: UnsafeBufferPointer<Float>) {
        lock.lock(); defer { lock.unlock() }
        x = Array(v)
    }

    /// The kept iterate; an error if it is not the one whose hex SHA-256 is `sha256`.
    func parameters(sha256: String) throws -> [Float] {
        lock.lock(); defer { lock.unlock() }
        guard let x else { throw IOFailure("--save-model: the run ended without handing over its final parameters") }
        guard Trainer.sha256(FloatBuffer(x)) == sha256 else {
            throw IOFailure("--save-model: the parameters kept are not the run's final ones (SHA-256 differs from params_sha256)")
        }
        return x
    }
}
