// swift-tools-version: 6.1
import PackageDescription

// The hot code is compiled with optimisation in debug builds too, so that
// `swift test` (a debug build) runs the experiments' short forms and the
// training paths at close to release speed; assertions and overflow checks
// stay on (-O keeps them; only -Ounchecked drops them).
let optimizedSwift: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
let optimizedC: [CSetting] = [.unsafeFlags(["-O2"], .when(configuration: .debug))]

let package = Package(
    name: "csgd",
    products: [
        .library(name: "CSGDCore", targets: ["CSGDCore"]),
        .library(name: "Compression", targets: ["Compression"]),
        .library(name: "Optimization", targets: ["Optimization"]),
        .library(name: "Problems", targets: ["Problems"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "NeuralNet", targets: ["NeuralNet"]),
        .library(name: "Communication", targets: ["Communication"]),
        .library(name: "Checkpointing", targets: ["Checkpointing"]),
        .library(name: "Distributed", targets: ["Distributed"]),
        .library(name: "MPIBackend", targets: ["MPIBackend"]),
        .library(name: "CSGDBench", targets: ["CSGDBench"]),
        .library(name: "Reproduce", targets: ["Reproduce"]),
        .library(name: "Plotting", targets: ["Plotting"]),
        .executable(name: "csgd", targets: ["csgd"]),
        // The C ABI over the compressors and error feedback (python/ binds it).
        .library(name: "csgd_c", type: .dynamic, targets: ["CSGDCAPI"]),
    ],
    traits: [
        .trait(name: "MPI", description: "The Open MPI back-end (--backend mpi); needs libopenmpi-dev."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // `swift package generate-documentation`: the API reference and articles (DocC).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // Property-based tests (Swift Testing): generators, shrinking, fixed seeds.
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
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
        .target(name: "CKernels", cSettings: optimizedC),
        // Buffers, BLAS bridge, counter-based randomness, shared kernels.
        .target(name: "CSGDCore", dependencies: ["COpenBLAS", "CKernels"], swiftSettings: optimizedSwift),
        // Compressors with their wire formats.
        .target(name: "Compression", dependencies: ["CSGDCore", "CKernels"], swiftSettings: optimizedSwift),
        // LAPACKE for exact eigenvalues in tests (Debian: liblapacke-dev).
        .systemLibrary(
            name: "CLAPACKE",
            pkgConfig: "lapacke",
            providers: [.apt(["liblapacke-dev"])]
        ),
        // The collectives ranks use (all-reduce, all-gather, broadcast) and their
        // in-process implementation; a decorator that times them.
        // Stackful fibers (ucontext) so that many ranks share a few threads.
        .target(name: "CFiber", cSettings: optimizedC),
        .target(name: "Communication", dependencies: ["CSGDCore", "CFiber"], swiftSettings: optimizedSwift),
        // The checkpoint format: per-rank state files, a manifest, atomic directories.
        .target(
            name: "Checkpointing",
            dependencies: ["CSGDCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: optimizedSwift
        ),
        // Objectives, gradient transforms and the methods built from them, theory
        // defaults, Lanczos λ_min and the ε-SOSP certificate.
        .target(
            name: "Optimization",
            dependencies: ["CSGDCore", "CKernels", "Compression", "Communication", "Checkpointing"],
            swiftSettings: optimizedSwift
        ),
        // Synthetic objectives with known geometry.
        .target(name: "Problems", dependencies: ["CSGDCore", "Optimization"], swiftSettings: optimizedSwift),
        // zlib (Debian: zlib1g-dev) for gzip-compressed IDX files.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Image data sets (IDX, CIFAR-10 binary, synthetic) and worker partitions.
        .target(name: "Datasets", dependencies: ["CSGDCore", "CZlib"], swiftSettings: optimizedSwift),
        // Layers, models and losses on flat Float32 buffers; a model with its data as an Objective.
        .target(name: "NeuralNet", dependencies: ["CSGDCore", "Optimization", "Datasets"], swiftSettings: optimizedSwift),
        // The per-rank training loop, W ranks in one process, bit accounting, run records.
        .target(
            name: "Distributed",
            dependencies: [
                "CSGDCore", "Compression", "Communication", "Checkpointing", "Optimization",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: optimizedSwift
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
                "CSGDCore", "Compression", "Communication", "Checkpointing", "Optimization", "Distributed",
                .target(name: "CMPI", condition: .when(traits: ["MPI"])),
            ]
        ),
        // Measurement: compressor throughput, the step benchmark, training
        // throughput, per-layer profiles; attached to the libraries from outside.
        .target(
            name: "CSGDBench",
            dependencies: [
                "CSGDCore", "Compression", "Communication", "Optimization", "Datasets", "NeuralNet", "Distributed",
            ]
        ),
        // SVG charts for the experiment reports (line, scatter with fits, strip plots,
        // heat maps, panels); Foundation only.
        .target(name: "Plotting"),
        // The papers' experiments: runs keyed by their command line, verdicts, the report.
        .target(
            name: "Reproduce",
            dependencies: ["CSGDCore", "Distributed", "Plotting", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The C ABI (@_cdecl functions, header python/include/csgd.h) over the
        // compressors and error feedback, for the Python binding.
        .target(name: "CSGDCAPI", dependencies: ["CSGDCore", "Compression"], swiftSettings: optimizedSwift),
        // The command-line tool: a thin layer over the library.
        .executableTarget(
            name: "csgd",
            dependencies: [
                "CSGDCore", "Compression", "Communication", "Checkpointing", "Optimization", "Problems",
                "Distributed", "Datasets", "NeuralNet", "MPIBackend", "CSGDBench", "Reproduce",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            plugins: ["GitCommit"]
        ),
        // Records the git commit of the build (csgd --version, the header of
        // every log): local git at build time, "unknown" outside a checkout.
        .plugin(name: "GitCommit", capability: .buildTool()),
        .testTarget(name: "CSGDCoreTests", dependencies: ["CSGDCore"]),
        // The seeded property-check driver the test targets share (test targets share no sources).
        .target(
            name: "PropertyTestSupport",
            dependencies: [.product(name: "PropertyBased", package: "swift-property-based")],
            path: "Tests/PropertyTestSupport"
        ),
        .testTarget(
            name: "CompressionTests",
            dependencies: ["Compression", "CSGDCore", "PropertyTestSupport", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(name: "OptimizationTests", dependencies: ["Optimization", "Compression", "CSGDCore", "CLAPACKE"]),
        .testTarget(name: "ProblemsTests", dependencies: ["Problems", "Optimization", "CSGDCore", "CLAPACKE"]),
        .testTarget(
            name: "DistributedTests",
            dependencies: [
                "Distributed", "Communication", "Checkpointing", "CSGDBench", "Problems", "Optimization", "Compression", "CSGDCore",
                "NeuralNet", "Datasets", "PropertyTestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "CSGDCore"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "Datasets", "Optimization", "CSGDCore"]),
        .testTarget(name: "CSGDBenchTests", dependencies: ["CSGDBench", "Compression", "CSGDCore"]),
        .testTarget(name: "CLITests", dependencies: ["csgd"]),
        // The C ABI against ErrorFeedback; python/tests run against libcsgd_c.so and the csgd tool of the same build.
        .testTarget(
            name: "CSGDCAPITests",
            dependencies: ["CSGDCAPI", "csgd", "Optimization", "Problems", "Communication", "Compression", "CSGDCore"]
        ),
        // The code of the article "Using csgd as a library" (Distributed's
        // documentation): the example package's sources, compiled here too,
        // under another module name, and run by their test.
        .target(
            name: "LibraryUsageExample",
            dependencies: ["Optimization", "Compression", "Distributed"],
            path: "Examples/LibraryUsage/Sources/LibraryUsage"
        ),
        .testTarget(name: "LibraryUsageTests", dependencies: ["LibraryUsageExample", "Optimization", "Distributed"]),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting"]),
        .testTarget(name: "ReproduceTests", dependencies: ["Reproduce", "Distributed"]),
    ]
)
