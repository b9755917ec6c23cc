import Foundation
import Testing
@testable import ModelMirror

/// known_hosts lines as `ssh-keygen` writes them (plain, hashed with -H, ports, wildcards,
/// negation, @revoked), git URLs, and the CA rule.
@Suite struct KnownHostsTests {
    /// A fresh ed25519 public key from the real ssh-keygen: (type, base64, wire bytes).
    static func makeKey(_ directory: URL, _ name: String) throws -> (line: String, key: [UInt8]) {
        let path = directory.appendingPathComponent(name).path
        try run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path])
        let line = try String(contentsOfFile: path + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let fields = line.split(separator: " ")
        return ("\(fields[0]) \(fields[1])", Array(Data(base64Encoded: String(fields[1]))!))
    }

    @discardableResult
    static func run(_ program: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(program) \(arguments)")
        return String(decoding: data, as: UTF8.self)
    }

    @Test func plainHashedPortsWildcardsAndRevocation() throws {
        let scratch = try Scratch("known-hosts")
        let directory = scratch.url
        let (a, keyA) = try Self.makeKey(directory, "a")
        let (b, keyB) = try Self.makeKey(directory, "b")
        let (c, keyC) = try Self.makeKey(directory, "c")
        let file = directory.appendingPathComponent("known_hosts")
        try """
            # a comment
            git.example.org,10.0.0.7 \(a)
            [git.example.org]:2222 \(b)
            *.corp.example,!evil.corp.example \(c)
            @cert-authority *.example.org \(b)

            garbage
            """.write(to: file, atomically: true, encoding: .utf8)
        let hosts = KnownHosts(files: [file.path, directory.appendingPathComponent("missing").path])

        #expect(hosts.check(host: "git.example.org", port: 22, key: keyA) == .known(file: file.path, line: 2))
        #expect(hosts.check(host: "GIT.example.org", port: 22, key: keyA) == .known(file: file.path, line: 2))
        #expect(hosts.check(host: "10.0.0.7", port: 22, key: keyA) == .known(file: file.path, line: 2))
        // Another port is another host: only its own line counts.
        #expect(hosts.check(host: "git.example.org", port: 2222, key: keyB) == .known(file: file.path, line: 3))
        #expect(hosts.check(host: "git.example.org", port: 2222, key: keyA) == .changed(file: file.path, line: 3))
        #expect(hosts.check(host: "git.example.org", port: 22, key: keyB) == .changed(file: file.path, line: 2))
        #expect(hosts.check(host: "other.example.org", port: 22, key: keyA) == .unknown)
        #expect(hosts.check(host: "build.corp.example", port: 22, key: keyC) == .known(file: file.path, line: 4))
        #expect(hosts.check(host: "evil.corp.example", port: 22, key: keyC) == .unknown)
        #expect(hosts.check(host: "g", port: 22, key: keyA) == .unknown)  // '[' is literal, not a class
        #expect(KnownHosts.matches("git?.example.*", "git2.example.org"))
        #expect(!KnownHosts.matches("git?.example.*", "git.example.org"))

        // ssh-keygen -H hashes every name (|1|salt|hmac); the port form is hashed as a whole.
        // (It refuses files with wildcards and markers, so those lines go.)
        try "git.example.org,10.0.0.7 \(a)\n[git.example.org]:2222 \(b)\n".write(to: file, atomically: true, encoding: .utf8)
        try Self.run("/usr/bin/ssh-keygen", ["-q", "-H", "-f", file.path])
        #expect(!(try String(contentsOf: file, encoding: .utf8)).contains("git.example.org"))
        let hashed = KnownHosts(files: [file.path])
        #expect(hashed.check(host: "git.example.org", port: 22, key: keyA) != .unknown)
        #expect(hashed.check(host: "git.example.org", port: 2222, key: keyB) != .unknown)
        #expect(hashed.check(host: "git.example.org", port: 2222, key: keyA) != .unknown)
        if case .known = hashed.check(host: "git.example.org", port: 2222, key: keyA) { Issue.record("wrong key accepted") }
        #expect(hashed.check(host: "git.example.net", port: 22, key: keyA) == .unknown)

        // @revoked wins over a line that trusts the same key.
        try "git.example.org \(a)\n@revoked * \(a)\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(KnownHosts(files: [file.path]).check(host: "git.example.org", port: 22, key: keyA) == .revoked(file: file.path, line: 2))
    }

    @Test func fingerprintAndTypeMatchSSHKeygen() throws {
        let scratch = try Scratch("known-hosts")
        let directory = scratch.url
        let (_, key) = try Self.makeKey(directory, "k")
        let listed = try Self.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", directory.appendingPathComponent("k.pub").path])
        #expect(listed.contains(KnownHosts.fingerprint(key)), "\(listed)")
        #expect(KnownHosts.keyType(key) == "ssh-ed25519")
        #expect(KnownHosts.keyType([0, 0, 0, 200, 1]) == "unknown")
    }
}

