import PropertyBased
import Synchronization
import Testing

/// A property check over a fixed, reproducible set of generated cases
/// (for every test target that states properties).
///
/// `propertyCheck` of PropertyBased seeds each run from the system's random
/// source (a fixed seed is only for replaying one failure: its trait always
/// records an issue), so a suite built on it would check different cases on
/// every run. This driver draws case i of `count` from the xoshiro256**
/// state that SplitMix64 derives from (`seed`, i), runs `body` on it, and
/// stops at the first case with an issue, adding to each of its issues the
/// case number, the input and the generator state it was drawn from:
/// `.fixedSeed("…")` on a test that calls `propertyCheck` with the same
/// generator replays exactly that case (and shrinks it under `.shrinking`).
///
/// Returns the number of cases run.
@discardableResult
public func seededPropertyCheck<Value>(
    count: Int,
    seed: UInt64,
    input: Generator<Value, some SendableSequenceType>,
    sourceLocation: SourceLocation = #_sourceLocation,
    perform body: (Value) throws -> Void
) async -> Int {
    for i in 0..<count {
        var rng = Xoshiro(seed: SeedSequence.state(seed: seed, case: i))
        let replay = rng.currentSeed
        let value = input.run(using: &rng)
        let note = Comment(rawValue:
            "property case \(i) of \(count) (seed \(seed)): \(String(describingForTest: value)); "
                + "replay with .fixedSeed(\"\(replay)\") and propertyCheck on the same generator")
        let failed = Mutex(false)
        let annotate = IssueHandlingTrait.compactMapIssues { issue in
            var annotated = issue
            annotated.comments.append(note)
            failed.withLock { $0 = true }
            return annotated
        }
        do {
            try await withoutActuallyEscaping(body) { run in
                nonisolated(unsafe) let run = run
                nonisolated(unsafe) let value = value
                try await annotate.provideScope(for: Test.current!, testCase: Test.Case.current) {
                    try run(value)
                }
            }
        } catch {
            Issue.record(error, note, sourceLocation: sourceLocation)
            return i + 1
        }
        if failed.withLock({ $0 }) { return i + 1 }
    }
    return count
}

/// The per-case generator states of `seededPropertyCheck`.
public enum SeedSequence {
    /// SplitMix64 (Steele, Lea & Flood, *Fast splittable pseudorandom number
    /// generators*, OOPSLA 2014), the seeding its xoshiro256** authors
    /// recommend: four successive outputs from (seed, case) as the state.
    public static func state(seed: UInt64, case i: Int) -> (UInt64, UInt64, UInt64, UInt64) {
        var s = seed &+ UInt64(i) &* 0xD1B5_4A32_D192_ED03
        func next() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return (next(), next(), next(), next())
    }
}
