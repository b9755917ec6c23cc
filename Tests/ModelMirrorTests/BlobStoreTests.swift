import Foundation
import GRDB
import Testing
@testable import ModelMirror

@Suite struct BlobStoreTests {
    @Test func storesVerifiedBytesUnderFanOutReadOnly() throws {
        let scratch = try Scratch()
        let store = try LocalBlobStore(root: scratch.url)
        let bytes = pseudoRandomBytes(3 << 20 + 17)
        let digest = sha256(bytes)
        let transfer = try store.stage(.sha256(digest))
        try transfer.append(bytes)
        let committed = try store.commit(transfer, expecting: Expectation(sha256: digest, size: Int64(bytes.count)))
        #expect(committed == CommittedBlob(digest: digest, size: Int64(bytes.count), gitOID: nil, newlyStored: true))
        let path = store.path(of: digest)
        #expect(path.path.hasSuffix("blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex.dropFirst(2).prefix(2))/\(digest.hex)"))
        #expect(try Data(contentsOf: path) == Data(bytes))
        let mode = try FileManager.default.attributesOfItem(atPath: path.path)[.posixPermissions] as? Int
        #expect(mode == 0o444)
        #expect(try store.staged().isEmpty)
        #expect(try store.list().map(\.digest) == [digest])
    }

    @Test func sameBytesAreWrittenOnce() throws {
        let scratch = try Scratch()
        let store = try LocalBlobStore(root: scratch.url)
        let bytes = Array("shared by two repos\n".utf8)
        let oid = gitOID(bytes)
        for expectNew in [true, false] {
            let transfer = try store.stage(.git(oid), gitSize: Int64(bytes.count))
            try transfer.append(bytes)
            let committed = try store.commit(transfer, expecting: Expectation(gitOID: oid))
            #expect(committed.newlyStored == expectNew)
            #expect(committed.gitOID == oid)
        }
        #expect(try store.list().count == 1)
    }

    @Test func mismatchGoesToQuarantineNeverToTheStore() throws {
        let scratch = try Scratch()
        let store = try LocalBlobStore(root: scratch.url)
        let promised = sha256(Array("the right bytes".utf8))
        let transfer = try store.stage(.sha256(promised))
        try transfer.append(Array("the wrong bytes".utf8))
        let error = #expect(throws: BlobStoreError.self) {
            try store.commit(transfer, expecting: Expectation(sha256: promised, size: 15))
        }
        guard case .verificationFailed(let failure) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(failure.expected == "sha256:\(promised.hex)")
        #expect(failure.actual == "sha256:\(sha256(Array("the wrong bytes".utf8)).hex)")
        #expect(FileManager.default.fileExists(atPath: failure.quarantinedAt))
        #expect(failure.quarantinedAt.hasPrefix(store.quarantineDirectory.path))
        #expect(try store.list().isEmpty)
        #expect(try store.staged().isEmpty)
    }

    @Test func wrongSizeIsAMismatchEvenWithoutADigest() throws {
        let scratch = try Scratch()
        let store = try LocalBlobStore(root: scratch.url)
        let bytes = Array("12345".utf8)
        let transfer = try store.stage(.sha256(sha256(bytes)))
        try transfer.append(bytes)
        #expect(throws: BlobStoreError.self) {
            try store.commit(transfer, expecting: Expectation(sha256: sha256(bytes), size: 6))
        }
    }

    @Test func resumesFromTheStagedOffsetAndHashesTheWhole() throws {
        let scratch = try Scratch()
        let store = try LocalBlobStore(root: scratch.url)
        let bytes = pseudoRandomBytes(5 << 20 + 3)
        let digest = sha256(bytes)
        let half = bytes.count / 2
        do {
            // A run that dies half way: the staged bytes reach the file, nothing is committed.
            let first = try store.stage(.sha256(digest))
            try first.append(Array(bytes[..<half]))
            try first.flush()
        }
        let second = try store.stage(.sha256(digest))
        #expect(second.resumedFrom == Int64(half))
        #expect(second.offset == Int64(half))
        try second.append(Array(bytes[half...]))
        let committed = try store.commit(second, expecting: Expectation(sha256: digest, size: Int64(bytes.count)))
        #expect(committed.digest == digest)
        #expect(try Data(contentsOf: store.path(of: digest)) == Data(bytes))
    }

    @Test func restartDiscardsTheStagedPrefix() throws {
        let scratch = try Scratch()
        let store = try LocalBlobStore(root: scratch.url)
        let bytes = Array("complete body".utf8)
        let transfer = try store.stage(.sha256(sha256(bytes)))
        try transfer.append(Array("garbage from a proxy".utf8))
        try transfer.restart()
        #expect(transfer.offset == 0)
        try transfer.append(bytes)
        #expect(try store.commit(transfer, expecting: Expectation(sha256: sha256(bytes))).size == Int64(bytes.count))
    }

    @Test func aTransferInFlightIsLockedAgainstOtherWriters() throws {
        let scratch = try Scratch()
        let store = try LocalBlobStore(root: scratch.url)
        let key = StagingKey.sha256(sha256([1, 2, 3]))
        let holder = try store.stage(key)
        #expect(throws: BlobStoreError.self) { try store.stage(key) }
        #expect(throws: BlobStoreError.self) { try store.discardStaged(key.name) }
        _ = holder
    }

    @Test func inspectionRefusalQuarantinesVerifiedBytes() throws {
        let scratch = try Scratch()
        let store = try LocalBlobStore(root: scratch.url)
        let bytes = Array("not a safetensors file".utf8)
        let transfer = try store.stage(.sha256(sha256(bytes)))
        try transfer.append(bytes)
        struct Bad: Error, CustomStringConvertible { var description: String { "header claims 4 GB" } }
        let error = #expect(throws: BlobStoreError.self) {
            try store.commit(transfer, expecting: Expectation(sha256: sha256(bytes))) { _ in throw Bad() }
        }
        guard case .refused(let reason, let location) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(reason == "header claims 4 GB")
        #expect(FileManager.default.fileExists(atPath: location))
        #expect(try store.list().isEmpty)
    }
}

