/// TLS to Redis (`rediss://`), as hosted services require (Upstash, Redis Cloud, ElastiCache with in-transit
/// encryption).
///
/// The default verifies the server: its certificate chain against the system's trust store (or a CA file) and
/// its name against the host it was reached by, which is also sent as SNI. A client certificate and key give
/// mutual TLS. The connection's executor runs TLS itself (OpenSSL), so this works with hiredis 0.14, which has
/// none.
public struct RedisTLSConfiguration: Sendable, Hashable {
    /// The certificates that may vouch for the server.
    public enum TrustRoots: Sendable, Hashable {
        /// The operating system's trust store (OpenSSL's default paths, `/etc/ssl/certs` on Debian).
        case system
        /// The PEM certificates in a file, for a private CA; the system's store is not used then.
        case file(path: String)
    }

    /// How much of the server's identity is checked.
    public enum Verification: Sendable, Hashable {
        /// The certificate chain ends at a trust root, is valid now, and names the host (or ``serverName``).
        case full
        /// Nothing is checked: anyone on the network path can read and change the traffic, passwords
        /// included. For development against a self-signed server only; a connection logs a warning.
        case insecureNoVerification
    }

    /// The certificates that may vouch for the server; ``TrustRoots/system`` by default.
    public var trustRoots: TrustRoots
    /// How much of the server's identity is checked; ``Verification/full`` by default.
    public var verification: Verification
    /// The name sent as SNI and checked against the certificate; `nil` uses the host of the endpoint. Set it
    /// when connecting by IP address to a server whose certificate names a host.
    public var serverName: String?
    /// A PEM file with the client certificate (and any intermediates) for mutual TLS.
    public var certificateChainFile: String?
    /// The PEM file with the private key of ``certificateChainFile``. Never logged.
    public var privateKeyFile: String?

    /// A TLS configuration; the defaults verify the server against the system's trust store.
    public init(
        trustRoots: TrustRoots = .system,
        verification: Verification = .full,
        serverName: String? = nil,
        certificateChainFile: String? = nil,
        privateKeyFile: String? = nil
    ) {
        self.trustRoots = trustRoots
        self.verification = verification
        self.serverName = serverName
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
    }

    /// Full verification against the system's trust store, no client certificate: what `rediss://` means.
    public static let `default` = RedisTLSConfiguration()
}
