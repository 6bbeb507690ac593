// swift-tools-version:6.0
import PackageDescription

/// Where Debian's libtorch-dev puts the C++ API headers; `LIBTORCH_INCLUDE` overrides it
/// (for instance to build against the libtorch inside a PyPI `torch` wheel).
let torchInclude = Context.environment["LIBTORCH_INCLUDE"] ?? "/usr/include"
let torchLib = Context.environment["LIBTORCH_LIB"]
/// Debian's libtorch 1.13 builds as C++17; libtorch 2.x headers need C++20.
let torchCxx: CXXLanguageStandard = torchInclude == "/usr/include" ? .cxx17 : .cxx20
/// Debian's `libtorch.so` carries the CUDA registration when built with it; a PyPI wheel's libtorch is
/// linked through `libtorch_cpu` and `libc10` alone (its `libtorch.so` would pull in every CUDA library).
let torchLibraries = torchLib == nil ? ["torch", "torch_cpu", "c10"] : ["torch_cpu", "c10"]
/// Against Debian's libtorch the bridge also runs 3×3 convolutions as Winograd through oneDNN itself
/// (ctorch_winograd.cpp): libtorch's own libdnnl.so.2 and the ideep headers it was built with (libdnnl-dev,
/// libideep-dev, installed by scripts/setup.sh). A PyPI wheel hides its oneDNN, so that build stays direct.
let torchWinograd = torchLib == nil && torchInclude == "/usr/include"

