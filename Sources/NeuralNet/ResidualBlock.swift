import CSGDCore

/// A residual block y = ReLU(main(x) + shortcut(x)), the shortcut being the
/// identity or a layer stack (torchvision's BasicBlock: main = conv3×3(s) →
/// BN → ReLU → conv3×3 → BN, shortcut = conv1×1(s) → BN when the shape
/// changes). Its parameter slice is the main path's, then the shortcut's.
///
/// Saved memory: the main and shortcut outputs, then the two stacks' saved
/// memory. Backward masks ∂y by y > 0, sends it through both paths and adds
/// their input gradients.
public struct ResidualBlock: Layer {
    public let main: Sequential
    public let shortcut: Sequential?
    public var inputShape: TensorShape { main.inputShape }
    public var outputShape: TensorShape { main.outputShape }

    public init(main: Sequential, shortcut: Sequential?) throws {
        if let s = shortcut {
            guard s.inputShape == main.inputShape, s.outputShape == main.outputShape else {
                throw CSGDError("residual shortcut \(s.inputShape)→\(s.outputShape) does not match its main path \(main.inputShape)→\(main.outputShape)")
            }
        } else {
            guard main.inputShape == main.outputShape else {
                throw CSGDError("identity shortcut needs equal shapes, main path maps \(main.inputShape)→\(main.outputShape)")
            }
        }
        self.main = main
        self.shortcut = shortcut
    }

    /// torchvision's BasicBlock (convolutions without bias, 3×3 padding 1,
    /// a 1×1 projection with BatchNorm when the stride or width changes).
    public static func basic(_ inChannels: Int, _ outChannels: Int, stride: Int, input: TensorShape) throws -> ResidualBlock {
        let c1 = try Conv2d(inChannels, outChannels, kernel: 3, stride: stride, padding: 1, bias: false, input: input)
        let b1 = try BatchNorm2d(outChannels, input: c1.outputShape)
        let r1 = Activation(.relu, input: b1.outputShape)
        let c2 = try Conv2d(outChannels, outChannels, kernel: 3, stride: 1, padding: 1, bias: false, input: r1.outputShape)
        let b2 = try BatchNorm2d(outChannels, input: c2.outputShape)
        let main = try Sequential([c1, b1, r1, c2, b2])
        var short: Sequential? = nil
        if stride != 1 || inChannels != outChannels {
            let p = try Conv2d(inChannels, outChannels, kernel: 1, stride: stride, padding: 0, bias: false, input: input)
            short = try Sequential([p, try BatchNorm2d(outChannels, input: p.outputShape)])
        }
        return try ResidualBlock(main: main, shortcut: short)
    }

    public var parameterCount: Int { main.parameterCount + (shortcut?.parameterCount ?? 0) }
    public var stateCount: Int { main.stateCount + (shortcut?.stateCount ?? 0) }
    public var parameterTensors: [(name: String, shape: [Int])] {
        main.parameterTensors.map { (name: "main.\($0.name)", shape: $0.shape) }
            + (shortcut?.parameterTensors.map { (name: "shortcut.\($0.name)", shape: $0.shape) } ?? [])
    }
    public var forwardMultiplyAdds: Int { main.forwardMultiplyAdds + (shortcut?.forwardMultiplyAdds ?? 0) + outputShape.count }

    var outCount: Int { outputShape.count }

    public func savedCount(batch n: Int) -> Int {
        (shortcut == nil ? 1 : 2) * outCount * n + main.savedCount(batch: n) + (shortcut?.savedCount(batch: n) ?? 0)
    }

    public func scratchCount(batch n: Int) -> Int {
        outCount * n + inputShape.count * n + max(main.scratchCount(batch: n), shortcut?.scratchCount(batch: n) ?? 0)
    }

    public func initialize(parameters: UnsafeMutableBufferPointer<Float>, state: UnsafeMutableBufferPointer<Float>, seed: UInt64, offset: Int) {
        let mp = main.parameterCount, ms = main.stateCount
        main.initialize(parameters: UnsafeMutableBufferPointer(rebasing: parameters[0..<mp]),
                        state: UnsafeMutableBufferPointer(rebasing: state[0..<ms]), seed: seed, offset: offset)
        shortcut?.initialize(parameters: UnsafeMutableBufferPointer(rebasing: parameters[mp...]),
                             state: UnsafeMutableBufferPointer(rebasing: state[ms...]), seed: seed, offset: offset + mp)
    }

    /// (main output, shortcut output, main saved, shortcut saved) in `saved`.
    func savedLayout(_ saved: UnsafeMutablePointer<Float>, batch n: Int)
        -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
        let mainOut = saved
        let shortOut = saved + outCount * n
        let mainSaved = saved + (shortcut == nil ? 1 : 2) * outCount * n
        return (mainOut, shortOut, mainSaved, mainSaved + main.savedCount(batch: n))
    }

    public func forward(_ a: LayerForward) {
        let n = a.batch
        let (mainOut, shortOut, mainSaved, shortSaved) = savedLayout(a.saved, batch: n)
        let inner = a.scratch + outCount * n + inputShape.count * n
        main.forward(LayerForward(parameters: a.parameters, state: a.state, input: a.input, output: mainOut,
                                  saved: mainSaved, scratch: inner, batch: n, mode: a.mode))
        let other: UnsafePointer<Float>
        if let s = shortcut {
            s.forward(LayerForward(parameters: a.parameters + main.parameterCount, state: a.state + main.stateCount,
                                   input: a.input, output: shortOut, saved: shortSaved, scratch: inner, batch: n, mode: a.mode))
            other = UnsafePointer(shortOut)
        } else {
            other = a.input
        }
        for i in 0..<(outCount * n) { a.output[i] = max(mainOut[i] + other[i], 0) }
    }

    public func backward(_ a: LayerBackward) {
        let n = a.batch
        let (_, _, mainSaved, shortSaved) = savedLayout(a.saved, batch: n)
        let dSum = a.scratch
        let dShort = a.scratch + outCount * n
        let inner = dShort + inputShape.count * n
        for i in 0..<(outCount * n) { dSum[i] = a.output[i] > 0 ? a.outputGradient[i] : 0 }
        main.backward(LayerBackward(parameters: a.parameters, state: a.state, input: a.input, output: UnsafePointer(a.saved),
                                    outputGradient: dSum, inputGradient: a.inputGradient, parameterGradient: a.parameterGradient,
                                    saved: mainSaved, scratch: inner, batch: n, mode: a.mode))
        if let s = shortcut {
            let (_, shortOut, _, _) = savedLayout(a.saved, batch: n)
            s.backward(LayerBackward(parameters: a.parameters + main.parameterCount, state: a.state + main.stateCount,
                                     input: a.input, output: UnsafePointer(shortOut), outputGradient: dSum,
                                     inputGradient: a.inputGradient == nil ? nil : dShort,
                                     parameterGradient: a.parameterGradient + main.parameterCount,
                                     saved: shortSaved, scratch: inner, batch: n, mode: a.mode))
            if let dx = a.inputGradient { RowOps.add(dShort, into: dx, count: inputShape.count * n) }
        } else if let dx = a.inputGradient {
            RowOps.add(dSum, into: dx, count: inputShape.count * n)
        }
    }

    public var description: String {
        "Residual(\(main)\(shortcut.map { " + \($0)" } ?? " + identity"))"
    }
}
