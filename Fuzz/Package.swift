// swift-tools-version: 6.1
// libFuzzer harnesses for every csgd decoder. Build and run with
// `scripts/fuzz` from the repository root (it passes the sanitizer flags,
// which must reach the main package's targets too, so they are not set here).
import PackageDescription

// A path dependency's identity is its directory's name, which depends on
// where the repository was cloned; read it off the parent directory.
let mainPackage = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "main"

let package = Package(
    name: "csgd-fuzz",
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "CSGDFuzz",
            dependencies: [
                .product(name: "CSGDCore", package: mainPackage),
                .product(name: "Compression", package: mainPackage),
                .product(name: "Checkpointing", package: mainPackage),
                .product(name: "Datasets", package: mainPackage),
                .product(name: "Optimization", package: mainPackage),
                .product(name: "Problems", package: mainPackage),
                .product(name: "NeuralNet", package: mainPackage),
                .product(name: "Distributed", package: mainPackage),
            ],
            path: "Sources/CSGDFuzz",
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
