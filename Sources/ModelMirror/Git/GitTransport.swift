import CLibGit2
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How git remotes are authenticated, from the environment (values never logged):
///
/// - https: when the server answers 401, `LINEAGE_GIT_TOKEN` is sent as the HTTP basic
///   password (user: the URL's, else `LINEAGE_GIT_USERNAME`, else `git`), which GitHub,
///   GitLab, Gitea and the Hub all accept for access tokens; on the Hub's host `HF_TOKEN` is
///   used when `LINEAGE_GIT_TOKEN` is unset. Never over plain http. The same credentials go
///   to the LFS batch endpoint on the remote's host, as git-lfs does.
/// - ssh: the key file in `LINEAGE_SSH_KEY` (passphrase `LINEAGE_SSH_KEY_PASSPHRASE`), else
///   the keys of the ssh-agent at `SSH_AUTH_SOCK`, else `~/.ssh/id_ed25519`, `id_ecdsa`,
///   `id_rsa` (what `ssh` tries). The host key must be in `LINEAGE_SSH_KNOWN_HOSTS` if set,
///   else in `~/.ssh/known_hosts` or `/etc/ssh/ssh_known_hosts`: an unknown or changed key
///   stops the fetch before any key is offered.
struct GitCredentials: Sendable {
    var token: String?
    var tokenVariable = "LINEAGE_GIT_TOKEN"
    var username: String?
    var sshKey: String?
    var sshKeyPassphrase: String?
    var sshAgent: Bool
    var defaultSSHKeys: [String]
    var knownHostsFiles: [String]
    var knownHostsVariable: Bool
    var home: String

    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> GitCredentials {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let home = value("HOME") ?? getpwuid(getuid()).map { String(cString: $0.pointee.pw_dir) } ?? "/"
        let knownHosts = value("LINEAGE_SSH_KNOWN_HOSTS")
        return GitCredentials(
            token: value("LINEAGE_GIT_TOKEN"), username: value("LINEAGE_GIT_USERNAME"),
            sshKey: value("LINEAGE_SSH_KEY"), sshKeyPassphrase: value("LINEAGE_SSH_KEY_PASSPHRASE"),
            sshAgent: value("SSH_AUTH_SOCK") != nil,
            defaultSSHKeys: ["id_ed25519", "id_ecdsa", "id_rsa"].map { "\(home)/.ssh/\($0)" }
                .filter { FileManager.default.isReadableFile(atPath: $0) },
            knownHostsFiles: knownHosts.map { [$0] } ?? ["\(home)/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"],
            knownHostsVariable: knownHosts != nil, home: home)
    }

    /// The basic-auth header for an LFS endpoint on the git remote's own host (https only).
    func basicAuthorization(remote: GitRemoteAddress, endpoint: String) -> (String, String)? {
        guard let token, remote.scheme == "https", endpoint.lowercased().hasPrefix("https://"),
              HTTPDownloader.host(of: endpoint) == remote.host.lowercased() else { return nil }
        let user = remote.user ?? username ?? "git"
        return ("Authorization", "Basic " + Data("\(user):\(token)".utf8).base64EncodedString())
    }

    /// Where known hosts are read from, for messages (`~` for the home directory).
    var knownHostsDescription: String {
        knownHostsFiles.map { $0.hasPrefix(home + "/") ? "~" + $0.dropFirst(home.count) : $0 }.joined(separator: " or ")
    }
}

/// The parts of a git URL the transports need: `https://user@host:port/path`,
/// `ssh://user@host:port/path` or scp-like `user@host:path`.
struct GitRemoteAddress: Sendable, Equatable {
    let scheme: String
    let user: String?
    let host: String
    let port: Int

    init?(_ url: String) {
        if let schemeEnd = url.range(of: "://") {
            let scheme = url[..<schemeEnd.lowerBound].lowercased()
            guard ["http", "https", "ssh", "git+ssh", "ssh+git"].contains(scheme) else { return nil }
            var authority = url[schemeEnd.upperBound...].prefix { $0 != "/" }
            var user: String?
            if let at = authority.lastIndex(of: "@") {
                user = String(authority[..<at]).split(separator: ":").first.map { $0.removingPercentEncoding ?? String($0) }
                authority = authority[authority.index(after: at)...]
            }
            var host = String(authority)
            var port: Int?
            if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
                host = String(authority[authority.index(after: authority.startIndex)..<close])
                let rest = authority[authority.index(after: close)...]
                if rest.hasPrefix(":") { port = Int(rest.dropFirst()) }
            } else if let colon = authority.lastIndex(of: ":") {
                host = String(authority[..<colon])
                port = Int(authority[authority.index(after: colon)...])
            }
            guard !host.isEmpty else { return nil }
            self.scheme = scheme.contains("ssh") ? "ssh" : scheme
            self.user = user
            self.host = host
            self.port = port ?? (scheme == "http" ? 80 : scheme == "https" ? 443 : 22)
        } else {
            // scp-like: a colon before any slash.
            guard let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") else { return nil }
            let authority = url[..<colon]
            if let at = authority.lastIndex(of: "@") {
                user = String(authority[..<at])
                host = String(authority[authority.index(after: at)...])
            } else {
                user = nil
                host = String(authority)
            }
            guard !host.isEmpty else { return nil }
            scheme = "ssh"
            port = 22
        }
    }
}

