// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "csgd",
    products: [
        .library(name: "CSGDCore", targets: ["CSGDCore"]),
        .library(name: "Compression", targets: ["Compression"]),
        .library(name: "Optimization", targets: ["Optimization"]),
        .library(name: "Problems", targets: ["Problems"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "NeuralNet", targets: ["NeuralNet"]),
        .library(name: "Distributed", targets: ["Distributed"]),
        .executable(name: "csgd", targets: ["csgd"]),
    ],
    traits: [
        .trait(name: "MPI", description: "The Open MPI back-end (--backend mpi); needs libopenmpi-dev."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // OpenBLAS's CBLAS interface (Debian: libopenblas-dev).
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // What Swift cannot express: the Gaussian stream (ARS-7 and a ziggurat)
        // on AVX-512/VAES or AVX2/AES-NI chosen at run time, a software prefetch.
        .target(name: "CKernels"),
        // Buffers, BLAS bridge, counter-based randomness, shared kernels.
        .target(name: "CSGDCore", dependencies: ["COpenBLAS", "CKernels"]),
        // Compressors with their wire formats.
        .target(name: "Compression", dependencies: ["CSGDCore", "CKernels"]),
        // LAPACKE for exact eigenvalues in tests (Debian: liblapacke-dev).
        .systemLibrary(
            name: "CLAPACKE",
            pkgConfig: "lapacke",
            providers: [.apt(["liblapacke-dev"])]
        ),
        // Objectives, gradient transforms, methods, theory defaults, certificates.
        .target(name: "Optimization", dependencies: ["CSGDCore", "Compression"]),
        // Synthetic objectives with known geometry.
        .target(name: "Problems", dependencies: ["CSGDCore", "Optimization"]),
        // zlib (Debian: zlib1g-dev) for gzip-compressed IDX files.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Image data sets (IDX, CIFAR-10 binary, synthetic) and worker partitions.
        .target(name: "Datasets", dependencies: ["CSGDCore", "CZlib"]),
        // Layers, models and losses on flat Float32 buffers; a model with its data as an Objective.
        .target(name: "NeuralNet", dependencies: ["CSGDCore", "Optimization", "Datasets"]),
        // Communicators, the per-rank training loop, bit accounting, summaries.
        .target(
            name: "Distributed",
            dependencies: [
                "CSGDCore", "CKernels", "Compression", "Optimization",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Open MPI's C API with inline shims for its handle macros (Debian: libopenmpi-dev).
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        // The Open MPI communicator and per-process runner; empty unless the trait MPI is on.
        .target(
            name: "MPIBackend",
            dependencies: [
                "CSGDCore", "Compression", "Optimization", "Distributed",
                .target(name: "CMPI", condition: .when(traits: ["MPI"])),
            ]
        ),
        // The command-line tool: a thin layer over the library.
        .executableTarget(
            name: "csgd",
            dependencies: [
                "CSGDCore", "Compression", "Optimization", "Problems", "Distributed",
                "Datasets", "NeuralNet", "MPIBackend",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "CSGDCoreTests", dependencies: ["CSGDCore"]),
        .testTarget(name: "CompressionTests", dependencies: ["Compression", "CSGDCore"]),
        .testTarget(name: "OptimizationTests", dependencies: ["Optimization", "CSGDCore", "CLAPACKE"]),
        .testTarget(name: "ProblemsTests", dependencies: ["Problems", "Optimization", "CSGDCore", "CLAPACKE"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "Problems", "Optimization", "Compression", "CSGDCore"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "CSGDCore"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "Datasets", "Optimization", "CSGDCore"]),
        .testTarget(name: "CLITests", dependencies: ["csgd"]),
    ]
)
