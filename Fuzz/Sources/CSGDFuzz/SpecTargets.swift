// The spec parsers' fuzz targets: every `NAME[:item,…]` argument a user
// types (compressor, method, problem, model, data set, partition, ensemble).
//
// The input's bytes are the spec's text (decoded as UTF-8, invalid
// sequences replaced, as a command line would be). For every input:
//   • parsing throws nothing but a `CSGDError` whose message starts with the
//     kind (`compressor 'topk': …`, `option '--ensemble': …`);
// and when it succeeds:
//   • the spec's canonical spelling (`description`) parses back to an equal
//     spec, which spells itself the same way (a method, which keeps the text
//     as written, parses from its `text` to the same method: the same type
//     and the same options).
// Nothing is built from the spec (a problem of d = 10⁹ is valid input, and
// building it would allocate what the user asked for).

import Compression
import CSGDCore
import Datasets
import NeuralNet
import Optimization
import Problems

enum SpecTargets {
    static var all: [FuzzTarget] {
        [
            target("spec-compressor", prefix: "compressor ", CompressorSpec.parse, seeds: CompressorSpec.representatives + [
                "identity", "topk:100", "randomk:1e-3", "sketch-topk:0.01,rows=3,cols=64", "qsgd:4,elias", "qsgd:1073741824,fixed",
                " TopK : 0.5 ",
            ]),
            methodTarget(),
            target("spec-problem", prefix: "problem ", ProblemSpec.parse, seeds: [
                "saddle", "saddle:d=10,noise=0.1", "matrix-factorization:n=20,r=3", "phase-retrieval:d=16,n=64",
                "tensor-decomposition:d=8", "relu:d=10", "relu:", "saddle:d=10,start=random",
            ]),
            target("spec-model", prefix: "model ", ModelSpec.parse, seeds: [
                "mnist-ae", "mnist-ae:loss=bce", "mlp:784-256-10", "mlp:784-256-128-10,act=relu-tanh,dropout=0.1-0.2",
                "mlp:4-2,act=none", "resnet:18", "resnet:20,width=16", "vgg:3", "vgg:2,width=16,dropout=0.3",
            ]),
            target("spec-dataset", prefix: "dataset ", DatasetSpec.parse, seeds: [
                "fashion-mnist", "mnist", "cifar10", "cifar-10", "synthetic", "synthetic:n=100,classes=3",
            ] + syntheticSeeds),
            target("spec-partition", prefix: "partition ", PartitionSpec.parse, seeds: [
                "iid", "by-class", "byclass", "dirichlet:0.5", "dirichlet:alpha=1e-3",
            ]),
            target("spec-ensemble", prefix: "option '--ensemble': ", Ensemble.parse, describe: \.description, seeds: [
                "5,eps=1e-6", "1,eps=0.5,ball=relative", "20,eps=2,ball=absolute",
            ]),
        ]
    }

    /// `synthetic:KEY=VALUE` for each of its options.
    static var syntheticSeeds: [String] {
        SyntheticSpec.keys.map { "synthetic:\($0)=3" }
    }

    static func text(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }

    static func seedBytes(_ texts: [String]) -> () -> [[UInt8]] { { texts.map { Array($0.utf8) } } }

    /// A target for an `Equatable` spec with a canonical `description`.
    static func target<S: Equatable & CustomStringConvertible>(
        _ name: String, prefix: String, _ parse: @escaping (String) throws -> S, seeds: [String]
    ) -> FuzzTarget {
        target(name, prefix: prefix, parse, describe: \.description, seeds: seeds)
    }

    /// A target for an `Equatable` spec whose canonical spelling is `describe`.
    static func target<S: Equatable>(
        _ name: String, prefix: String, _ parse: @escaping (String) throws -> S, describe: @escaping (S) -> String, seeds: [String]
    ) -> FuzzTarget {
        FuzzTarget(name: name, run: { bytes in
            let s: S
            do {
                s = try parse(text(bytes))
            } catch {
                checkError(error, target: name, prefix: prefix, bytes)
                return
            }
            let spelled = describe(s)
            let back: S
            do { back = try parse(spelled) } catch {
                failInput(name, "its description '\(spelled)' does not parse: \(error)", bytes)
            }
            if back != s { failInput(name, "its description '\(spelled)' parses as \(back), another spec", bytes) }
            if describe(back) != spelled {
                failInput(name, "its description '\(spelled)' parses to one spelled '\(describe(back))'", bytes)
            }
        }, seeds: seedBytes(seeds))
    }

    /// Methods are not `Equatable`; they are compared through their
    /// reflection (every stored property, `text` among them).
    static func methodTarget() -> FuzzTarget {
        let name = "spec-method"
        func dump(_ m: any Method) -> String {
            var out = ""
            debugPrint(m, to: &out)
            return out
        }
        let seeds = [
            "alg1", "alg1:sigma=0.01", "alg1:r=0.1,theory", "sgd", "sgd:batch=8,eta=0.1", "ef-sgd", "psgd:sigma=0.1",
            "pgd:eps=0.01", "pagd:eps=0.01,theta=0.5", "cnc:batch=1", "qsgd-sgd:s=4",
        ]
        return FuzzTarget(name: name, run: { bytes in
            let spec = text(bytes)
            let m: any Method
            do {
                m = try Methods.parse(spec)
            } catch {
                checkError(error, target: name, prefix: "method ", bytes)
                return
            }
            let d = dump(m)
            let back: any Method
            do { back = try Methods.parse(m.text) } catch { failInput(name, "its text '\(m.text)' does not parse: \(error)", bytes) }
            if dump(back) != d {
                failInput(name, "its text '\(m.text)' parses as another method: \(dump(back)), not \(d)", bytes)
            }
        }, seeds: seedBytes(seeds))
    }
}
