import CSGDCore
import Foundation
import Optimization

/// What a run is, written once as the first line of its JSONL log
/// (`{"type":"header",…}`) and as the `header` object of its `--json`
/// summary: the csgd version and git commit that ran it, its whole command
/// line, its configuration with every default resolved, and the machine
/// (processor, the C kernels' instruction path, OpenBLAS's kernel set).
///
/// Step records have no `type` key, so a reader tells a header from a
/// record by that key alone (`RunHeader.kind(of:)`). A run resumed from a
/// checkpoint appends a header of its own before its first record: the
/// last header of a log describes the run that wrote its last records, the
/// first describes how the log began. `csgd rerun` re-runs a log's last
/// header.
public struct RunHeader: Codable, Sendable, Equatable {
    /// The value of `type` on a header line.
    public static let type = "header"

    /// `CSGDVersion.number` of the csgd that ran.
    public var version: String
    /// The abbreviated git commit csgd was built from (nil: not known).
    public var commit: String?
    /// Whether tracked files differed from `commit` at build time.
    public var commitModified: Bool?
    /// The subcommand (`optimize`, `train`).
    public var command: String
    /// The whole command line after `csgd`, the subcommand first, as the
    /// run parsed it (a `--resume --checkpoint DIR` completed from DIR).
    public var arguments: [String]
    public var configuration: RunConfiguration
    public var machine: RunMachine

    public init(version: String, commit: String?, commitModified: Bool?, command: String, arguments: [String],
                configuration: RunConfiguration, machine: RunMachine) {
        self.version = version; self.commit = commit; self.commitModified = commitModified; self.command = command
        self.arguments = arguments; self.configuration = configuration; self.machine = machine
    }

    enum CodingKeys: String, CodingKey {
        case type
        case version = "csgd_version"
        case commit = "git_commit"
        case commitModified = "git_modified"
        case command
        case arguments = "argv"
        case configuration = "config"
        case machine
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        guard type == Self.type else {
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "type '\(type)' is not '\(Self.type)'")
        }
        version = try c.decode(String.self, forKey: .version)
        commit = try c.decodeIfPresent(String.self, forKey: .commit)
        commitModified = try c.decodeIfPresent(Bool.self, forKey: .commitModified)
        command = try c.decode(String.self, forKey: .command)
        arguments = try c.decode([String].self, forKey: .arguments)
        configuration = try c.decode(RunConfiguration.self, forKey: .configuration)
        machine = try c.decode(RunMachine.self, forKey: .machine)
        guard arguments.first == command else {
            throw DecodingError.dataCorruptedError(forKey: .arguments, in: c, debugDescription: "argv does not start with the command '\(command)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.type, forKey: .type)
        try c.encode(version, forKey: .version)
        try c.encodeIfPresent(commit, forKey: .commit)
        try c.encodeIfPresent(commitModified, forKey: .commitModified)
        try c.encode(command, forKey: .command)
        try c.encode(arguments, forKey: .arguments)
        try c.encode(configuration, forKey: .configuration)
        try c.encode(machine, forKey: .machine)
    }

    /// The `type` of a JSON line (`header`, `summary`), or nil for a step
    /// record and for a line that is not a JSON object.
    public static func kind(of line: some DataProtocol) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])?["type"] as? String
    }
}

/// A run's configuration with its defaults resolved: what the command line
/// left out is here as the run used it.
public struct RunConfiguration: Codable, Sendable, Equatable {
    /// The method's spec as written (`alg1:sigma=0.01`).
    public var method: String
    /// Every option of the method as the run used it, defaults included
    /// (`RunConfiguration.options(of:)`), e.g. `noise` = `sigma(0.01)`.
    public var methodOptions: [String: String]
    /// The compressor's canonical spec (`randomk:0.1`, `qsgd:4,coding=elias`).
    public var compressor: String
    /// The step size η every step starts with (a method's `eta=`, else
    /// `--lr`, else the method's or the problem's), nil if none resolves.
    public var eta: Double?
    public var seed: UInt64
    /// Data-parallel workers W.
    public var workers: Int
    /// The mini-batch per worker (0: the full gradient).
    public var batch: Int
    /// Iterations T.
    public var steps: Int
    /// `inproc` or `mpi`.
    public var backend: String
    /// Threads a worker uses (`train`: for its batch parts, which fixes the
    /// order of the batch sums; 0: the runner's default).
    public var threads: Int
    /// `optimize`: the problem's canonical spec.
    public var problem: String?
    /// `train`: the model's canonical spec.
    public var model: String?
    /// `train`: the data set and how much of it (`fashion-mnist: 60000 train / 10000 test`).
    public var data: String?
    /// `train`: how the training set is split across workers.
    public var partition: String?
    /// Momentum, weight decay and the step-size schedule on top of the
    /// method (`OptimizerOptions.description`, e.g. `worker-momentum=0.9`;
    /// `none` when there are none; absent from a header written before it
    /// was recorded).
    public var optimizer: String?
    /// How the messages travel, as resolved for this run's compressor and
    /// W (`allreduce`, `sketch`, `allgather`, `scatter`; `--collective`;
    /// absent from a header written before it was recorded).
    public var collective: String?

