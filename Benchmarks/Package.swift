// swift-tools-version: 6.1
// Micro-benchmarks of the csgd compressors with ordo-one/benchmark.
// Run from this directory: `swift package benchmark` (see README.md).
import PackageDescription

// A path dependency's identity is its directory's name, which depends on
// where the repository was cloned; read it off the parent directory.
let mainPackage = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "main"

let package = Package(
    name: "csgd-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CompressionBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CSGDCore", package: mainPackage),
                .product(name: "Compression", package: mainPackage),
                .product(name: "CSGDBench", package: mainPackage),
            ],
            path: "Benchmarks/CompressionBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v5)],
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)
