import AsyncHTTPClient
import Foundation
import NIOSSL

/// Whom the mirror trusts over https. One rule for both clients that talk to upstreams, so a
/// remote is trusted by the git fetch (libgit2) exactly when it is trusted by the LFS and Hub
/// transfers (AsyncHTTPClient):
///
/// `GIT_SSL_CAINFO` (git's variable for a CA bundle), else `SSL_CERT_FILE` (OpenSSL's, which
/// curl and Python read too), else the system bundle. Like git and OpenSSL, the named file
/// *replaces* the system's CAs: to reach a private CA and public hosts alike, point it at the
/// system bundle with the private CA appended.
public struct TrustedCAs: Sendable, Equatable {
    /// The PEM file of CA certificates, nil for the system bundle.
    public let file: String?
    /// The environment variable that named `file`.
    public let variable: String?

    public static let system = TrustedCAs(file: nil, variable: nil)

    /// The rule above; a variable naming a file that is missing or holds no PEM certificate
    /// is an error (silently falling back to the system bundle would hide the mistake).
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(MirrorError) -> TrustedCAs {
        for variable in ["GIT_SSL_CAINFO", "SSL_CERT_FILE"] {
            guard let file = environment[variable], !file.isEmpty else { continue }
            guard let data = FileManager.default.contents(atPath: file) else {
                throw MirrorError("\(variable)=\(file): cannot read that file; point \(variable) at a PEM file of CA certificates, or unset it to trust the system's CAs")
            }
            guard String(decoding: data, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
                throw MirrorError("\(variable)=\(file): no PEM certificate (-----BEGIN CERTIFICATE-----) in that file; point \(variable) at a PEM file of CA certificates")
            }
            return TrustedCAs(file: file, variable: variable)
        }
        return .system
    }

    /// What is trusted, for messages: `GIT_SSL_CAINFO=/etc/corp-ca.pem` or the system bundle.
    public var source: String {
        guard let file, let variable else { return "the system's CA bundle" }
        return "\(variable)=\(file)"
    }

    /// The advice every untrusted-certificate error ends with.
    public static let advice = "if the server's certificate comes from a private CA, set GIT_SSL_CAINFO (or SSL_CERT_FILE) to a PEM file holding that CA"
}

/// The HTTP client every mirror transfer goes through (the CLI's and the daemon's): no
/// automatic redirects (the downloaders follow them and drop credentials across hosts), no
/// transparent decompression (the bytes hashed are the bytes served), and ``TrustedCAs``.
public enum MirrorHTTPClient {
    public static func configuration(trust: TrustedCAs) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(15), read: .seconds(60))
        configuration.decompression = .disabled
        if let file = trust.file {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(file)
            configuration.tlsConfiguration = tls
        }
        return configuration
    }
}
