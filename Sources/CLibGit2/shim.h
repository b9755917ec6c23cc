#ifndef LINEAGE_CLIBGIT2_SHIM_H
#define LINEAGE_CLIBGIT2_SHIM_H
// libgit2 from the system (apt libgit2-dev, pkg-config libgit2).
#include <git2.h>

// git_libgit2_opts is variadic, which Swift cannot call: one fixed-argument wrapper per
// option lineage sets.
static inline int lineage_git_set_strict_hash_verification(int enabled) {
    return git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, enabled);
}

// The CA bundle (PEM file) libgit2's TLS stream trusts instead of the system's.
static inline int lineage_git_set_ssl_cert_file(const char *file) {
    return git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, (const char *)0);
}
#endif