/// The libgit2 callbacks of one fetch: credentials and the certificate / host key check.
/// libgit2 calls them on the fetching thread, during `git_remote_fetch`, through the payload
/// pointer; they record why they refused so that the error names the cause and the fix
/// instead of libgit2's generic "authentication required".
final class GitFetchSession {
    let url: String
    let address: GitRemoteAddress?
    let credentials: GitCredentials
    let trust: TrustedCAs
    /// Set by a callback that refused: the message the fetch fails with.
    private(set) var failure: String?
    private var tokenOffered = false
    private var sshSources: [SSHSource]?

    enum SSHSource {
        case keyFile(String, passphrase: String?, fromVariable: Bool)
        case agent
    }

    init(url: String, credentials: GitCredentials, trust: TrustedCAs) {
        self.url = url
        address = GitRemoteAddress(url)
        self.credentials = credentials
        self.trust = trust
    }

    var redactedURL: String { TransferError.redact(url) }

    /// Points `callbacks` at this session; the caller keeps the session alive until the
    /// libgit2 call that uses them returns.
    func install(into callbacks: inout git_remote_callbacks) {
        callbacks.payload = Unmanaged.passUnretained(self).toOpaque()
        callbacks.credentials = { out, _, username, allowed, payload in
            Unmanaged<GitFetchSession>.fromOpaque(payload!).takeUnretainedValue()
                .credential(out!, username: username.map { String(cString: $0) }, allowed: allowed)
        }
        callbacks.certificate_check = { cert, valid, host, payload in
            Unmanaged<GitFetchSession>.fromOpaque(payload!).takeUnretainedValue()
                .checkCertificate(cert!, valid: valid != 0, host: host.map { String(cString: $0) } ?? "")
        }
    }

    private func refuse(_ message: String, _ code: git_error_code = GIT_EAUTH) -> Int32 {
        failure = message
        git_error_set_str(Int32(GIT_ERROR_NET.rawValue), message)
        return code.rawValue
    }

    // MARK: credentials

    private func credential(_ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>, username: String?,
                            allowed: UInt32) -> Int32 {
        let sshUser = username ?? address?.user ?? credentials.username ?? Self.currentUser
        if allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 {
            return sshCredential(out, user: sshUser)
        }
        if allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0 {
            return git_credential_username_new(out, sshUser)
        }
        if allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0 {
            return tokenCredential(out, username: username)
        }
        return refuse("\(redactedURL) asks for a kind of credential lineage does not have (libgit2 types \(allowed)); use an https token (LINEAGE_GIT_TOKEN) or an ssh key")
    }

    private func tokenCredential(_ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>, username: String?) -> Int32 {
        guard let token = credentials.token else {
            return refuse("\(redactedURL) requires credentials (HTTP 401); set LINEAGE_GIT_TOKEN to an access token with read access (sent as the HTTP basic password, user LINEAGE_GIT_USERNAME or the URL's)")
        }
        guard address?.scheme == "https" else {
            return refuse("\(redactedURL) requires credentials, and lineage sends \(credentials.tokenVariable) only over https; use the https URL of the repository")
        }
        guard !tokenOffered else {
            return refuse("\(redactedURL) refused the token in \(credentials.tokenVariable) (HTTP 401 again); check that it is valid and can read this repository")
        }
        tokenOffered = true
        return git_credential_userpass_plaintext_new(out, username ?? credentials.username ?? "git", token)
    }