/// Bytes the store makes itself (quantize on ingest): named by the digest they hash to as they
/// are written, committed by the same rename, and gone without a trace when they fail.
@Suite struct ProducedBlobTests {
    @Test func producedBytesAreStoredUnderTheirOwnDigest() throws {
        let scratch = try Scratch()
        let store = try LocalBlobStore(root: scratch.url)
        let bytes = pseudoRandomBytes(2 << 20 + 5)
        let transfer = try store.stage(.produced(sha256(Array("inputs and recipe".utf8))))
        try transfer.append(bytes)
        var inspected: [UInt8] = []
        let committed = try store.commitProduced(transfer) { inspected = Array(try Data(contentsOf: $0)) }
        #expect(inspected == bytes)
        #expect(committed == CommittedBlob(digest: sha256(bytes), size: Int64(bytes.count), gitOID: nil, newlyStored: true))
        #expect(try Data(contentsOf: store.path(of: sha256(bytes))) == Data(bytes))
        #expect(try store.staged().isEmpty)
    }

    @Test func aFailedInspectionLeavesNothingStagedStoredOrQuarantined() throws {
        let scratch = try Scratch()
        let store = try LocalBlobStore(root: scratch.url)
        let transfer = try store.stage(.produced(sha256([7])))
        try transfer.append(Array("half a GGUF".utf8))
        struct Truncated: Error {}
        #expect(throws: Truncated.self) { try store.commitProduced(transfer) { _ in throw Truncated() } }
        #expect(try store.staged().isEmpty)
        #expect(try store.list().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.quarantineDirectory.path).isEmpty)
    }
}

