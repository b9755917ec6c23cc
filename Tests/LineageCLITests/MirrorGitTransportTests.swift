import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `lineage mirror` over the network transports of git: https (the real `git http-backend`
/// behind TLS with a private CA made by openssl, LFS through the batch API, basic auth) and
/// ssh (a real OpenSSH sshd with its own host key, key files, ssh-agent and known_hosts).
@Suite(.serialized) struct MirrorGitTransportTests {
    // MARK: https

    @Test func httpsWithAPrivateCAMirrorsEveryRefAndLFSObject() throws {
        let cli = try CLI()
        let files = MirrorGitTests().upstreamFiles()
        let (work, _) = try cli.makeUpstream("acme/tiny", files: files)
        try cli.git(["push", "-q", "origin", "main:refs/heads/dev"], in: work)
        try cli.git(["tag", "v1"], in: work)
        try cli.git(["push", "-q", "origin", "v1"], in: work)
        let certificates = try TestCertificates(cli: cli, name: "tls")
        let server = try GitHTTPSServer(cli: cli, root: cli.scratch.appendingPathComponent("upstream"), certificates: certificates)
        let url = server.url("acme/tiny")
        let untrusted: [String: String?] = ["GIT_SSL_CAINFO": nil, "SSL_CERT_FILE": nil]

        // The repo id comes from the URL's last two components.
        let add = try cli.run(["mirror", "add", url], environment: untrusted)
        #expect(add.status == 0, "\(add.stderr)")

        // Our CA is nobody's: refused, with the URL and what to set; nothing published.
        let refused = try cli.run(["mirror", "sync"], environment: untrusted)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("the TLS certificate of \(url) is not trusted"), "\(refused.stderr)")
        #expect(refused.stderr.contains("trusted now: the system's CA bundle"), "\(refused.stderr)")
        #expect(refused.stderr.contains("set GIT_SSL_CAINFO (or SSL_CERT_FILE) to a PEM file holding that CA"), "\(refused.stderr)")
        #expect(cli.publishedSnapshots("acme/tiny").isEmpty)

        // Trusting another private CA is not trusting this one.
        let stranger = try TestCertificates(cli: cli, name: "stranger")
        let wrongCA = try cli.run(["mirror", "sync"], environment: ["GIT_SSL_CAINFO": stranger.ca.path, "SSL_CERT_FILE": nil])
        #expect(wrongCA.status != 0)
        #expect(wrongCA.stderr.contains("is not trusted"), "\(wrongCA.stderr)")
        #expect(wrongCA.stderr.contains("trusted now: GIT_SSL_CAINFO=\(stranger.ca.path)"), "\(wrongCA.stderr)")

        // A variable naming no usable file: an error naming it, before any transfer.
        let missing = cli.scratch.appendingPathComponent("no-such-ca.pem").path
        let badBundle = try cli.run(["mirror", "sync"], environment: ["GIT_SSL_CAINFO": missing])
        #expect(badBundle.status != 0)
        #expect(badBundle.stderr.contains("GIT_SSL_CAINFO=\(missing): cannot read that file"), "\(badBundle.stderr)")

        // GIT_SSL_CAINFO names our CA: every ref, every file, the LFS objects over https.
        let sync = try cli.run(["mirror", "sync"], environment: ["GIT_SSL_CAINFO": certificates.ca.path, "SSL_CERT_FILE": nil])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout.contains("synced acme/tiny@"), "\(sync.stdout)")
        #expect(sync.stdout.contains("6 files, 6 fetched"), "\(sync.stdout)")
        let loaded = try cli.loadOffline("acme/tiny")
        for (path, bytes) in files {
            #expect(loaded[path]?.sha256 == sha256Hex(bytes), "\(path)")
        }
        let refs = try cli.git(["for-each-ref", "--format=%(refname)"], in: cli.store.appendingPathComponent("git/acme/tiny.git")).stdout
        #expect(Set(refs.split(separator: "\n")) == ["refs/heads/dev", "refs/heads/main", "refs/tags/v1"], "\(refs)")
        let requests = server.requests()
        #expect(requests.contains { $0["path"] as? String == "/acme/tiny.git/git-upload-pack" && $0["status"] as? Int == 200 })
        #expect(requests.contains { $0["path"] as? String == "/acme/tiny.git/info/lfs/objects/batch" && $0["status"] as? Int == 200 })
        // The two LFS files (model.safetensors, extra.bin) came from the https object route.
        #expect(requests.filter { ($0["path"] as? String ?? "").hasPrefix("/lfs-objects/acme/tiny/") && $0["status"] as? Int == 200 }.count == 2)
        let verify = try cli.run(["mirror", "verify"])
        #expect(verify.status == 0, "\(verify.stderr)")

        // SSL_CERT_FILE alone is honoured the same way, for git and for LFS.
        let weights = Safetensors.valid([("w", [32, 32])], seed: 11)
        try cli.commitAndPush(["model.safetensors": weights], in: work)
        server.clearLog()
        let second = try cli.run(["mirror", "sync", "acme/tiny"], environment: ["GIT_SSL_CAINFO": nil, "SSL_CERT_FILE": certificates.ca.path])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("1 fetched"), "\(second.stdout)")
        #expect(try cli.loadOffline("acme/tiny")["model.safetensors"]?.sha256 == sha256Hex(weights))
        #expect(server.requests().contains { ($0["path"] as? String ?? "").hasSuffix("/\(sha256Hex(weights))") })
    }

    @Test func httpsPrivateRemoteTakesATokenAndSaysWhenItIsMissingOrWrong() throws {
        let cli = try CLI()
        let files: [String: [UInt8]] = ["config.json": MirrorGitTests.config, "model.safetensors": Safetensors.valid([("w", [16, 16])])]
        _ = try cli.makeUpstream("private/model", files: files)
        let certificates = try TestCertificates(cli: cli, name: "tls")
        let token = "tok-\(UUID().uuidString)"
        let server = try GitHTTPSServer(cli: cli, root: cli.scratch.appendingPathComponent("upstream"),
                                        certificates: certificates, token: token)
        let url = server.url("private/model")
        let trusted: [String: String?] = ["GIT_SSL_CAINFO": certificates.ca.path, "LINEAGE_GIT_TOKEN": nil, "HF_TOKEN": nil,
                                          "LINEAGE_LOG_LEVEL": "trace"]
        #expect(try cli.run(["mirror", "add", url], environment: trusted).status == 0)

        let anonymous = try cli.run(["mirror", "sync"], environment: trusted)
        #expect(anonymous.status != 0)
        #expect(anonymous.stderr.contains("\(url) requires credentials (HTTP 401); set LINEAGE_GIT_TOKEN"), "\(anonymous.stderr)")

        var wrong = trusted
        wrong["LINEAGE_GIT_TOKEN"] = "not-the-token"
        let refused = try cli.run(["mirror", "sync"], environment: wrong)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("\(url) refused the token in LINEAGE_GIT_TOKEN"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("not-the-token") && !refused.stdout.contains("not-the-token"))
        #expect(cli.publishedSnapshots("private/model").isEmpty)

        var right = trusted
        right["LINEAGE_GIT_TOKEN"] = token
        server.clearLog()
        let sync = try cli.run(["mirror", "sync"], environment: right)
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout.contains("3 files, 3 fetched"), "\(sync.stdout)")  // .gitattributes too
        #expect(try cli.loadOffline("private/model")["model.safetensors"]?.sha256 == sha256Hex(files["model.safetensors"]!))
        // The LFS batch request carried the same credentials (the server refuses it otherwise),
        // and the token was never printed, even at trace level.
        #expect(server.requests().contains { ($0["path"] as? String ?? "").hasSuffix("/info/lfs/objects/batch") && $0["auth"] as? Bool == true && $0["status"] as? Int == 200 })
        #expect(server.requests().contains { ($0["path"] as? String ?? "").hasPrefix("/lfs-objects/private/model/") && $0["status"] as? Int == 200 })
        #expect(!sync.stderr.contains(token) && !sync.stdout.contains(token))
    }

    /// A large file kept in plain git (no LFS) comes out of the pack whole and byte-exact,
    /// its size read from the object header and its bytes staged from libgit2's buffer.
    @Test func largeFileInPlainGitIsMirroredFromThePack() throws {
        let cli = try CLI()
        let big = noise(24 << 20, seed: 99)
        _ = try cli.makeUpstream("acme/plain", files: ["weights.bin": big, "config.json": MirrorGitTests.config], lfs: [])
        let remote = cli.scratch.appendingPathComponent("upstream/acme/plain.git")
        let packs = try FileManager.default.contentsOfDirectory(atPath: remote.appendingPathComponent("objects/pack").path)
        #expect(try cli.run(["mirror", "add", "file://\(remote.path)"]).status == 0)
        let sync = try cli.run(["mirror", "sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout.contains("2 files, 2 fetched"), "\(sync.stdout) \(packs)")
        let mirrorPacks = try FileManager.default.contentsOfDirectory(atPath: cli.store.appendingPathComponent("git/acme/plain.git/objects/pack").path)
        #expect(mirrorPacks.contains { $0.hasSuffix(".pack") }, "the fetch wrote no pack: \(mirrorPacks)")
        #expect(try cli.loadOffline("acme/plain")["weights.bin"]?.sha256 == sha256Hex(big))
        #expect(try cli.run(["mirror", "verify"]).status == 0)
    }

    // MARK: ssh

    @Test func sshChecksTheHostKeyThenFetchesWithAKeyFileOrTheAgent() throws {
        let cli = try CLI()
        let sshd = try SSHServer(cli: cli)
        // The LFS objects of an ssh remote come from the lfs.url of its .lfsconfig here (a
        // file:// store beside it); git-lfs-authenticate over ssh is not spoken.
        let remotePath = cli.scratch.appendingPathComponent("upstream/acme/over-ssh.git").path
        var files = MirrorGitTests().upstreamFiles()
        files[".lfsconfig"] = Array("[lfs]\n\turl = file://\(remotePath)\n".utf8)
        _ = try cli.makeUpstream("acme/over-ssh", files: files)
        let url = "ssh://\(sshd.user)@127.0.0.1:\(sshd.port)\(remotePath)"
        let home = cli.scratch.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home.appendingPathComponent(".ssh"), withIntermediateDirectories: true)
        let base: [String: String?] = ["HOME": home.path, "SSH_AUTH_SOCK": nil, "LINEAGE_SSH_KNOWN_HOSTS": nil,
                                       "LINEAGE_SSH_KEY": sshd.clientKey.path]
        #expect(try cli.run(["mirror", "add", url], environment: base).status == 0)

        // An unknown host: refused before any key is offered, naming the fingerprint that
        // ssh-keygen prints for the server's key, and how to trust it.
        let unknown = try cli.run(["mirror", "sync"], environment: base)
        if unknown.stderr.contains("built without ssh") {
            // This machine's libgit2 has no ssh transport: the error says so, and that is all.
            #expect(unknown.status != 0)
            return
        }
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("the ssh host key of [127.0.0.1]:\(sshd.port) is not known (ssh-ed25519 key \(sshd.hostFingerprint))"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("ssh-keyscan -p \(sshd.port) -t ed25519 127.0.0.1 >> ~/.ssh/known_hosts"), "\(unknown.stderr)")
        #expect(!sshd.log().contains("Accepted publickey"), "a key was offered to an unknown host")
        #expect(cli.publishedSnapshots("acme/over-ssh").isEmpty)

        // A known_hosts line for the port with another key: refused as changed.
        let stranger = try SSHServer.keygen(cli, "stranger")
        let pinned = cli.scratch.appendingPathComponent("pinned_known_hosts")
        try "[127.0.0.1]:\(sshd.port) \(stranger.publicKey)\n".write(to: pinned, atomically: true, encoding: .utf8)
        var pinnedEnvironment = base
        pinnedEnvironment["LINEAGE_SSH_KNOWN_HOSTS"] = pinned.path
        let changed = try cli.run(["mirror", "sync"], environment: pinnedEnvironment)
        #expect(changed.status != 0)
        #expect(changed.stderr.contains("the ssh host key of [127.0.0.1]:\(sshd.port) CHANGED"), "\(changed.stderr)")
        #expect(changed.stderr.contains("\(pinned.path) line 1"), "\(changed.stderr)")

        // Following the advice of the first error trusts the host.
        let scan = try cli.tool("ssh-keyscan", ["-p", String(sshd.port), "-t", "ed25519", "127.0.0.1"])
        #expect(scan.stdout.contains("ssh-ed25519"), "\(scan.stderr)")
        try Data(scan.stdout.utf8).write(to: home.appendingPathComponent(".ssh/known_hosts"))

        // A key the server does not know, then no key at all: each says what to do.
        let wrongKey = try cli.run(["mirror", "sync"], environment: base.overriding(["LINEAGE_SSH_KEY": stranger.privateKey.path]))
        #expect(wrongKey.status != 0)
        #expect(wrongKey.stderr.contains("refused every ssh key offered for user '\(sshd.user)' (LINEAGE_SSH_KEY=\(stranger.privateKey.path))"), "\(wrongKey.stderr)")
        let noKey = try cli.run(["mirror", "sync"], environment: base.overriding(["LINEAGE_SSH_KEY": nil]))
        #expect(noKey.status != 0)
        #expect(noKey.stderr.contains("no ssh key to offer; set LINEAGE_SSH_KEY"), "\(noKey.stderr)")

        // The key file: every file, LFS objects included.
        let sync = try cli.run(["mirror", "sync"], environment: base)
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout.contains("7 files, 7 fetched"), "\(sync.stdout)")  // .gitattributes, .lfsconfig too
        let loaded = try cli.loadOffline("acme/over-ssh")
        for (path, bytes) in files {
            #expect(loaded[path]?.sha256 == sha256Hex(bytes), "\(path)")
        }
        #expect(sshd.log().contains("Accepted publickey for \(sshd.user)"))

        // The ssh-agent, with no key file named: a fresh mirror of the same remote.
        let agent = try SSHAgent(cli: cli, adding: sshd.clientKey)
        let agentEnvironment = base.overriding(["LINEAGE_SSH_KEY": nil, "SSH_AUTH_SOCK": agent.socket.path])
        #expect(try cli.run(["mirror", "add", url, "--as", "acme/via-agent"], environment: agentEnvironment).status == 0)
        let viaAgent = try cli.run(["mirror", "sync", "acme/via-agent"], environment: agentEnvironment)
        #expect(viaAgent.status == 0, "\(viaAgent.stderr)")
        #expect(viaAgent.stdout.contains("7 files"), "\(viaAgent.stdout)")
    }
}

