// swift-tools-version:6.1
import PackageDescription

// Module map (arrows point one way, see README "Architecture"):
//   LineageGraph   value types, in-memory DAG, queries, license check, exporters (no deps)
//   GGUF           the GGUF container: reader and streaming writer (no deps)
//   WeightFormats  safetensors reader, quantization kernels byte-identical to ggml's
//   ModelConversion  Hugging Face checkpoint -> GGUF: Llama tensor map, tokenizers, llama.cpp's
//                    quantization presets, streaming multi-threaded writer (GGUF, WeightFormats)
//   LineageImport  catalog YAML, model cards, config/adapter JSON, GGUF metadata -> ImportBatch
//   LineageStore   SQLite (GRDB): migrations, transactional imports, graph loading
//   LineageCatalogData  the Graph/ catalog embedded in the binary by the EmbedCatalog plugin
//   lineage        the command-line tool
let package = Package(
    name: "lineage",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lineage", targets: ["lineage"]),
        .library(name: "LineageGraph", targets: ["LineageGraph"]),
        .library(name: "LineageImport", targets: ["LineageImport"]),
        .library(name: "LineageStore", targets: ["LineageStore"]),
        .library(name: "GGUF", targets: ["GGUF"]),
        .library(name: "WeightFormats", targets: ["WeightFormats"]),
        .library(name: "ModelConversion", targets: ["ModelConversion"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .target(name: "LineageGraph"),
        .target(name: "GGUF"),
        .target(
            name: "WeightFormats", dependencies: ["GGUF"],
            // The quantization kernels are built optimized in debug builds too: their SIMD code
            // runs hundreds of times slower unoptimized, which would make the byte-identity
            // tests against llama.cpp take many minutes.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .target(name: "ModelConversion", dependencies: ["GGUF", "WeightFormats"]),
        .target(
            name: "LineageImport",
            dependencies: ["LineageGraph", "GGUF", "Yams"]
        ),
        .target(
            name: "LineageStore",
            dependencies: ["LineageGraph", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(
            name: "LineageCatalogData",
            plugins: ["EmbedCatalog"]
        ),
        .executableTarget(name: "catalog-embedder"),
        .plugin(
            name: "EmbedCatalog",
            capability: .buildTool(),
            dependencies: ["catalog-embedder"]
        ),
        .executableTarget(
            name: "lineage",
            dependencies: [
                "LineageGraph", "LineageImport", "LineageStore", "LineageCatalogData", "ModelConversion", "GGUF",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "lineage-graph-bench",
            dependencies: ["LineageGraph", "LineageStore"],
            path: "Benchmarks/lineage-graph-bench"
        ),
        .executableTarget(
            name: "lineage-quantize-bench",
            dependencies: ["ModelConversion", "WeightFormats", "GGUF"],
            path: "Benchmarks/lineage-quantize-bench"
        ),
        .testTarget(name: "LineageGraphTests", dependencies: ["LineageGraph"]),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF"]),
        .testTarget(name: "WeightFormatsTests", dependencies: ["WeightFormats", "GGUF"]),
        .testTarget(
            name: "ModelConversionTests", dependencies: ["ModelConversion", "WeightFormats", "GGUF"],
            exclude: ["Fixtures"]  // read from the source tree by path, like Tests/Scripts
        ),
        .testTarget(name: "LineageImportTests", dependencies: ["LineageImport", "GGUF"]),
        .testTarget(
            name: "LineageStoreTests",
            dependencies: ["LineageStore", "LineageImport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "LineageCLITests", dependencies: ["lineage"]),
    ],
    swiftLanguageModes: [.v6]
)
