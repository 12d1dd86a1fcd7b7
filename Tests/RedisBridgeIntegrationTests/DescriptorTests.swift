import RedisTestSupport
import Testing

@testable import RedisBridge

#if canImport(Glibc)
import Glibc
#endif

/// No descriptor of the bridge outlives an `exec`: a child process must not inherit an authenticated Redis
/// connection.
@Suite("Descriptors", .enabled(if: !usesExternalRedis, "starts a server of its own"), .timeLimit(.minutes(1)))
struct DescriptorTests {
    /// Every socket to the server (hiredis's, the event sources' duplicates, the blocking connection's) is
    /// close-on-exec.
    @Test func socketsToTheServerAreCloseOnExec() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        try await withConnections(try RedisConfiguration(url: server.url)) { commands, subscriber in
            try await commands.connect()
            let subscription = try await subscriber.subscribe(to: uniqueName())
            let blocking = try BlockingConnection(to: RedisAddress(host: server.host, port: server.port), timeout: .seconds(2))
            _ = try blocking.command(["PING"])
            let sockets = socketDescriptors(toPort: server.port)
            // Two async connections of three descriptors each (the context's and two duplicates), and one more.
            #expect(sockets.count >= 7)
            for socket in sockets { #expect(socket.closeOnExec, "descriptor \(socket.descriptor) is inherited by child processes") }
            _ = subscription
        }
    }

    /// The TLS tunnel's local handover accepts only a connection from this very process (hiredis's).
    @Test func theHandoverRefusesPeersOfOtherProcesses() async throws {
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { pair.forEach { _ = close($0) } }
        #expect(throws: Never.self) { try LocalSocketHandover.checkPeer(of: pair[0]) }
        // The peer of a connection to a redis-server's unix socket is another process of the same user.
        let server = try await RedisServer.start(unixSocket: true)
        defer { try? server.stop() }
        let path = try #require(server.unixSocketPath)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { _ = close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(connected == 0)
        #expect(throws: RedisError.self) { try LocalSocketHandover.checkPeer(of: descriptor) }
    }
}
