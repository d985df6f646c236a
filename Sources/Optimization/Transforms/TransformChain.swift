import Checkpointing
import CSGDCore
import Foundation

/// A method as it runs on one rank: its transforms in order, each with its
/// own explicit state, behind a non-generic face.
///
/// `step` runs every `prepare`, then passes a `StepState` through every
/// `update` in order; a `.recompute` starts the pass again from the head
/// with the next draw, a `.stop` ends the pass and is returned. An
/// `observer`, when set, is told when each link starts and ends (a
/// benchmark attaches its timers there; the chain itself measures nothing).
public final class TransformChain {
    public let links: [any TransformLink]
    /// Told around every link's prepare and update (nil: nothing is told).
    public var observer: (any ChainObserver)?

    public init(_ transforms: [any GradientTransform], dimension: Int, workers: Int) {
        func erase<T: GradientTransform>(_ t: T) -> any TransformLink {
            TransformSlot(t, state: t.initialState(dimension: dimension, workers: workers))
        }
        // An average that goes straight into the SGD step may skip its copy (`AverageMessages.appliedOnly`).
        var transforms = transforms
        for i in transforms.indices.dropLast() where transforms[i] is AverageMessages && transforms[i + 1] is SGDStep {
            transforms[i] = AverageMessages(appliedOnly: true)
        }
        links = transforms.map { erase($0) }
    }

    /// The names of the links, for reports.
    public var names: [String] { links.map(\.name) }

    /// Whether the step's dense vector, from the head of the chain, is
    /// changed in place and then consumed without a collective in between:
    /// then the gradient's storage holds nothing live while the rank waits
    /// in a collective, and ranks on one thread may share it.
    public var localDiesBeforeCommunicating: Bool {
        for l in links {
            switch l.localVectorUse {
            case .inPlace: continue
            case .consumes: return true
            case .unknown: return false
            }
        }
        return false
    }

    /// The error memory of this rank, if a link keeps one.
    public var errorMemory: UnsafeBufferPointer<Float>? {
        for l in links { if let e = l.errorMemory { return e } }
        return nil
    }

    /// Appends every link's state: the number of links, then for each its
    /// name and its state as a length-prefixed section.
    public func saveStates(to w: inout CheckpointWriter) {
        w.appendUInt32(UInt32(links.count))
        for l in links {
            w.appendString(l.name)
            w.appendSection { l.save(to: &$0) }
        }
    }

    /// Restores what `saveStates` wrote; the links must be the same, in the
    /// same order, and each must read its section exactly.
    public func restoreStates(from r: inout CheckpointReader) throws {
        let n = Int(try r.readUInt32("the number of transforms"))
        guard n == links.count else {
            throw r.error("does not fit this run: it holds \(n) transform states, this method has \(links.count)")
        }
        for l in links {
            let name = try r.readString("a transform's name")
            guard name == l.name else { throw r.error("does not fit this run: it holds a state of \(name) where \(l.name) belongs") }
            var section = try r.readSection("\(name)'s state")
            try l.restore(from: &section)
            try section.finish("\(name)'s state")
        }
    }

    /// One step: prepare, then update passes until a pass completes or stops.
    /// At most `maxDraws` passes (a transform that keeps asking to recompute is a bug).
    public func step(_ g: inout StepState, context: inout StepContext, fresh: (inout StepState) -> Void) throws -> StepOutcome {
        context.draw = 0
        for (i, l) in links.enumerated() {
            observer?.willRun(link: i)
            try l.prepare(context: &context)
            observer?.didRun(link: i)
        }
        while true {
            fresh(&g)
            var outcome = StepOutcome.proceed
            for (i, l) in links.enumerated() {
                observer?.willRun(link: i)
                outcome = try l.update(&g, context: &context)
                observer?.didRun(link: i)
                if outcome != .proceed { break }
            }
            switch outcome {
            case .proceed, .stop: return outcome
            case .recompute:
                context.draw += 1
                precondition(context.draw < 8, "a transform asked to recompute a step more than 7 times")
            }
        }
    }
}

/// Watches a chain run: told when link `i` (an index into `links`) starts
/// and ends its prepare or update, on the rank's own thread.
public protocol ChainObserver: AnyObject {
    func willRun(link: Int)
    func didRun(link: Int)
}

/// A transform with its state, type-erased (one a link of a chain).
public protocol TransformLink: AnyObject {
    var name: String { get }
    var errorMemory: UnsafeBufferPointer<Float>? { get }
    var localVectorUse: LocalVectorUse { get }
    func prepare(context: inout StepContext) throws
    func update(_ g: inout StepState, context: inout StepContext) throws -> StepOutcome
    /// The state's checkpoint part (see `GradientTransform.saveState`).
    func save(to w: inout CheckpointWriter)
    func restore(from r: inout CheckpointReader) throws
}

/// The one implementation of `TransformLink`: a transform and its state.
final class TransformSlot<T: GradientTransform>: TransformLink {
    let transform: T
    var state: T.State

    init(_ transform: T, state: T.State) {
        self.transform = transform
        self.state = state
    }

    var name: String { String(describing: T.self) }
    var errorMemory: UnsafeBufferPointer<Float>? { transform.errorMemory(in: state) }
    var localVectorUse: LocalVectorUse { transform.localVectorUse }

    func prepare(context: inout StepContext) throws {
        try transform.prepare(state: &state, context: &context)
    }

    func update(_ g: inout StepState, context: inout StepContext) throws -> StepOutcome {
        try transform.update(&g, state: &state, context: &context)
    }

    func save(to w: inout CheckpointWriter) { transform.saveState(state, to: &w) }

    func restore(from r: inout CheckpointReader) throws { try transform.restoreState(&state, from: &r) }
}