// MARK: fixtures

extension Dictionary where Key == String, Value == String? {
    /// The environment overrides with `overrides` on top (nil values unset a variable).
    func overriding(_ overrides: [String: String?]) -> [String: String?] {
        merging(overrides) { _, new in new }
    }
}

/// A private CA and a certificate for 127.0.0.1 it signed, made with the real openssl.
struct TestCertificates {
    let ca: URL
    let serverCertificate: URL
    let serverKey: URL

    init(cli: CLI, name: String) throws {
        let directory = cli.scratch.appendingPathComponent("certificates-\(name)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        ca = directory.appendingPathComponent("ca.pem")
        serverCertificate = directory.appendingPathComponent("server.pem")
        serverKey = directory.appendingPathComponent("server.key")
        let caKey = directory.appendingPathComponent("ca.key").path
        let request = directory.appendingPathComponent("server.csr").path
        let extensions = directory.appendingPathComponent("server.ext")
        // An IP SAN for strict clients (BoringSSL) and the same name as DNS for mbedTLS
        // (libgit2's TLS on Debian), which matches only DNS names and the CN.
        try "subjectAltName=IP:127.0.0.1,DNS:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(to: extensions, atomically: true, encoding: .utf8)
        for arguments in [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", ca.path, "-days", "2",
             "-subj", "/CN=lineage test CA \(name)", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", serverKey.path, "-out", request, "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", request, "-CA", ca.path, "-CAkey", caKey, "-CAcreateserial", "-out", serverCertificate.path,
             "-days", "2", "-extfile", extensions.path],
        ] {
            let result = try cli.tool("openssl", arguments)
            if result.status != 0 { Issue.record("openssl \(arguments.first!) failed: \(result.stderr)") }
        }
    }
}

