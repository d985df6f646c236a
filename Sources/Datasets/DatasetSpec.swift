import Foundation
import CSGDCore

/// A parsed `--dataset` argument: which data set, and how to load a split.
///
/// Grammar: `fashion-mnist`, `mnist`, `cifar10` (also `cifar-10`), or
/// `synthetic[:n=N,classes=K,shape=CxHxW,seed=S,test=M,noise=σ]`. Fashion-MNIST
/// defaults to the directory Debian's `dataset-fashion-mnist` installs,
/// `/usr/share/datasets/fashion-mnist`; MNIST and CIFAR-10 have no Debian
/// package, so they need a directory. `load` throws one-line errors: a
/// missing file names its full path and the package that provides it (or
/// that none does), and the readers name the file and the problem for
/// anything malformed inside.
public enum DatasetSpec: Equatable, Sendable, CustomStringConvertible {
    case fashionMNIST
    case mnist
    case cifar10
    case synthetic(SyntheticSpec)

    /// The names `parse` accepts.
    public static let names = ["fashion-mnist", "mnist", "cifar10", "synthetic"]
    /// Where Debian's package installs Fashion-MNIST.
    public static let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"
    /// The Debian package that provides Fashion-MNIST.
    public static let fashionMNISTPackage = "dataset-fashion-mnist"

    /// Parses a `--dataset` argument (`SpecParser`'s grammar and errors).
    public static func parse(_ text: String) throws -> DatasetSpec {
        var p = try SpecParser(text, kind: "dataset", names: names,
                               aliases: ["fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist", "cifar-10": "cifar10"])
        if p.name == "synthetic" {
            try p.read(options: SyntheticSpec.keys)
            return .synthetic(try SyntheticSpec.parse(p))
        }
        try p.read()
        switch p.name {
        case "fashion-mnist": return .fashionMNIST
        case "mnist": return .mnist
        default: return .cifar10
        }
    }

    /// The canonical name.
    public var name: String {
        switch self {
        case .fashionMNIST: return "fashion-mnist"
        case .mnist: return "mnist"
        case .cifar10: return "cifar10"
        case .synthetic: return "synthetic"
        }
    }

    public var description: String {
        if case let .synthetic(s) = self { return s.description }
        return name
    }

    /// The directory used when none is given (only Fashion-MNIST has one).
    public var defaultDirectory: String? {
        self == .fashionMNIST ? Self.fashionMNISTDirectory : nil
    }

    /// The Debian package that installs the files, if any.
    public var debianPackage: String? {
        self == .fashionMNIST ? Self.fashionMNISTPackage : nil
    }

    /// Whether loading reads files (all but `synthetic`).
    public var readsFiles: Bool {
        if case .synthetic = self { return false }
        return true
    }

    /// Number of classes.
    public var classes: Int {
        switch self {
        case .fashionMNIST, .mnist: return 10
        case .cifar10: return CIFAR10Reader.classes
        case let .synthetic(s): return s.classes
        }
    }

    /// Shape of one sample, known before loading.
    public var sampleShape: (channels: Int, height: Int, width: Int) {
        switch self {
        case .fashionMNIST, .mnist: return (1, 28, 28)
        case .cifar10: return (3, 32, 32)
        case let .synthetic(s): return (s.channels, s.height, s.width)
        }
    }

    /// The IDX file names of a split (base names; each may also end in `.gz`).
    public static func idxFileNames(_ split: DatasetSplit) -> (images: String, labels: String) {
        let prefix = split == .train ? "train" : "t10k"
        return ("\(prefix)-images-idx3-ubyte", "\(prefix)-labels-idx1-ubyte")
    }

    /// Loads one split. `directory` overrides the default directory; the
    /// synthetic set ignores it.
    public func load(split: DatasetSplit, directory: String? = nil) throws -> Dataset {
        switch self {
        case let .synthetic(s):
            return try s.generate(split: split)
        case .cifar10:
            guard let dir = directory else {
                throw CSGDError("dataset 'cifar10' needs --data-dir DIR (no Debian package provides CIFAR-10; DIR holds data_batch_1.bin … test_batch.bin or cifar-10-batches-bin/)")
            }
            return try CIFAR10Reader.load(directory: dir, split: split)
        case .fashionMNIST, .mnist:
            guard let dir = directory ?? defaultDirectory else {
                throw CSGDError("dataset 'mnist' needs --data-dir DIR (no Debian package provides MNIST; DIR holds train-images-idx3-ubyte[.gz] and the other IDX files)")
            }
            let files = Self.idxFileNames(split)
            let images = try locate(dir, files.images)
            let labels = try locate(dir, files.labels)
            return try IDXReader.readDataset(imagesPath: images, labelsPath: labels,
                                             name: "\(name):\(split.rawValue)", classes: classes)
        }
    }

    /// The training and test splits, checked to fit one model: the test
    /// images have the training images' shape and no more classes (a model
    /// is built for the training images, so a mismatch would surface only
    /// when the test set meets it, after training).
    public func loadTrainAndTest(directory: String? = nil) throws -> (train: Dataset, test: Dataset) {
        let train = try load(split: .train, directory: directory)
        let test = try load(split: .test, directory: directory)
        guard test.channels == train.channels && test.height == train.height && test.width == train.width else {
            throw CSGDError("\(description): the test images are \(test.channels)×\(test.height)×\(test.width), the training images \(train.channels)×\(train.height)×\(train.width)")
        }
        guard test.classes <= train.classes else {
            throw CSGDError("\(description): the test split has \(test.classes) classes, the training split \(train.classes)")
        }
        return (train, test)
    }

    /// The path of `base` or `base.gz` in `dir` (the raw file first).
    func locate(_ dir: String, _ base: String) throws -> String {
        let raw = Self.join(dir, base)
        let gz = raw + ".gz"
        if DataFile.isRegularFile(raw) { return raw }
        if DataFile.isRegularFile(gz) { return gz }
        let hint: String
        if let package = debianPackage {
            hint = "the Debian package \(package) provides it in \(Self.fashionMNISTDirectory) (apt-get install \(package))"
        } else {
            hint = "no Debian package provides MNIST: put its four IDX files (raw or .gz) in \(dir)"
        }
        throw CSGDError("missing \(gz) (nor \(raw)); \(hint)")
    }

    /// `dir/name` with exactly one slash between.
    static func join(_ dir: String, _ name: String) -> String {
        dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }
}
