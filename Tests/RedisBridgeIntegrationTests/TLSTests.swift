import Foundation
import RedisTestSupport
import Testing

@testable import RedisBridge

/// `rediss://` against Debian's `redis-server` on a TLS port, with certificates made by `openssl` for the run:
/// verification, mutual TLS, refusals with clear errors, a restart, and nothing left behind.
@Suite("TLS to Redis", .serialized, .enabled(if: !usesExternalRedis, "starts TLS servers of its own"), .timeLimit(.minutes(1)))
struct TLSTests {
    static let certificates = Result { try TestCertificates() }

    /// A server with TLS and a password, and the `rediss://` configuration that trusts its CA.
    func withTLSServer(
        requireClientCertificates: Bool = false, expired: Bool = false,
        _ body: (RedisServer, RedisConfiguration, TestCertificates) async throws -> Void
    ) async throws {
        let certificates = try Self.certificates.get()
        let server = try await RedisServer.start(
            extraArguments: ["--requirepass", "tls-secret"],
            tls: certificates.serverArguments(expired: expired, requireClientCertificates: requireClientCertificates))
        defer { try? server.stop() }
        var configuration = try RedisConfiguration(url: "rediss://:tls-secret@localhost:\(server.tlsPort!)")
        configuration.tls?.trustRoots = .file(path: certificates.caFile)
        configuration.connectTimeout = .seconds(3)
        try await body(server, configuration, certificates)
    }

    /// The error of connecting with `configuration`; fails the test if it connects or takes over `limit`.
    func connectionError(_ configuration: RedisConfiguration, within limit: Duration = .seconds(3)) async -> RedisError? {
        let commands = RedisCommandConnection(configuration: configuration)
        let started = ContinuousClock.now
        var failure: RedisError?
        do {
            try await commands.connect()
            Issue.record("connected, but should have been refused")
        } catch {
            #expect(ContinuousClock.now - started < limit)
            failure = error as? RedisError
        }
        await commands.close()
        return failure
    }

    /// The reason of a TLS error; `nil` for any other.
    static func tlsReason(_ error: (any Error)?) -> String? {
        guard let error = error as? RedisError, error.code == .tls else { return nil }
        return error.reason
    }

    /// PING's answer over a new connection with `configuration`.
    func ping(_ configuration: RedisConfiguration) async throws -> String? {
        try await withConnections(configuration) { commands, _ in try await commands.send(["PING"]).string }
    }

    @Test func commandsAuthAndLargeValuesGoThroughTLSUnchanged() async throws {
        try await withTLSServer { _, configuration, _ in
            try await withConnections(configuration) { commands, _ in
                let key = uniqueName()
                // 4 MiB, not ASCII at the edges: many TLS records and many buffer fills each way.
                let value = "é" + String(repeating: "0123456789abcdef", count: 256 * 1024) + "😀"
                try await commands.set(key, to: value)
                let read = try await commands.get(key)
                #expect(read?.utf8.count == value.utf8.count)
                #expect(read == value, "the value came back changed")
                // A pipeline of many small commands: replies in order, none lost.
                let counter = uniqueName()
                let replies = try await commands.pipeline((0..<5000).map { _ in ["INCR", .string(counter)] })
                #expect(replies.map { try? $0.get().int } == (1...5000).map { Optional($0) })
            }
        }
    }

    @Test func publishAndSubscribeOverTLSDeliverEveryMessageInOrder() async throws {
        try await withTLSServer { _, configuration, _ in
            try await withConnections(configuration) { commands, subscriber in
                let channel = uniqueName()
                let subscription = try await subscriber.subscribe(to: channel)
                var messages = subscription.makeAsyncIterator()
                let count = 10_000
                async let published: Void = {
                    for index in 0..<count { _ = try await commands.publish("message \(index) · ✓", to: channel) }
                }()
                var inOrder = true
                for index in 0..<count where await messages.next() != .message(Array("message \(index) · ✓".utf8)) {
                    inOrder = false
                }
                try await published
                #expect(inOrder)
            }
        }
    }

    @Test func aServerFromAnotherCAIsRefusedWithAClearError() async throws {
        try await withTLSServer { server, configuration, certificates in
            var untrusting = configuration
            untrusting.tls?.trustRoots = .file(path: certificates.otherCAFile)
            let error = await connectionError(untrusting)
            guard let reason = Self.tlsReason(error) else { Issue.record("not a TLS error: \(String(describing: error))"); return }
            #expect(reason.contains("certificate was refused"), "\(reason)")
            // The password never appears, and no socket is left open to the server.
            #expect(!"\(error!)".contains("tls-secret"))
            #expect(await eventually { openSockets(toPort: server.tlsPort!) == 0 })
        }
    }

    @Test func anExpiredCertificateIsRefused() async throws {
        try await Self.certificates.get().waitUntilExpired()
        try await withTLSServer(expired: true) { _, configuration, _ in
            guard let reason = Self.tlsReason(await connectionError(configuration)) else { Issue.record("not a TLS error"); return }
            #expect(reason.contains("expired"), "\(reason)")
        }
    }

    @Test func theServerNameIsChecked() async throws {
        try await withTLSServer { server, configuration, _ in
            var wrongName = configuration
            wrongName.tls?.serverName = "redis.example.com"
            guard let reason = Self.tlsReason(await connectionError(wrongName)) else { Issue.record("not a TLS error"); return }
            #expect(reason.contains("hostname mismatch"), "\(reason)")
            // By IP address, the certificate's IP entry is what is checked.
            var byAddress = configuration
            byAddress.endpoint = .tcp(host: "127.0.0.1", port: server.tlsPort!)
            let pong = try await ping(byAddress)
            #expect(pong == "PONG")
        }
    }