    public init(method: any Method, compressor: String, eta: Double?, seed: UInt64, workers: Int, batch: Int, steps: Int,
                backend: String, threads: Int, problem: String? = nil, model: String? = nil, data: String? = nil,
                partition: String? = nil) {
        self.method = method.text; methodOptions = Self.options(of: method); self.compressor = compressor; self.eta = eta
        self.seed = seed; self.workers = workers; self.batch = batch; self.steps = steps; self.backend = backend
        self.threads = threads; self.problem = problem; self.model = model; self.data = data; self.partition = partition
    }

    enum CodingKeys: String, CodingKey {
        case method
        case methodOptions = "method_options"
        case compressor, eta, seed, workers, batch, steps, backend, threads, problem, model, data, partition, optimizer, collective
    }

    /// Every stored option of a method, by its property name (in snake
    /// case: `deferred_noise`), as text: the
    /// typed values its spec parsed to, the defaults it did not give
    /// included (`batch`, `eta` from the common options; `none` for an
    /// absent optional; an enumeration's case with its payload,
    /// `on(I=500,R=0.1,F=0)`; a nested group of options as its own keys).
    public static func options(of method: any Method) -> [String: String] {
        var out: [String: String] = [:]
        func add(_ value: Any, prefix: String) {
            for child in Mirror(reflecting: value).children {
                guard let label = child.label else { continue }
                let m = Mirror(reflecting: child.value)
                if label == "common" {
                    out["batch"] = render(method.batch)
                    out["eta"] = render(method.common.eta as Any)
                } else if m.displayStyle == .struct, !m.children.isEmpty {
                    add(child.value, prefix: prefix + snakeCase(label) + ".")
                } else {
                    out[prefix + snakeCase(label)] = render(child.value)
                }
            }
        }
        add(method, prefix: "")
        return out
    }

    /// `deferredNoise` → `deferred_noise`, as the log's other keys are written.
    public static func snakeCase(_ name: String) -> String {
        var out = ""
        var previousIsLower = false
        for ch in name {
            if ch.isUppercase && previousIsLower { out += "_" + ch.lowercased() } else { out.append(ch) }
            previousIsLower = ch.isLowercase || ch.isNumber
        }
        return out
    }

    /// A value as text: an optional unwrapped (`none` when absent), an
    /// enumeration's case and payload, a structure's fields `k=v`.
    static func render(_ value: Any) -> String {
        let m = Mirror(reflecting: value)
        switch m.displayStyle {
        case .optional:
            return m.children.first.map { render($0.value) } ?? "none"
        case .enum:
            guard let payload = m.children.first, let name = payload.label else { return String(describing: value) }
            let inner = Mirror(reflecting: payload.value)
            if inner.displayStyle == .tuple || inner.displayStyle == .struct {
                return name + "(" + inner.children.map { ($0.label.map { $0 + "=" } ?? "") + render($0.value) }.joined(separator: ",") + ")"
            }
            return name + "(" + render(payload.value) + ")"
        case .struct:
            return m.children.map { ($0.label ?? "?") + "=" + render($0.value) }.joined(separator: ",")
        default:
            return String(describing: value)
        }
    }
}

/// The machine a run computed on.
public struct RunMachine: Codable, Sendable, Equatable {
    /// The processor's model name (`CPUModel.name`).
    public var cpu: String
    /// Cores the process may use.
    public var cores: Int
    /// The instruction path of the C kernels (`GaussianSIMD.Path.best`: avx512, avx2, software-aes, portable).
    public var instructionPath: String
    /// OpenBLAS's kernel set (`openblas_get_corename`, e.g. SkylakeX), or `unknown`.
    public var blasCore: String

    public init(cpu: String, cores: Int, instructionPath: String, blasCore: String) {
        self.cpu = cpu; self.cores = cores; self.instructionPath = instructionPath; self.blasCore = blasCore
    }

    /// This machine, with the BLAS kernel set the caller reads from OpenBLAS.
    public static func current(blasCore: String) -> RunMachine {
        RunMachine(cpu: CPUModel.name, cores: ProcessInfo.processInfo.activeProcessorCount,
                   instructionPath: GaussianSIMD.Path.best.description, blasCore: blasCore)
    }

    enum CodingKeys: String, CodingKey {
        case cpu, cores
        case instructionPath = "instruction_path"
        case blasCore = "blas_core"
    }
}
