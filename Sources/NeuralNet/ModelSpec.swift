import CSGDCore
import Datasets
import Foundation

/// A parsed `--model` argument: which network, before it is built for an
/// input shape and a number of classes.
///
/// - `mnist-ae[:loss=mse|bce]`: the convolutional autoencoder of *Escaping
///   Saddle Points with Compressed SGD* (NeurIPS 2021): Conv(1→16, k3, s2,
///   p1) ReLU, Conv(16→32, k3, s2, p1) ReLU, Conv(32→64, k7); ConvT(64→32, k7) ReLU, ConvT(32→16, k3, s2, p1, op1)
///   ReLU, ConvT(16→1, k3, s2, p1, op1) Sigmoid; loss against the input
///   (MSE by default). On 1×28×28 images d = 210,369.
/// - `mlp:784-256-10[,act=relu|sigmoid|tanh|none][,dropout=P]`: fully
///   connected layers of those widths (the first is the input size C·H·W,
///   the last the number of classes), the activation after each hidden layer
///   (ReLU by default; `none` leaves it linear), dropout P after each hidden
///   activation (0 by default); cross-entropy. `act` and `dropout` may also
///   be given per hidden layer, `-`-separated like the widths:
///   `mlp:784-128-32-10,act=sigmoid-none,dropout=0.25-0` is Farrell &
///   Quintero Peña's shallow net (dense 128 sigmoid, dropout 0.25, dense 32
///   without activation, dense 10).
/// - `resnet:N[,width=W]`: a ResNet of basic blocks with BatchNorm and a
///   CIFAR stem (3×3 conv, stride 1, BatchNorm, ReLU; no max-pool), global
///   average pooling and a linear classifier; cross-entropy. N = 10, 18, 34:
///   four stages of [1,1,1,1], [2,2,2,2], [3,4,6,3] blocks, widths W·(1, 2,
///   4, 8), W = 64 by default (torchvision's layout). N = 6k + 2 (8, 14, 20,
///   32, …): He et al.'s CIFAR ResNet, three stages of k blocks, widths W·(1,
///   2, 4), W = 16 by default, projection shortcuts. Stages after the first
///   start with stride 2.
/// - `vgg:B[,width=W][,dropout=P]`: B VGG blocks (conv3×3 ReLU conv3×3 ReLU,
///   same padding, max-pool 2, dropout P + 0.1·i in block i), widths W·2^i
///   (W = 32, P = 0.2 by default), then flatten, dense 128 ReLU, dropout 0.2,
///   dense classes (a VGG-style CNN); cross-entropy.
///
/// Every failure is a `CSGDError` whose one line names the problem
/// (`SpecParser`'s style: `model 'mlp': width = 'x' is not an integer`).
/// `description` is the canonical spelling, which parses back to the same spec.
public enum ModelSpec: Equatable, Sendable, CustomStringConvertible {
    case mnistAutoencoder(loss: Loss)
    /// One activation (nil: none) and one dropout probability a hidden layer.
    case mlp(widths: [Int], activations: [Activation.Kind?], dropouts: [Double])
    case resnet(depth: Int, width: Int)
    case vgg(blocks: Int, width: Int, dropout: Double)

    /// An MLP with the same activation and dropout after every hidden layer.
    public static func mlp(widths: [Int], activation: Activation.Kind, dropout: Double) -> ModelSpec {
        let hidden = max(widths.count - 2, 0)
        return .mlp(widths: widths, activations: Array(repeating: activation, count: hidden), dropouts: Array(repeating: dropout, count: hidden))
    }

    /// The model names `parse` accepts.
    public static let names = ["mnist-ae", "mlp", "resnet", "vgg"]

