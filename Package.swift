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
//   CLibGit2       system library target over libgit2 (pkg-config libgit2, apt libgit2-dev)
//   ModelMirror    verified mirror: blob store, git (libgit2) / LFS / Hub sources, sync, scrub,
//                  HF cache view, derived artifacts; feeds mirrored commits to LineageImport + LineageStore
//   ModelIngest    quantize on ingest: mirrored commit -> GGUF blobs, artifact records, the
//                  org/name-GGUF repo and its lineage edge (ModelMirror, ModelConversion,
//                  LineageStore); the mirror and the converter never depend on each other
//   LineageServer  HTTP (Hummingbird): Hub-compatible and LFS read API over the mirror store,
//                  lineage JSON/DOT/SVG and the viewer page, metrics, health, the daemon's
//                  configuration, job queue (sync, verify, quantize) and scheduler; depends on
//                  the above, never the reverse
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
        .library(name: "ModelMirror", targets: ["ModelMirror"]),
        .library(name: "LineageServer", targets: ["LineageServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.12.0"),  // LogHandler.log(event:)
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.3.0"),
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
            dependencies: [
                "LineageGraph",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
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
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "ModelIngest",
            dependencies: [
                "ModelMirror", "ModelConversion", "GGUF", "LineageGraph", "LineageImport", "LineageStore",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "LineageServer",
            dependencies: [
                "ModelMirror", "ModelIngest", "LineageGraph", "LineageStore", "LineageImport", "Yams",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
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
                "LineageGraph", "LineageImport", "LineageStore", "LineageCatalogData", "ModelConversion", "ModelMirror", "GGUF",
                "ModelIngest", "LineageServer",
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
            name: "lineage-quantize-bench",
            dependencies: ["ModelConversion", "WeightFormats", "GGUF"],
            path: "Benchmarks/lineage-quantize-bench"
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
        // Scratch directories and the Python reference checks, shared by the test targets.
        .target(name: "LineageTestSupport", dependencies: ["LineageGraph"], path: "Tests/LineageTestSupport"),
        .testTarget(name: "LineageGraphTests", dependencies: ["LineageGraph"]),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "LineageTestSupport"]),
        .testTarget(name: "WeightFormatsTests", dependencies: ["WeightFormats", "GGUF", "LineageTestSupport"]),
        .testTarget(
            name: "ModelConversionTests", dependencies: ["ModelConversion", "WeightFormats", "GGUF", "LineageTestSupport"],
            exclude: ["Fixtures"]  // read from the source tree by path, like Tests/Scripts
        ),
        .testTarget(name: "LineageImportTests", dependencies: ["LineageImport", "GGUF", "LineageTestSupport"]),
        .testTarget(
            name: "LineageStoreTests",
            dependencies: ["LineageStore", "LineageImport", "LineageTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "LineageCLITests",
            dependencies: ["lineage", "LineageGraph", "LineageTestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "LineageServerTests",
            dependencies: [
                "LineageServer", "ModelMirror", "LineageStore", "LineageGraph", "LineageImport", "LineageTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ModelMirrorTests",
            dependencies: ["ModelMirror", "CLibGit2", "WeightFormats", "LineageTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
