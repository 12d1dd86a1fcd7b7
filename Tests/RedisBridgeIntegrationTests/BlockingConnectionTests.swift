import RedisTestSupport
import Testing

@testable import RedisBridge

/// The short-lived blocking connection that asks Sentinel for the primary and probes cluster seeds.
@Suite("Blocking connection", .timeLimit(.minutes(1)))
struct BlockingConnectionTests {
    func connect() throws -> BlockingConnection {
        let server = try SharedRedis.server
        return try BlockingConnection(to: RedisAddress(host: server.host, port: server.port), timeout: .seconds(2))
    }

    /// Arguments go out as exactly their bytes: a NUL inside one (a password, say) neither ends it early nor
    /// sends whatever follows it in memory.
    @Test func argumentsWithNULBytesGoOutExactly() throws {
        let connection = try connect()
        for value in ["a\u{0}b", "\u{0}", "pass\u{0}word with é and 😀\u{0}", ""] {
            _ = try connection.command(["SET", "test:blocking-connection:nul", .string(value)])
            #expect(try connection.command(["GET", "test:blocking-connection:nul"]) == .bulkString(Array(value.utf8)))
        }
        _ = try connection.command(["DEL", "test:blocking-connection:nul"])
    }

    /// A port outside 1...65535 (say from a hostile Sentinel reply) is an error, not a trap.
    @Test func portsOutOfRangeAreErrors() {
        for port in [0, 65536, Int(Int32.max) + 1, Int.max, -1] {
            #expect(throws: BlockingConnectionError.self, "port \(port)") {
                _ = try BlockingConnection(to: RedisAddress(host: "127.0.0.1", port: port), timeout: .seconds(1))
            }
        }
        #expect(SeedProbe.firstAnswering([RedisAddress(host: "127.0.0.1", port: Int.max)], timeout: .seconds(1)) == nil)
    }
}