    /// Parses a `--model` argument (`SpecParser`'s grammar and errors; the
    /// widths, depth or blocks are its positional value).
    public static func parse(_ text: String) throws -> ModelSpec {
        var p = try SpecParser(text, kind: "model", names: names)
        let probability = NumberRange(lower: 0, upper: 1, upperInclusive: false)
        switch p.name {
        case "mnist-ae":
            try p.read(options: ["loss"])
            return .mnistAutoencoder(loss: try p.choice("loss", default: Loss.mse, among: [.mse, .binaryCrossEntropy]))
        case "mlp":
            try p.read(options: ["act", "dropout"], positional: .required(what: "its layer widths", example: "mlp:784-256-10"))
            let widths = try p.positional!.split(separator: "-", omittingEmptySubsequences: false).map {
                try p.integer(String($0), as: "width", .positive)
            }
            guard widths.count >= 2 else { throw p.error("needs at least an input and an output width, as in 'mlp:784-10'") }
            // One value for every hidden layer, or one a hidden layer.
            let hidden = widths.count - 2
            func perLayer<T>(_ key: String, _ fallback: T, _ read: (String) throws -> T) throws -> [T] {
                guard let text = p.value(key) else { return Array(repeating: fallback, count: hidden) }
                let items = try text.split(separator: "-", omittingEmptySubsequences: false).map { try read(String($0)) }
                if items.count == 1 { return Array(repeating: items[0], count: hidden) }
                guard items.count == hidden else {
                    throw p.error("\(key) = '\(text)' gives \(items.count) values for \(hidden) hidden layers (give one, or one a layer)")
                }
                return items
            }
            let kinds = Activation.Kind.allCases.map(\.rawValue) + ["none"]
            let activations: [Activation.Kind?] = try perLayer("act", Activation.Kind.relu) { t in
                guard kinds.contains(t.lowercased()) else { throw p.error("act = '\(t)' is not one of: \(kinds.joined(separator: ", "))") }
                return Activation.Kind(rawValue: t.lowercased())
            }
            let dropouts = try perLayer("dropout", 0) { try p.number($0, as: "dropout", probability) }
            return .mlp(widths: widths, activations: activations, dropouts: dropouts)
        case "resnet":
            try p.read(options: ["width"], positional: .required(what: "a depth", example: "resnet:18"))
            let depth = try p.integer(p.positional!, as: "depth")
            guard depth == 10 || depth == 18 || depth == 34 || (depth >= 8 && (depth - 2) % 6 == 0) else {
                throw p.error("depth = \(depth) is not 10, 18, 34 or 6k+2 (8, 14, 20, 32, …)")
            }
            return .resnet(depth: depth, width: try p.integer("width", default: [10, 18, 34].contains(depth) ? 64 : 16, .positive))
        default:
            try p.read(options: ["width", "dropout"], positional: .required(what: "a number of blocks", example: "vgg:3"))
            let blocks = try p.integer(p.positional!, as: "blocks", .between(1, 6))
            let width = try p.integer("width", default: 32, .positive)
            let dropout = try p.number("dropout", default: 0.2, probability)
            guard dropout + 0.1 * Double(blocks - 1) < 1 else {
                throw p.error("dropout \(dropout) + 0.1 per block reaches 1 by block \(blocks)")
            }
            return .vgg(blocks: blocks, width: width, dropout: dropout)
        }
    }

    public var description: String {
        switch self {
        case let .mnistAutoencoder(loss): return loss == .mse ? "mnist-ae" : "mnist-ae:loss=\(loss.rawValue)"
        case let .mlp(w, a, p):
            // One value when every hidden layer has the same (the spelling before per-layer lists).
            func list(_ items: [String]) -> String { Set(items).count <= 1 ? items.first ?? "" : items.joined(separator: "-") }
            var text = "mlp:\(w.map(String.init).joined(separator: "-"))"
            if !a.isEmpty { text += ",act=\(list(a.map { $0?.rawValue ?? "none" })),dropout=\(list(p.map(Self.number)))" }
            return text
        case let .resnet(d, w): return "resnet:\(d),width=\(w)"
        case let .vgg(b, w, p): return "vgg:\(b),width=\(w),dropout=\(Self.number(p))"
        }
    }

    /// Whether the built model is a classifier (else an autoencoder).
    public var isClassifier: Bool {
        if case .mnistAutoencoder = self { return false }
        return true
    }

