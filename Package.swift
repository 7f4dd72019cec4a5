// swift-tools-version:5.9
import PackageDescription

// Release builds of the numeric modules drop bounds checks; tests run in release for them.
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "runner",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "runner", targets: ["runner"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // System libraries (Debian: libhdf5-dev, libopenblas-dev; found through pkg-config).
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // Engine (CBF16: the AVX512-BF16 GEMM, chosen at run time; no compiler flags needed;
        // and CKernels: the AVX-512F convolution loops, likewise chosen at run time)
        .target(name: "CBF16"),
        .target(name: "CKernels"),
        .target(name: "Tensor", dependencies: ["COpenBLAS", "CBF16", "CKernels"], swiftSettings: fast),
        .target(name: "NN", dependencies: ["Tensor"], swiftSettings: fast),

        // Data
        .target(name: "Phantoms", dependencies: ["CHDF5"], swiftSettings: fast),

        // Experiment description → plan → execution
        .target(name: "Spec", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(name: "Store", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Planner", dependencies: ["Spec", "Store"]),
        .target(name: "Steps", dependencies: ["NN", "Phantoms", "Store", "Spec"], swiftSettings: fast),
        .target(name: "Execution", dependencies: ["Planner", "Store", "Steps"]),
        .target(name: "RunnerCLI", dependencies: [
            "Execution", "Planner", "Spec", "Store", "Steps",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "runner", dependencies: ["RunnerCLI"]),
        // Child process driven by StoreTests (writers killed mid-write, lock contention).
        .executableTarget(name: "StoreProbe", dependencies: ["Store"]),
        .executableTarget(name: "RunnerBench", dependencies: ["CBF16", "Tensor", "NN", "Phantoms", "Spec", "Planner", "Store"], swiftSettings: fast),

        .testTarget(name: "TensorTests", dependencies: ["Tensor"], resources: [.copy("Fixtures")]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensor"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PhantomsTests", dependencies: ["Phantoms"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SpecTests", dependencies: ["Spec"], resources: [.copy("Fixtures")]),
        .testTarget(name: "StoreTests", dependencies: ["Store"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PlannerTests", dependencies: ["Planner", "Spec", "Store"], resources: [.copy("Fixtures")]),
        .testTarget(name: "StepsTests", dependencies: ["Steps", "Store", "Phantoms", "Spec"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ExecutionTests", dependencies: ["Execution", "Planner", "Store", "Steps", "Spec"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RunnerCLITests", dependencies: ["RunnerCLI"], resources: [.copy("Fixtures")]),
    ]
)