    @Test func skippingVerificationIsExplicitAndConnectsToAnUntrustedServer() async throws {
        try await withTLSServer { _, configuration, _ in
            // The system store does not know the test CA: refused by default...
            var system = configuration
            system.tls?.trustRoots = .system
            guard Self.tlsReason(await connectionError(system)) != nil else { Issue.record("an unknown CA was accepted"); return }
            // ...and accepted only when verification is switched off by name.
            var insecure = try RedisConfiguration(url: "rediss://:tls-secret@127.0.0.1:\(configuration.port)?ssl_cert_reqs=none")
            insecure.connectTimeout = .seconds(3)
            let pong = try await ping(insecure)
            #expect(pong == "PONG")
        }
    }

    @Test func mutualTLSNeedsTheClientCertificate() async throws {
        try await withTLSServer(requireClientCertificates: true) { _, configuration, certificates in
            var withCertificate = configuration
            withCertificate.tls?.certificateChainFile = certificates.clientCertificateFile
            withCertificate.tls?.privateKeyFile = certificates.clientKeyFile
            let pong = try await ping(withCertificate)
            #expect(pong == "PONG")
            // Without it the server ends the connection (in TLS 1.3 right after the handshake): an error, not a hang.
            #expect(await connectionError(configuration) != nil)
        }
    }

    @Test func aMissingKeyFileOrAPlainPortGiveClearErrors() async throws {
        try await withTLSServer { server, configuration, certificates in
            var missingKey = configuration
            missingKey.tls?.certificateChainFile = certificates.clientCertificateFile
            missingKey.tls?.privateKeyFile = certificates.directory + "/no-such.key"
            guard let reason = Self.tlsReason(await connectionError(missingKey)) else { Issue.record("not a TLS error"); return }
            #expect(reason.contains("no-such.key"), "\(reason)")
            // TLS to the plain port: Redis waits for the end of a line that never comes, and the handshake is
            // bounded by the connect timeout.
            var plainPort = configuration
            plainPort.endpoint = .tcp(host: "localhost", port: server.port)
            plainPort.connectTimeout = .milliseconds(500)
            let error = await connectionError(plainPort, within: .seconds(2))
            #expect(error == .connectTimeout(.milliseconds(500)), "\(String(describing: error))")
        }
    }

    @Test func aRestartedServerIsReconnectedOverTLS() async throws {
        try await withTLSServer { server, configuration, _ in
            try await withConnections(configuration) { commands, subscriber in
                let channel = uniqueName()
                let subscription = try await subscriber.subscribe(to: channel)
                var events = subscription.makeAsyncIterator()
                _ = try await commands.publish("before", to: channel)
                #expect(await events.next() == .message(Array("before".utf8)))
                try await server.restart()
                // The subscriber reconnects and subscribes again by itself, then hears new messages.
                #expect(await events.next() == .resubscribed)
                #expect(
                    await eventually { (try? await commands.publish("after", to: channel)) == 1 })
                #expect(await events.next() == .message(Array("after".utf8)))
            }
        }
    }

    /// Every descriptor of a TLS connection (the tunnel's socket to the server, hiredis's end of the local
    /// socket, the tunnel's end, and the watchers' duplicates of each) is close-on-exec.
    @Test func tlsSocketsAreCloseOnExec() async throws {
        try await withTLSServer { server, configuration, _ in
            try await withConnections(configuration) { commands, subscriber in
                try await commands.connect()
                let subscription = try await subscriber.subscribe(to: uniqueName())
                let toServer = socketDescriptors(toPort: server.tlsPort!)
                let local = socketDescriptors(unixPathContaining: LocalSocketHandover.directoryPrefix)
                // Per connection: the tunnel's socket and its two watchers' duplicates; on the local socket,
                // hiredis's end and the adapter's two duplicates, the tunnel's end and its watchers' two.
                #expect(toServer.count >= 6)
                #expect(local.count >= 12)
                for socket in toServer + local {
                    #expect(socket.closeOnExec, "descriptor \(socket.descriptor) is inherited by child processes")
                }
                _ = subscription
            }
        }
    }

    @Test func closedConnectionsLeaveNoSocketOrDirectoryBehind() async throws {
        try await withTLSServer { server, configuration, _ in
            let directories = { () -> Int in
                let entries = (try? FileManager.default.contentsOfDirectory(atPath: LocalSocketHandover.directoryBase)) ?? []
                return entries.filter { $0.hasPrefix(LocalSocketHandover.directoryPrefix) }.count
            }
            for _ in 0..<20 {
                try await withConnections(configuration) { commands, subscriber in
                    _ = try await commands.send(["PING"])
                    _ = try await subscriber.subscribe(to: uniqueName())
                }
            }
            #expect(await eventually { openSockets(toPort: server.tlsPort!) == 0 })
            #expect(await eventually { (try? await clientCount(of: server, password: "tls-secret")) == 0 })
            #expect(directories() == 0)
        }
    }
}

extension RedisConfiguration {
    /// The TCP port of the endpoint.
    fileprivate var port: Int {
        guard case .tcp(_, let port) = endpoint else { return 0 }
        return port
    }
}
