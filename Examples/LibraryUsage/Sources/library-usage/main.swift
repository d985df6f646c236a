import Foundation
import LibraryUsage

// Trains the double well on 4 in-process workers; prints the summary.
let steps = 400, k = 10
let s = try trainDoubleWell(k: k, steps: steps)
print("final loss     \(s.finalLoss) (saddle: \(DoubleWell.saddleValue))")
print("ε-SOSP         \(s.isSOSP == true), λ_min = \(s.lambdaMin ?? .nan)")
print("upload bits    \(s.uploadBitsPerWorker) = \(steps) × 32 × \(k)")
print("params_sha256  \(s.paramsSHA256)")
let json = JSONEncoder()
json.outputFormatting = [.prettyPrinted, .sortedKeys]
print(String(decoding: try json.encode(s), as: UTF8.self))
