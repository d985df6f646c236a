// swift-tools-version: 6.1
// A package that uses csgd as a library: its own objective, trained with
// Algorithm 1 (RandomK and Gaussian noise) on W in-process workers. The code
// is the article "Using csgd as a library" in the Distributed module's
// documentation; the root package compiles and tests the same sources.
//
// Run from this directory: `swift run library-usage`.
import PackageDescription

// A path dependency's identity is its directory's name, which depends on
// where the repository was cloned; read it off the directory two levels up.
// A package of your own names it as it is: `package: "csgd"`.
let csgd = Context.packageDirectory.split(separator: "/").dropLast(2).last.map(String.init) ?? "csgd"

let package = Package(
    name: "LibraryUsage",
    products: [
        .library(name: "LibraryUsage", targets: ["LibraryUsage"]),
        .executable(name: "library-usage", targets: ["library-usage"]),
    ],
    dependencies: [
        // Elsewhere: .package(url: "<csgd's git URL>", branch: "main")
        .package(path: "../.."),
    ],
    targets: [
        .target(
            name: "LibraryUsage",
            dependencies: [
                .product(name: "Optimization", package: csgd),
                .product(name: "Compression", package: csgd),
                .product(name: "Distributed", package: csgd),
            ]
        ),
        .executableTarget(name: "library-usage", dependencies: ["LibraryUsage"]),
    ]
)
