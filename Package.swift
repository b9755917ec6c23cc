// swift-tools-version:6.1
import PackageDescription

// Module map (arrows point one way, see README "Architecture"):
//   LineageGraph   value types, in-memory DAG, queries, license check, exporters (no deps)
//   GGUF           the GGUF container: reader and streaming writer (no deps)
//   WeightFormats  safetensors reader, quantization kernels byte-identical to ggml's
//   LineageImport  catalog YAML, model cards, config/adapter JSON, GGUF metadata -> ImportBatch
//   LineageStore   SQLite (GRDB): migrations, transactional imports, graph loading
//   LineageCatalogData  the Graph/ catalog embedded in the binary by the EmbedCatalog plugin
//   CLibGit2       system library target over libgit2 (pkg-config libgit2, apt libgit2-dev)
//   ModelMirror    verified mirror: blob store, git (libgit2) / LFS / Hub sources, sync, scrub,
//                  HF cache view; feeds mirrored commits to LineageImport + LineageStore
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
        .library(name: "ModelMirror", targets: ["ModelMirror"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    ],
    targets: [
        .target(name: "LineageGraph"),
        .target(name: "GGUF"),
        .target(name: "WeightFormats", dependencies: ["GGUF"]),
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
        .systemLibrary(
            name: "CLibGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        .target(
            name: "ModelMirror",
            dependencies: [
                "CLibGit2", "LineageGraph", "LineageImport", "LineageStore", "WeightFormats",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
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
                "LineageGraph", "LineageImport", "LineageStore", "LineageCatalogData", "ModelMirror",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "lineage-graph-bench",
            dependencies: ["LineageGraph", "LineageStore"],
            path: "Benchmarks/lineage-graph-bench"
        ),
        .executableTarget(
            name: "lineage-mirror-bench",
            dependencies: [
                "ModelMirror",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/lineage-mirror-bench"
        ),
        .testTarget(name: "LineageGraphTests", dependencies: ["LineageGraph"]),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF"]),
        .testTarget(name: "WeightFormatsTests", dependencies: ["WeightFormats", "GGUF"]),
        .testTarget(name: "LineageImportTests", dependencies: ["LineageImport", "GGUF"]),
        .testTarget(
            name: "LineageStoreTests",
            dependencies: ["LineageStore", "LineageImport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "LineageCLITests",
            dependencies: ["lineage", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "ModelMirrorTests",
            dependencies: ["ModelMirror", "CLibGit2", "WeightFormats", .product(name: "GRDB", package: "GRDB.swift")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
