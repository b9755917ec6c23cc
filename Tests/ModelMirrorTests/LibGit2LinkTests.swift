import CLibGit2
import Testing

/// The system libgit2 (apt libgit2-dev) is found through pkg-config and links.
@Suite struct LibGit2LinkTests {
    @Test func systemLibraryLinksAndInitialises() {
        #expect(git_libgit2_init() >= 1)
        var major: Int32 = 0, minor: Int32 = 0, revision: Int32 = 0
        git_libgit2_version(&major, &minor, &revision)
        #expect(major > 1 || (major == 1 && minor >= 1), "libgit2 \(major).\(minor).\(revision)")
        #expect(lineage_git_set_strict_hash_verification(1) == 0)
        git_libgit2_shutdown()
    }
}