@Suite struct GitRemoteAddressTests {
    @Test(arguments: [
        ("https://huggingface.co/org/name", "https", nil, "huggingface.co", 443),
        ("https://user:secret@127.0.0.1:8443/org/name.git", "https", "user", "127.0.0.1", 8443),
        ("http://[::1]:8080/a.git", "http", nil, "::1", 8080),
        ("ssh://git@127.0.0.1:2222/srv/org/name.git", "ssh", "git", "127.0.0.1", 2222),
        ("ssh://example.org/org/name.git", "ssh", nil, "example.org", 22),
        ("git@github.com:org/name.git", "ssh", "git", "github.com", 22),
        ("example.org:org/name.git", "ssh", nil, "example.org", 22),
    ] as [(String, String, String?, String, Int)])
    func parses(_ url: String, _ scheme: String, _ user: String?, _ host: String, _ port: Int) throws {
        let address = try #require(GitRemoteAddress(url))
        #expect(address.scheme == scheme)
        #expect(address.user == user)
        #expect(address.host == host)
        #expect(address.port == port)
    }

    @Test(arguments: ["/srv/repo.git", "file:///srv/repo.git", "./repo", "ftp://example.org/x"])
    func localAndUnknownAreNotNetworkRemotes(_ url: String) {
        #expect(GitRemoteAddress(url) == nil)
    }

    @Test func basicCredentialsGoOnlyToTheRemotesHostOverHTTPS() throws {
        var credentials = GitCredentials.fromEnvironment(["HOME": "/nonexistent"])
        #expect(credentials.token == nil)
        credentials.token = "s3cret"
        let remote = try #require(GitRemoteAddress("https://git.example.org/org/name.git"))
        let header = try #require(credentials.basicAuthorization(remote: remote, endpoint: "https://git.example.org/org/name.git/info/lfs"))
        #expect(header.0 == "Authorization")
        #expect(header.1 == "Basic " + Data("git:s3cret".utf8).base64EncodedString())
        #expect(credentials.basicAuthorization(remote: remote, endpoint: "https://lfs.other.example/org/name") == nil)
        #expect(credentials.basicAuthorization(remote: remote, endpoint: "http://git.example.org/org/name.git/info/lfs") == nil)
        let plain = try #require(GitRemoteAddress("http://git.example.org/org/name.git"))
        #expect(credentials.basicAuthorization(remote: plain, endpoint: "http://git.example.org/org/name.git/info/lfs") == nil)
    }

    @Test func sshAndKnownHostsFollowTheEnvironment() {
        let defaults = GitCredentials.fromEnvironment(["HOME": "/home/u"])
        #expect(defaults.knownHostsFiles == ["/home/u/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"])
        #expect(defaults.knownHostsDescription == "~/.ssh/known_hosts or /etc/ssh/ssh_known_hosts")
        #expect(!defaults.sshAgent)
        let set = GitCredentials.fromEnvironment(["HOME": "/home/u", "LINEAGE_SSH_KNOWN_HOSTS": "/etc/lineage/known_hosts",
                                                  "SSH_AUTH_SOCK": "/tmp/agent", "LINEAGE_SSH_KEY": "/keys/id"])
        #expect(set.knownHostsFiles == ["/etc/lineage/known_hosts"])
        #expect(set.sshAgent)
        #expect(set.sshKey == "/keys/id")
    }
}

@Suite struct TrustedCATests {
    /// Debian's libgit2 (scripts/setup.sh) has both network transports the tests exercise.
    @Test func systemLibgit2HasHTTPSAndSSH() {
        #expect(LibGit2.missingTransport("https") == nil)
        #expect(LibGit2.missingTransport("ssh") == nil)
        #expect(LibGit2.missingTransport("http") == nil)
    }

    @Test func gitVariableWinsThenOpenSSLsThenTheSystem() throws {
        let scratch = try Scratch("trusted-cas")
        let directory = scratch.url
        let pem = directory.appendingPathComponent("ca.pem")
        try "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".write(to: pem, atomically: true, encoding: .utf8)
        let other = directory.appendingPathComponent("other.pem")
        try FileManager.default.copyItem(at: pem, to: other)

        #expect(try TrustedCAs.fromEnvironment([:]) == .system)
        #expect(try TrustedCAs.fromEnvironment(["SSL_CERT_FILE": other.path]) == TrustedCAs(file: other.path, variable: "SSL_CERT_FILE"))
        let both = try TrustedCAs.fromEnvironment(["GIT_SSL_CAINFO": pem.path, "SSL_CERT_FILE": other.path])
        #expect(both == TrustedCAs(file: pem.path, variable: "GIT_SSL_CAINFO"))
        #expect(both.source == "GIT_SSL_CAINFO=\(pem.path)")
        #expect(try TrustedCAs.fromEnvironment(["GIT_SSL_CAINFO": ""]) == .system)
    }

    @Test func unusableFilesAreErrorsNamingTheVariable() throws {
        let scratch = try Scratch("trusted-cas")
        let directory = scratch.url
        let missing = directory.appendingPathComponent("missing.pem").path
        #expect(throws: MirrorError.self) { try TrustedCAs.fromEnvironment(["GIT_SSL_CAINFO": missing]) }
        do {
            _ = try TrustedCAs.fromEnvironment(["SSL_CERT_FILE": missing])
        } catch {
            #expect(error.description.contains("SSL_CERT_FILE=\(missing): cannot read that file"), "\(error)")
        }
        let notPEM = directory.appendingPathComponent("key.der")
        try Data([0x30, 0x82, 0x01]).write(to: notPEM)
        do {
            _ = try TrustedCAs.fromEnvironment(["GIT_SSL_CAINFO": notPEM.path])
            Issue.record("a file without a certificate was accepted")
        } catch {
            #expect(error.description.contains("GIT_SSL_CAINFO=\(notPEM.path): no PEM certificate"), "\(error)")
        }
    }
}
