// The fuzz targets one harness binary serves, and the checks they share.
//
// A target is a name, a function that runs one input through a reader or
// parser and checks its contract (trapping when a check fails, which
// libFuzzer reports as a crash and saves the input), and the valid inputs
// that seed its corpus.

import CSGDCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct FuzzTarget {
    let name: String
    /// Runs one input and checks the contract.
    let run: (UnsafeRawBufferPointer) -> Void
    /// Valid inputs for the seed corpus.
    let seeds: () -> [[UInt8]]
    /// Why the target cannot run in this build (nil: it can).
    var pending: () -> String? = { nil }
}

enum FuzzTargets {
    /// Every target, by name, in the order `scripts/fuzz all` runs them.
    static var all: [FuzzTarget] {
        Harness.decoders.map(DecoderTarget.make)
            + SpecTargets.all
            + CheckpointTargets.all
            + [SafeTensorsTarget.target()]
            + DatasetTargets.all
    }
}

/// Traps with `what` and the first bytes of the input.
func failInput(_ target: String, _ what: String, _ bytes: UnsafeRawBufferPointer) -> Never {
    let hex = bytes.prefix(64).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    fatalError("\(target): \(what) (input \(bytes.count) bytes: \(hex)\(bytes.count > 64 ? "…" : ""))")
}

/// A reader's or parser's failure must be a `CSGDError` whose message
/// starts with `prefix` (the file's name, or the spec's kind).
func checkError(_ error: Error, target: String, prefix: String, _ bytes: UnsafeRawBufferPointer) {
    guard let e = error as? CSGDError else { failInput(target, "threw \(type(of: error)), not a CSGDError: \(error)", bytes) }
    if !e.message.hasPrefix(prefix) { failInput(target, "an error that does not start with '\(prefix)': \(e.message)", bytes) }
}