let package = Package(
    name: "Lumen",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lumen", targets: ["lumen"]),
        .library(name: "LumenTorchBridge", type: .dynamic, targets: ["CTorchBridge"]),
        .library(name: "LumenImagingBridge", type: .dynamic, targets: ["CImagingBridge"]),
        .library(name: "LumenTensor", targets: ["LumenTensor"]),
        .library(name: "LumenNN", targets: ["LumenNN"]),
        .library(name: "LumenWorkspace", targets: ["LumenWorkspace"]),
        .library(name: "LumenStore", targets: ["LumenStore"]),
        .library(name: "LumenImaging", targets: ["LumenImaging"]),
        .library(name: "LumenData", targets: ["LumenData"]),
        .library(name: "LumenInference", targets: ["LumenInference"]),
        .library(name: "LumenMonitoring", targets: ["LumenMonitoring"]),
        .library(name: "LumenPipelines", targets: ["LumenPipelines"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/vapor/sql-kit", from: "3.36.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/vapor/sqlite-kit", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit", from: "2.17.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.9.0" ..< "5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.65.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
    ],
    targets: [
        // The C ABI Swift calls: trampolines that load the libtorch bridge on first use (so commands that never
        // touch a tensor start without libtorch).
        .target(name: "CTorch", linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]),
        // The C++ bridge over libtorch, built as libLumenTorchBridge.so next to the executable.
        .target(
            name: "CTorchBridge",
            cxxSettings: [
                .unsafeFlags([
                    "-I\(Context.packageDirectory)/Sources/CTorch/include",
                    "-I\(torchInclude)", "-I\(torchInclude)/torch/csrc/api/include",
                    "-O2", "-Wno-deprecated-declarations", "-Wno-unused-parameter",
                ] + (torchWinograd ? ["-DLM_ONEDNN_WINOGRAD"] : [])),
            ],
            linkerSettings: [
                .unsafeFlags(torchLib.map { ["-L\($0)", "-Xlinker", "-rpath", "-Xlinker", $0] } ?? []),
            ] + (torchLibraries + (torchWinograd ? ["dnnl"] : [])).map { .linkedLibrary($0) }
        ),
        .target(name: "LumenTensor", dependencies: ["CTorch"]),
        // The C ABI of the imaging libraries: trampolines that load the imaging bridge on first use.
        .target(name: "CImaging", linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]),
        // The C++ bridge over OpenCV, DCMTK, OpenJPEG and zlib, built as libLumenImagingBridge.so next to the executable.
        .target(
            name: "CImagingBridge",
            cxxSettings: [
                .unsafeFlags(["-I\(Context.packageDirectory)/Sources/CImaging/include", "-I/usr/include/opencv4", "-I/usr/include/openjpeg-2.5",
                              "-O2", "-Wno-deprecated-declarations"]),
            ],
            linkerSettings: [
                "opencv_core", "opencv_imgproc", "opencv_imgcodecs", "dcmjpeg", "dcmjpls", "dcmimgle", "dcmdata",
                "oflog", "ofstd", "openjp2", "z",
            ].map { .linkedLibrary($0) }
        ),
        .target(name: "LumenImaging", dependencies: ["CImaging", "LumenTensor"]),
        .target(name: "LumenWorkspace", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "LumenData",
            dependencies: ["LumenImaging", "LumenWorkspace", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "LumenNN", dependencies: ["LumenTensor"]),
        .target(
            name: "LumenStore",
            dependencies: [
                "LumenWorkspace",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "LumenInference", dependencies: ["LumenNN", "LumenImaging", "LumenData", "LumenStore", "LumenWorkspace"]),
        .target(
            name: "LumenTraining",
            dependencies: ["LumenInference", "LumenNN", "LumenData", "LumenStore", "LumenWorkspace", "LumenMonitoring", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "LumenServing",
            dependencies: [
                "LumenStore",
                "LumenWorkspace",
                "LumenInference",
                "LumenImaging",
                "LumenData",
                "LumenTensor",
                "LumenMonitoring",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        // Drift statistics, reference profiles, alerts: what the server and the CLI both use to watch a model.
        .target(name: "LumenMonitoring", dependencies: ["LumenInference", "LumenStore", "LumenWorkspace"]),
        // Pipeline files, their runner (cache, records, resume) and exports to other engines.
        .target(name: "LumenPipelines", dependencies: ["LumenStore", "LumenWorkspace", .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "LumenCLI",
            dependencies: [
                "LumenNN",
                "LumenStore",
                "LumenServing",
                "LumenMonitoring",
                "LumenPipelines",
                "LumenImaging",
                "LumenData",
                "LumenTraining",
                "LumenInference",
                "LumenWorkspace",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "lumen",
            dependencies: ["LumenCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "lumen-bench", dependencies: ["LumenNN"], path: "Benchmarks/lumen-bench"),
        .executableTarget(name: "lumen-data-bench", dependencies: ["LumenData", "LumenStore"], path: "Benchmarks/lumen-data-bench"),
        .testTarget(name: "LumenTensorTests", dependencies: ["LumenTensor"]),
        .testTarget(name: "LumenNNTests", dependencies: ["LumenNN"]),
        .testTarget(name: "LumenStoreTests", dependencies: ["LumenStore"]),
        .testTarget(name: "LumenImagingTests", dependencies: ["LumenImaging"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LumenDataTests", dependencies: ["LumenData", "LumenTensor"]),
        .testTarget(name: "LumenInferenceTests", dependencies: ["LumenInference", "LumenNN", "LumenImaging", "LumenStore", "LumenTensor", "LumenWorkspace"]),
        .testTarget(name: "LumenTrainingTests", dependencies: ["LumenTraining", "LumenData", "LumenImaging", "LumenStore", "LumenNN", "LumenTensor"]),
        .testTarget(name: "LumenMonitoringTests", dependencies: ["LumenMonitoring", "LumenStore", "LumenWorkspace", "LumenInference", "LumenImaging"]),
        .testTarget(name: "LumenPipelinesTests", dependencies: ["LumenPipelines", "LumenStore", "LumenWorkspace", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "EndToEndTests", dependencies: ["lumen", "LumenStore", "LumenImaging"]),
        .testTarget(
            name: "LumenServingTests",
            dependencies: ["LumenServing", "LumenWorkspace", "LumenInference", "LumenNN", "LumenImaging", "LumenData", "LumenTensor",
                           .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "NIOHTTP1", package: "swift-nio")]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: torchCxx
)