@Suite struct MirrorMetadataTests {
    /// A store written before quantize on ingest: its repos, commits and refs survive the
    /// rebuild of mirror_repo, and the new records work on it.
    @Test func aVersionOneStoreMigratesWithItsRecords() async throws {
        let scratch = try Scratch()
        let pool = try DatabasePool(path: scratch.url.appendingPathComponent("lineage.sqlite").path)
        try SQLiteMirrorMetadata.migrator.migrate(pool, upTo: "mirror v1: repos, revisions, files, blobs, quarantine")
        let blob = sha256([1])
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO mirror_repo VALUES ('org/one', 'git', '/x', 'org/one', NULL, '[]', '["*.md"]', 1);
                INSERT INTO mirror_blob (sha256, size) VALUES ('\(blob.hex)', 1);
                INSERT INTO mirror_revision VALUES ('org/one', 'c1', 2);
                INSERT INTO mirror_file VALUES ('org/one', 'c1', 'a', 1, NULL, NULL, '\(blob.hex)');
                INSERT INTO mirror_ref VALUES ('org/one', 'main', 'c1');
                """)
        }
        try pool.close()
        let metadata = try SQLiteMirrorMetadata(storeDirectory: scratch.url)
        let repo = try #require(try await metadata.repo("org/one"))
        #expect(repo.exclude == ["*.md"] && repo.quantize.isEmpty && repo.derivedFrom == nil)
        #expect(try await metadata.refs(of: "org/one") == ["main": "c1"])
        #expect(try await metadata.resolve(repo, revision: nil)?.commit == "c1")
        #expect(try await metadata.blob(blob)?.references == 1)

        var quantized = repo
        quantized.quantize = ["Q8_0"]
        try await metadata.upsertRepo(quantized)
        try await metadata.upsertRepo(MirrorRepo(id: "org/one-GGUF", source: .derived, url: nil, upstreamID: "org/one-GGUF",
                                                 revision: nil, include: [], exclude: [], derivedFrom: "org/one"))
        #expect(try await metadata.repo("org/one")?.quantize == ["Q8_0"])
        #expect(try await metadata.repo("org/one-GGUF")?.derivedFrom == "org/one")
        let artifact = DerivedArtifact(key: sha256([9]), sourceRepo: "org/one", sourceCommit: "c1", inputs: [blob],
                                       recipe: "quantize Q8_0", producer: "test 1", output: sha256([2]), size: 1,
                                       createdAt: Date(timeIntervalSince1970: 100))
        try await metadata.recordArtifact(artifact)
        #expect(try await metadata.artifact(key: sha256([9])) == artifact)
        #expect(try await metadata.artifacts(from: "org/one") == [artifact])
        // Removing the source leaves what was made of it.
        try await metadata.removeRepo("org/one")
        #expect(try await metadata.repo("org/one-GGUF") != nil)
    }

    @Test func referenceCountsFollowPublishedFiles() async throws {
        let scratch = try Scratch()
        let metadata = try SQLiteMirrorMetadata(storeDirectory: scratch.url)
        let a = sha256([1]), b = sha256([2])
        try await metadata.recordBlob(a, size: 1, gitOID: nil)
        try await metadata.recordBlob(b, size: 1, gitOID: "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
        for id in ["org/one", "org/two"] {
            try await metadata.upsertRepo(MirrorRepo(id: id, source: .git, url: "/x", upstreamID: id, revision: nil, include: [], exclude: []))
        }
        try await metadata.publish(repo: "org/one", commit: "c1", ref: "main", files: [
            MirroredFile(path: "a", size: 1, gitOID: nil, lfsOID: a, blob: a),
            MirroredFile(path: "b", size: 1, gitOID: "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", lfsOID: nil, blob: b),
        ])
        try await metadata.publish(repo: "org/two", commit: "c9", ref: "main", files: [
            MirroredFile(path: "same-a", size: 1, gitOID: nil, lfsOID: a, blob: a),
        ])
        #expect(try await metadata.blob(a)?.references == 2)
        #expect(try await metadata.blob(b)?.references == 1)
        #expect(try await metadata.blob(gitOID: "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")?.digest == b)

        // The ref moves on: the old commit stays until pruned, then its references go.
        try await metadata.publish(repo: "org/one", commit: "c2", ref: "main", files: [
            MirroredFile(path: "a", size: 1, gitOID: nil, lfsOID: a, blob: a),
        ])
        #expect(try await metadata.blob(a)?.references == 3)
        let pruned = try await metadata.pruneUnreferencedRevisions()
        #expect(pruned.map(\.commit) == ["c1"])
        #expect(try await metadata.blob(a)?.references == 2)
        #expect(try await metadata.blob(b)?.references == 0)

        try await metadata.removeRepo("org/two")
        #expect(try await metadata.blob(a)?.references == 1)
        #expect(try await metadata.repos().map(\.id) == ["org/one"])
        #expect(try await metadata.refs(of: "org/one") == ["main": "c2"])
    }

    @Test func sharesTheLineageDatabaseWithItsOwnMigrations() async throws {
        let scratch = try Scratch()
        _ = try SQLiteMirrorMetadata(storeDirectory: scratch.url)
        let again = try SQLiteMirrorMetadata(storeDirectory: scratch.url)
        try await again.recordQuarantine(QuarantineRecord(repo: "org/x", path: "w.bin", commit: "c", expected: "sha256:aa",
                                                          actual: "sha256:bb", size: 3, reason: "mismatch", location: "/q"))
        #expect(try await again.quarantineRecords().first?.path == "w.bin")
    }
}
