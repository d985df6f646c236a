// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "csgd",
    products: [
        .library(name: "CSGDCore", targets: ["CSGDCore"]),
        .library(name: "Compression", targets: ["Compression"]),
        .executable(name: "csgd", targets: ["csgd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // OpenBLAS's CBLAS interface (Debian: libopenblas-dev).
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Buffers, BLAS bridge, counter-based randomness, shared kernels.
        .target(name: "CSGDCore", dependencies: ["COpenBLAS"]),
        // Compressors with their wire formats.
        .target(name: "Compression", dependencies: ["CSGDCore"]),
        // The command-line tool: a thin layer over the library.
        .executableTarget(
            name: "csgd",
            dependencies: [
                "CSGDCore", "Compression",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "CSGDCoreTests", dependencies: ["CSGDCore"]),
        .testTarget(name: "CompressionTests", dependencies: ["Compression", "CSGDCore"]),
        .testTarget(name: "CLITests", dependencies: ["csgd"]),
    ]
)
