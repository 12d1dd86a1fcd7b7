import Foundation

/// Certificates for TLS tests, made with the `openssl` command in a temporary directory: a CA, a server
/// certificate for `localhost` and `127.0.0.1` signed by it, the same server with an expired certificate, a
/// client certificate for mutual TLS, and a second CA that vouches for nothing here. EC keys (P-256), so
/// making them takes a fraction of a second.
public final class TestCertificates: Sendable {
    /// The directory holding every file; removed when the object goes.
    public let directory: String
    /// The CA that signed the server and client certificates (PEM).
    public var caFile: String { "\(directory)/ca.pem" }
    /// A CA that signed nothing here: trusting only it must refuse the server.
    public var otherCAFile: String { "\(directory)/other-ca.pem" }
    /// The server's certificate, valid for `localhost` and `127.0.0.1`.
    public var serverCertificateFile: String { "\(directory)/server.pem" }
    /// The server's private key.
    public var serverKeyFile: String { "\(directory)/server.key" }
    /// A server certificate for the same names whose validity ended when it was made.
    public var expiredServerCertificateFile: String { "\(directory)/expired.pem" }
    /// The client's certificate, for mutual TLS.
    public var clientCertificateFile: String { "\(directory)/client.pem" }
    /// The client's private key.
    public var clientKeyFile: String { "\(directory)/client.key" }

    /// Makes every certificate; throws if `openssl` is missing or fails.
    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("certificates-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: "\(directory)/server.ext", atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(toFile: "\(directory)/client.ext", atomically: true, encoding: .utf8)
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.openssl(in: directory, ["req", "-x509"] + key + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test CA"])
        try Self.openssl(
            in: directory, ["req", "-x509"] + key + ["-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=Other CA"])
        try Self.openssl(in: directory, ["req"] + key + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"])
        // `-days 0`: valid from now until now, expired from the next second on (``waitUntilExpired()``).
        for (name, days) in [("expired", "0"), ("server", "2")] {
            try Self.openssl(
                in: directory,
                [
                    "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                    "-out", "\(name).pem", "-days", days, "-extfile", "server.ext",
                ])
        }
        try Self.openssl(in: directory, ["req"] + key + ["-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=client"])
        try Self.openssl(
            in: directory,
            [
                "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.pem",
                "-days", "2", "-extfile", "client.ext",
            ])
        madeAt = Date()
    }

    private let madeAt: Date

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Waits until the expired certificate's end (its second of making) has passed.
    public func waitUntilExpired() async throws {
        let remaining = 1.1 - Date().timeIntervalSince(madeAt)
        if remaining > 0 { try await Task.sleep(for: .milliseconds(Int(remaining * 1000))) }
    }

    /// `redis-server` arguments for TLS with these certificates (`--tls-port` comes from the harness):
    /// the expired certificate if `expired`, and client certificates required if `requireClientCertificates`.
    public func serverArguments(expired: Bool = false, requireClientCertificates: Bool = false) -> [String] {
        [
            "--tls-cert-file", expired ? expiredServerCertificateFile : serverCertificateFile, "--tls-key-file", serverKeyFile,
            "--tls-ca-cert-file", caFile, "--tls-auth-clients", requireClientCertificates ? "yes" : "no",
        ]
    }

    private static func openssl(in directory: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RedisServer.Failure.command("openssl \(arguments.first ?? "") failed: \(text)")
        }
    }
}
