// libFuzzer's entry points for the csgd harness.
//
// One binary serves every target; which one is chosen, in order, by
//   1. the environment variable CSGD_FUZZ_TARGET (or CSGD_FUZZ_DECODER), or
//   2. the program's name: `fuzz-TARGET` (scripts/fuzz makes one symlink a
//      target, so a crash reproduces with `Fuzz/build/fuzz-topk crash-…`).
// TARGET is one of `FuzzTargets.all`'s names. A target that cannot run in
// this build exits with status 3. With CSGD_FUZZ_SEEDS=DIR the binary
// instead writes its target's seed inputs into DIR and exits.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

nonisolated(unsafe) var selectedTarget: FuzzTarget?

func writeSeeds(_ target: FuzzTarget, to dir: String) -> Int32 {
    let seeds = target.seeds()
    for (i, bytes) in seeds.enumerated() {
        let name = "\(dir)/seed-\(i)"
        guard let f = fopen(name, "wb") else { perror(name); return 1 }
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }
    print("wrote \(seeds.count) seeds for \(target.name) to \(dir)")
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>
) -> CInt {
    var name = ""
    if let e = getenv("CSGD_FUZZ_TARGET") ?? getenv("CSGD_FUZZ_DECODER") {
        name = String(cString: e)
    } else if let a0 = argv.pointee[0] {
        let prog = String(cString: a0).split(separator: "/").last.map(String.init) ?? ""
        if prog.hasPrefix("fuzz-") { name = String(prog.dropFirst(5)) }
    }
    let targets = FuzzTargets.all
    guard let target = targets.first(where: { $0.name == name }) else {
        fputs("csgd-fuzz: choose a target with CSGD_FUZZ_TARGET=NAME or by running it as fuzz-NAME; NAME is one of: \(targets.map(\.name).joined(separator: ", "))\n", stderr)
        exit(2)
    }
    if let why = target.pending() {
        fputs("csgd-fuzz: \(name): \(why)\n", stderr)
        exit(3)
    }
    if let dir = getenv("CSGD_FUZZ_SEEDS") {
        exit(writeSeeds(target, to: String(cString: dir)))
    }
    selectedTarget = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selectedTarget!.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
