import Foundation
import RedisTestSupport
import Testing

@testable import RedisBridge

/// `redis-sentinel://` and `rediss-sentinel://` against a real group (a primary, a replica, three sentinels on
/// loopback ports; TLS-only links between them for the latter).
@Suite("Redis Sentinel", .enabled(if: !usesExternalRedis, "starts a Sentinel group of its own"), .timeLimit(.minutes(1)))
struct SentinelTests {
    @Test(arguments: [false, true])
    func connectionsFindThePrimaryThroughTheSentinelsAndFollowAFailover(overTLS: Bool) async throws {
        let group = try await SentinelGroup.start(certificates: overTLS ? try TestCertificates() : nil)
        defer { group.stop() }
        // The first sentinel listed is gone: the next one answers.
        let gonePort = try RedisServer.freePort()
        var configuration = try RedisConfiguration(url: group.url.replacingOccurrences(of: "://", with: "://127.0.0.1:\(gonePort),"))
        configuration.connectTimeout = .seconds(2)
        configuration.commandTimeout = .seconds(2)
        if let certificates = group.certificates {
            // The sentinels are verified as a rediss:// server is: a CA that vouches for none of them is refused.
            var untrusted = configuration
            untrusted.tls?.trustRoots = .file(path: certificates.otherCAFile)
            if case .sentinel(var sentinel) = untrusted.endpoint {
                sentinel.tls?.trustRoots = .file(path: certificates.otherCAFile)
                untrusted.endpoint = .sentinel(sentinel)
            }
            let refused = RedisCommandConnection(configuration: untrusted)
            let refusal = await #expect(throws: RedisError.self) { try await refused.connect() }
            #expect(refusal.map { "\($0)".contains("the server's certificate was refused") } == true, "\(String(describing: refusal))")
            await refused.close()
        }

        try await withConnections(configuration) { commands, subscriber in
            let key = uniqueName()
            try await commands.set(key, to: "on the primary")
            #expect(try await group.primary.cli(["GET", key]) == "on the primary")
            let channel = uniqueName()
            let subscription = try await subscriber.subscribe(to: channel)
            var events = subscription.makeAsyncIterator()

            // A failover the sentinels are told to make: the primary becomes a replica, the replica the primary.
            let started = ContinuousClock.now
            _ = try await group.sentinels[0].cli(["SENTINEL", "FAILOVER", group.name])
            #expect(await eventually(within: .seconds(20)) { (try? await group.currentPrimaryPort()) == group.port(of: group.replica) })
            let named = ContinuousClock.now
            // Writes reach the new primary as soon as the sentinels announce it (`+switch-master`, heard from the
            // sentinels that answer: the first one listed is gone), not when the old one is demoted, which the
            // sentinels do at their next look at it, up to 10 s later. (Until then it still takes writes, which
            // it then loses as it syncs from the new primary: Redis replicates asynchronously.)
            let moved = uniqueName()
            #expect(
                await eventually(within: .seconds(20)) {
                    guard (try? await commands.set(moved, to: "after the failover")) != nil else { return false }
                    return (try? await group.replica.cli(["GET", moved])) == "after the failover"
                })
            let followed = ContinuousClock.now - named
            print(
                "sentinel: writes reached the promoted replica \(ContinuousClock.now - started) after SENTINEL FAILOVER, \(followed) after the sentinels named it"
            )
            #expect(followed < .seconds(2), "the connection followed the failover \(followed) after the sentinels named the new primary")
            // The subscriber followed too: it subscribed again and hears what is published on the new primary.
            #expect(await eventually(within: .seconds(10)) { (try? await commands.publish("after", to: channel)) == 1 })
            var heard = false
            while let event = await events.next() {
                if event == .message(Array("after".utf8)) {
                    heard = true
                    break
                }
            }
            #expect(heard)
        }
    }

    /// A `+switch-master` announcement names the new address of the primary it is about; any other message,
    /// another primary's, or a port out of range (a hostile sentinel) names nothing.
    @Test func aSwitchAnnouncementIsReadForItsPrimaryOnly() {
        #expect(
            SentinelSwitchWatcher.newAddress(in: "mymaster 10.0.0.1 6379 10.0.0.2 6380", of: "mymaster") == RedisAddress(host: "10.0.0.2", port: 6380)
        )
        for message in [
            "other 10.0.0.1 6379 10.0.0.2 6380", "mymaster 10.0.0.1 6379 10.0.0.2 70000", "mymaster 10.0.0.2 6380", "", "mymaster a b c d",
        ] {
            #expect(SentinelSwitchWatcher.newAddress(in: message, of: "mymaster") == nil, "\(message)")
        }
    }

    /// The primary turned into a replica behind Sentinel's back (`REPLICAOF` another server): a write gets
    /// `-READONLY`, the connection drops to ask the sentinels again, and `ROLE` refuses the replica they still
    /// name, with a clear error, instead of sending writes to it.
    @Test func aDemotedPrimaryIsLeftOnReadOnlyAndRefusedByRole() async throws {
        let group = try await SentinelGroup.start(downAfter: .seconds(30))
        defer { group.stop() }
        let elsewhere = try await RedisServer.start()
        defer { try? elsewhere.stop() }
        var configuration = try RedisConfiguration(url: group.url)
        configuration.connectTimeout = .seconds(2)
        let commands = RedisCommandConnection(configuration: configuration)
        try await commands.set(uniqueName(), to: "on the primary")
        _ = try await group.primary.cli(["REPLICAOF", "127.0.0.1", String(elsewhere.port)])
        await #expect(throws: RedisError.server("READONLY You can't write against a read only replica.")) {
            try await commands.set(uniqueName(), to: "refused")
        }
        // The next attempt asks the sentinels, which still name the old primary, and ROLE refuses it.
        var refusal: RedisError?
        for _ in 0..<20 where refusal == nil {
            do {
                try await commands.set(uniqueName(), to: "refused")
            } catch let error as RedisError {
                if error.code == .connectionFailed, error.reason.contains("not the primary") { refusal = error }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(refusal != nil)
        await commands.close()
    }

    @Test func anUnknownPrimaryOrNoSentinelFailsClearlyWithinTheBound() async throws {
        let gonePort = try RedisServer.freePort()
        // A server that is no sentinel answers the question with an error: named in the reason.
        let notASentinel = try await RedisServer.start()
        defer { try? notASentinel.stop() }
        var configuration = try RedisConfiguration(url: "redis-sentinel://127.0.0.1:\(gonePort),127.0.0.1:\(notASentinel.port)/nowhere")
        configuration.connectTimeout = .seconds(1)
        let commands = RedisCommandConnection(configuration: configuration)
        let started = ContinuousClock.now
        do {
            try await commands.connect()
            Issue.record("connected without a sentinel")
        } catch let error as RedisError {
            guard error.code == .connectionFailed else { throw error }
            let reason = error.reason
            #expect(reason.contains("no sentinel named the primary 'nowhere'"), "\(reason)")
            #expect(reason.contains("127.0.0.1:\(gonePort): ") && reason.contains("127.0.0.1:\(notASentinel.port): "), "\(reason)")
        }
        #expect(ContinuousClock.now - started < .seconds(3))
        await commands.close()
    }
}