/// git_https_server.py: the real `git http-backend` and an LFS batch endpoint behind TLS.
final class GitHTTPSServer {
    let process: Process
    let port: Int
    let logFile: URL

    init(cli: CLI, root: URL, certificates: TestCertificates, token: String? = nil) throws {
        let directory = cli.scratch.appendingPathComponent("https-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        logFile = directory.appendingPathComponent("requests.log")
        let started = try CLI.startServerScript("git_https_server.py", [
            "--root", root.path, "--cert", certificates.serverCertificate.path, "--key", certificates.serverKey.path,
            "--log", logFile.path,
        ] + (token.map { ["--token", $0] } ?? []), portFile: directory.appendingPathComponent("port"))
        process = started.0
        port = started.1
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func url(_ repo: String) -> String { "https://127.0.0.1:\(port)/\(repo).git" }

    func requests() -> [[String: Any]] {
        guard let text = try? String(contentsOf: logFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func clearLog() { try? Data().write(to: logFile) }
}

/// A real OpenSSH sshd on 127.0.0.1 with its own config, host key and one authorized client
/// key, all in the test's scratch directory; it lets in only the user running the tests.
///
/// sshd detaches (no -D) and is ended by the pid it writes: kept as a child of the test
/// process, Foundation's process monitor sat in a blocking wait on it, and no later child
/// (git, lineage) was ever seen to exit.
final class SSHServer {
    let pid: pid_t
    let port: Int
    let directory: URL
    let user: String
    let clientKey: URL
    let hostFingerprint: String

    struct Key {
        let privateKey: URL
        let publicKey: String
    }

    static func keygen(_ cli: CLI, _ name: String) throws -> Key {
        let directory = cli.scratch.appendingPathComponent("ssh-keys")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name)
        let result = try cli.tool("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path.path])
        if result.status != 0 { Issue.record("ssh-keygen failed: \(result.stderr)") }
        let line = try String(contentsOfFile: path.path + ".pub", encoding: .utf8).split(separator: " ")
        return Key(privateKey: path, publicKey: "\(line[0]) \(line[1])")
    }

    init(cli: CLI) throws {
        directory = cli.scratch.appendingPathComponent("sshd")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        user = String(cString: getpwuid(getuid())!.pointee.pw_name)
        let hostKey = try Self.keygen(cli, "host")
        let client = try Self.keygen(cli, "client")
        clientKey = client.privateKey
        let fingerprint = try cli.tool("ssh-keygen", ["-l", "-E", "sha256", "-f", hostKey.privateKey.path + ".pub"]).stdout
        hostFingerprint = fingerprint.split(separator: " ").dropFirst().first.map(String.init) ?? "?"
        let authorized = directory.appendingPathComponent("authorized_keys")
        try (client.publicKey + "\n").write(to: authorized, atomically: true, encoding: .utf8)
        // sshd run by root wants its privilege separation directory (the package's service
        // would make it at boot).
        if getuid() == 0 { try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true) }
        let pidFile = directory.appendingPathComponent("sshd.pid")
        let log = directory.appendingPathComponent("sshd.log")
        var started: (pid_t, Int)?
        for _ in 0..<5 where started == nil {
            let port = freePort()  // MirrorHubTests.swift
            let config = directory.appendingPathComponent("sshd_config")
            try """
                Port \(port)
                ListenAddress 127.0.0.1
                HostKey \(hostKey.privateKey.path)
                PidFile \(pidFile.path)
                AuthorizedKeysFile \(authorized.path)
                AllowUsers \(user)
                StrictModes no
                UsePAM no
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PubkeyAuthentication yes
                PermitRootLogin prohibit-password
                LogLevel VERBOSE
                """.write(to: config, atomically: true, encoding: .utf8)
            try? FileManager.default.removeItem(at: log)
            try? FileManager.default.removeItem(at: pidFile)
            let launch = try CLI.run(URL(fileURLWithPath: "/usr/sbin/sshd"), ["-f", config.path, "-E", log.path],
                                     environment: cli.environment, in: directory)
            guard launch.status == 0 else { continue }
            for _ in 0..<100 {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                if text.contains("Server listening on 127.0.0.1 port \(port)"),
                   let pid = (try? String(contentsOf: pidFile, encoding: .utf8)).flatMap({ pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                    started = (pid, port)
                    break
                }
                if text.contains("Cannot bind") || text.contains("fatal") { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        guard let started else {
            Issue.record("sshd did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            throw CocoaError(.fileNoSuchFile)
        }
        pid = started.0
        port = started.1
    }

    deinit {
        kill(pid, SIGKILL)
    }

    func log() -> String {
        (try? String(contentsOf: directory.appendingPathComponent("sshd.log"), encoding: .utf8)) ?? ""
    }
}

/// A real ssh-agent on a socket in the scratch directory, holding one key.
final class SSHAgent {
    let process: Process
    let socket: URL

    init(cli: CLI, adding key: URL) throws {
        socket = cli.scratch.appendingPathComponent("agent.sock")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-agent")
        process.arguments = ["-D", "-a", socket.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket.path) { Thread.sleep(forTimeInterval: 0.05) }
        let added = try CLI.run(URL(fileURLWithPath: "/usr/bin/ssh-add"), [key.path],
                                environment: cli.environment.merging(["SSH_AUTH_SOCK": socket.path]), in: cli.scratch)
        if added.status != 0 { Issue.record("ssh-add failed: \(added.stderr)") }
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
