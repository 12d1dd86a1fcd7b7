import Testing

@testable import RedisBridge

/// Ports come from configurations, cluster redirects and Sentinel replies; one outside 1...65535 (a typo, a
/// hostile server, someone on the path) is a ``RedisError``, never a trap in a narrowing conversion.
@Suite("Ports out of range", .timeLimit(.minutes(1)))
struct PortRangeTests {
    static let hostilePorts = [0, 65536, Int(Int32.max) + 1, Int.max, -1]

    @Test func sentinelRepliesWithPortsOutOfRangeAreRefused() throws {
        for port in Self.hostilePorts.map(String.init) + ["99999999999999999999", "6379x"] {
            let reply = RedisValue.array([.bulkString(Array("10.0.0.1".utf8)), .bulkString(Array(port.utf8))])
            #expect(throws: BlockingConnectionError.self, "port \(port)") { try SentinelDiscovery.primaryAddress(fromReply: reply) }
        }
        let valid = RedisValue.array([.bulkString(Array("10.0.0.1".utf8)), .bulkString(Array("6380".utf8))])
        #expect(try SentinelDiscovery.primaryAddress(fromReply: valid) == RedisAddress(host: "10.0.0.1", port: 6380))
    }

    @Test(arguments: [false, true])
    func configuredPortsOutOfRangeFailToConnect(tls: Bool) async {
        for port in Self.hostilePorts {
            let configuration = RedisConfiguration(
                endpoint: .tcp(host: "127.0.0.1", port: port), connectTimeout: .seconds(1), tls: tls ? .default : nil)
            let commands = RedisCommandConnection(configuration: configuration)
            await #expect(throws: RedisError.connectionFailed("port \(port) of 127.0.0.1 is out of range (1...65535)")) {
                try await commands.connect()
            }
            await commands.close()
        }
    }
}
