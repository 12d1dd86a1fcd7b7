import Testing

@testable import RedisBridge

/// Errors are values with a code to switch over and the detail of each case, and say what happened in words.
@Suite("Redis errors")
struct RedisErrorTests {
    @Test func anErrorKeepsItsCodeAndItsDetail() {
        let timeout = RedisError.commandTimeout(.milliseconds(400))
        #expect(timeout.code == .commandTimeout && timeout.timeout == .milliseconds(400))
        #expect(timeout.description == "Redis sent no reply within 0.4 seconds; the connection was reset")
        let refusal = RedisError.server("WRONGTYPE Operation against a key holding the wrong kind of value")
        #expect(refusal.code == .server && refusal.reason.hasPrefix("WRONGTYPE"))
        #expect(refusal != .server("another message") && refusal == .server(refusal.reason))
        let code: String =
            switch RedisError.closed.code {
            case .closed: "closed"
            default: "other"
            }
        #expect(code == "closed" && RedisError.Code.connectionLost.description == "connectionLost")
    }
}