    /// A number as a spec writes it: an integer without a fraction, else
    /// Swift's shortest digits, with an exponent written out as a plain
    /// decimal (2.5e-28 as 0.00…025), since per-layer lists are
    /// `-`-separated and would split `2.5e-28` into `2.5e` and `28`.
    static func number(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        let text = "\(v)"
        guard v.isFinite, let e = text.firstIndex(of: "e"), let exponent = Int(text[text.index(after: e)...]) else { return text }
        let sign = v < 0 ? "-" : ""
        let mantissa = text[..<e].drop { $0 == "-" }
        let digits = mantissa.filter { $0 != "." }
        let point = (mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count) + exponent
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
        if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) }
        return sign + String(digits.prefix(point)) + "." + String(digits.dropFirst(point))
    }

    /// Builds the network for `data`'s sample shape and number of classes.
    public func build(for data: Dataset) throws -> Model {
        try build(input: TensorShape(data.channels, data.height, data.width), classes: data.classes)
    }

    /// Builds the network for samples of shape `input` and, for classifiers,
    /// `classes` labels.
    public func build(input: TensorShape, classes: Int) throws -> Model {
        var b = Builder(input)
        switch self {
        case let .mnistAutoencoder(loss):
            try b.conv(16, kernel: 3, stride: 2, padding: 1); b.act(.relu)
            try b.conv(32, kernel: 3, stride: 2, padding: 1); b.act(.relu)
            try b.conv(64, kernel: 7)
            try b.convT(32, kernel: 7); b.act(.relu)
            try b.convT(16, kernel: 3, stride: 2, padding: 1, outputPadding: 1); b.act(.relu)
            try b.convT(input.channels, kernel: 3, stride: 2, padding: 1, outputPadding: 1); b.act(.sigmoid)
            guard b.shape == input else {
                throw CSGDError("model 'mnist-ae' maps \(input) to \(b.shape); it needs 28x28-like inputs (e.g. 1x28x28)")
            }
            return try Model(name: description, body: Sequential(b.layers), loss: loss, task: .autoencoder)
        case let .mlp(widths, act, p):
            guard widths[0] == input.count else {
                throw CSGDError("model '\(description)': first width \(widths[0]) must equal the input size \(input.count) (\(input))")
            }
            guard widths.last! == classes else {
                throw CSGDError("model '\(description)': last width \(widths.last!) must equal the number of classes \(classes)")
            }
            if input.height != 1 || input.width != 1 { b.flatten() }
            for (i, w) in widths.dropFirst().enumerated() {
                try b.linear(w)
                if i < widths.count - 2 {
                    if let a = act[i] { b.act(a) }
                    if p[i] > 0 { try b.dropout(p[i]) }
                }
            }
        case let .resnet(depth, width):
            try b.conv(width, kernel: 3, stride: 1, padding: 1, bias: false)
            try b.batchNorm(); b.act(.relu)
            let stages: [Int]
            switch depth {
            case 10: stages = [1, 1, 1, 1]
            case 18: stages = [2, 2, 2, 2]
            case 34: stages = [3, 4, 6, 3]
            default: stages = Array(repeating: (depth - 2) / 6, count: 3)
            }
            for (i, count) in stages.enumerated() {
                for j in 0..<count { try b.basicBlock(width << i, stride: i > 0 && j == 0 ? 2 : 1) }
            }
            b.globalAveragePool()
            try b.linear(classes)
        case let .vgg(blocks, width, p):
            for i in 0..<blocks {
                try b.conv(width << i, kernel: 3, padding: 1); b.act(.relu)
                try b.conv(width << i, kernel: 3, padding: 1); b.act(.relu)
                try b.maxPool(2)
                try b.dropout(p + 0.1 * Double(i))
            }
            b.flatten()
            try b.linear(128); b.act(.relu)
            try b.dropout(0.2)
            try b.linear(classes)
        }
        guard classes >= 2 else { throw CSGDError("model '\(description)': a classifier needs at least 2 classes, got \(classes)") }
        return try Model(name: description, body: Sequential(b.layers), loss: .crossEntropy, task: .classifier(classes: classes))
    }
}

/// Appends layers to a stack, tracking the current shape.
struct Builder {
    var shape: TensorShape
    var layers: [any Layer] = []
    var salt: UInt64 = 0
    init(_ input: TensorShape) { shape = input }

    mutating func add(_ l: any Layer) { layers.append(l); shape = l.outputShape }
    mutating func conv(_ out: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true) throws {
        add(try Conv2d(shape.channels, out, kernel: kernel, stride: stride, padding: padding, bias: bias, input: shape))
    }
    mutating func convT(_ out: Int, kernel: Int, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0) throws {
        add(try ConvTranspose2d(shape.channels, out, kernel: kernel, stride: stride, padding: padding, outputPadding: outputPadding, input: shape))
    }
    mutating func act(_ k: Activation.Kind) { add(Activation(k, input: shape)) }
    mutating func batchNorm() throws { add(try BatchNorm2d(shape.channels, input: shape)) }
    mutating func linear(_ out: Int) throws { add(try Linear(shape.count, out, input: shape)) }
    mutating func flatten() { add(Flatten(input: shape)) }
    mutating func globalAveragePool() { add(GlobalAveragePool(input: shape)) }
    mutating func maxPool(_ k: Int) throws { add(try Pool2d(.max, kernel: k, input: shape)) }
    mutating func dropout(_ p: Double) throws { salt += 1; add(try Dropout(p, salt: salt, input: shape)) }
    mutating func basicBlock(_ out: Int, stride: Int) throws { add(try ResidualBlock.basic(shape.channels, out, stride: stride, input: shape)) }
}