    private func sshCredential(_ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>, user: String) -> Int32 {
        if sshSources == nil {
            if let key = credentials.sshKey {
                sshSources = [.keyFile(key, passphrase: credentials.sshKeyPassphrase, fromVariable: true)]
            } else {
                sshSources = (credentials.sshAgent ? [.agent] : [])
                    + credentials.defaultSSHKeys.map { .keyFile($0, passphrase: credentials.sshKeyPassphrase, fromVariable: false) }
            }
            if sshSources!.isEmpty {
                return refuse("\(redactedURL): no ssh key to offer; set LINEAGE_SSH_KEY to a private key file, or run ssh-agent with the key added (SSH_AUTH_SOCK)")
            }
        }
        guard !sshSources!.isEmpty else {
            return refuse("\(redactedURL) refused every ssh key offered for user '\(user)' (\(triedSSH)); add the public key to that account, or set LINEAGE_SSH_KEY to the right private key")
        }
        switch sshSources!.removeFirst() {
        case .agent:
            return git_credential_ssh_key_from_agent(out, user)
        case .keyFile(let path, let passphrase, let fromVariable):
            guard FileManager.default.isReadableFile(atPath: path) else {
                return refuse("\(fromVariable ? "LINEAGE_SSH_KEY=" : "")\(path): cannot read that ssh private key file")
            }
            let publicKey = FileManager.default.isReadableFile(atPath: path + ".pub") ? path + ".pub" : nil
            return git_credential_ssh_key_new(out, user, publicKey, path, passphrase)
        }
    }

    private var triedSSH: String {
        if let key = credentials.sshKey { return "LINEAGE_SSH_KEY=\(key)" }
        return ((credentials.sshAgent ? ["the ssh-agent's keys"] : []) + credentials.defaultSSHKeys).joined(separator: ", ")
    }

    static var currentUser: String {
        getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "git"
    }

    // MARK: certificates and host keys

    private func checkCertificate(_ cert: UnsafeMutablePointer<git_cert>, valid: Bool, host: String) -> Int32 {
        switch cert.pointee.cert_type {
        case GIT_CERT_X509:
            if valid { return 0 }
            let detail = git_error_last().map { String(cString: $0.pointee.message) } ?? "certificate not valid"
            return refuse("the TLS certificate of \(redactedURL) is not trusted (\(detail)); trusted now: \(trust.source). \(TrustedCAs.advice)",
                          GIT_ECERTIFICATE)
        case GIT_CERT_HOSTKEY_LIBSSH2:
            return checkHostKey(UnsafeMutableRawPointer(cert).assumingMemoryBound(to: git_cert_hostkey.self).pointee, host: host)
        default:
            return valid ? 0 : refuse("\(redactedURL) presented a certificate libgit2 could not check", GIT_ECERTIFICATE)
        }
    }

    private func checkHostKey(_ hostkey: git_cert_hostkey, host: String) -> Int32 {
        guard hostkey.type.rawValue & GIT_CERT_SSH_RAW.rawValue != 0, let raw = hostkey.hostkey, hostkey.hostkey_len > 0 else {
            return refuse("\(redactedURL): libgit2 did not pass the ssh host key on, so it cannot be checked against known_hosts; nothing was fetched",
                          GIT_ECERTIFICATE)
        }
        let key = Array(UnsafeRawBufferPointer(start: raw, count: hostkey.hostkey_len))
        let port = address?.port ?? 22
        let name = KnownHosts.name(host: host, port: port)
        let described = "\(KnownHosts.keyType(key)) key \(KnownHosts.fingerprint(key))"
        let scan = "ssh-keyscan\(port == 22 ? "" : " -p \(port)") -t \(KnownHosts.keyType(key).replacingOccurrences(of: "ssh-", with: "")) \(host)"
        let target = credentials.knownHostsVariable ? "$LINEAGE_SSH_KNOWN_HOSTS" : "~/.ssh/known_hosts"
        switch KnownHosts(files: credentials.knownHostsFiles).check(host: host, port: port, key: key) {
        case .known:
            return 0
        case .unknown:
            return refuse("the ssh host key of \(name) is not known (\(described)); nothing was fetched. Check that fingerprint with the server's owner, then trust it: \(scan) >> \(target) (lineage reads \(credentials.knownHostsDescription))",
                          GIT_ECERTIFICATE)
        case .changed(let file, let line):
            return refuse("the ssh host key of \(name) CHANGED: it presented \(described), \(file) line \(line) has another; nothing was fetched (someone may be intercepting the connection). If the server's key was replaced on purpose, remove the old line (ssh-keygen -R '\(name)'\(credentials.knownHostsVariable ? " -f \(file)" : "")) and trust the new one",
                          GIT_ECERTIFICATE)
        case .revoked(let file, let line):
            return refuse("the ssh host key of \(name) (\(described)) is marked @revoked in \(file) line \(line); nothing was fetched",
                          GIT_ECERTIFICATE)
        }
    }
}
