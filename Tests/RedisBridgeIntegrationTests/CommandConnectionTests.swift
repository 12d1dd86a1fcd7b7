import RedisBridge
import RedisTestSupport
import Testing

@Suite("Command connection against a real Redis", .timeLimit(.minutes(1)))
struct CommandConnectionTests {
    @Test func everyTypedCommandRoundTrips() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            let key = uniqueName()
            #expect(try await commands.incr(key) == 1)
            #expect(try await commands.incr(key) == 2)
            #expect(try await commands.get(key) == "2")
            #expect(try await commands.get(uniqueName()) == nil)

            try await commands.set(key, to: "héllo ✓", expiresIn: .seconds(100))
            #expect(try await commands.get(key) == "héllo ✓")
            let ttl = try #require(try await commands.send(["TTL", .string(key)]).int)
            #expect((95...100).contains(ttl))

            // Milliseconds are kept (PX): what is left is 10,500 less the time the two commands took, measured
            // here rather than assumed (a loaded machine once took 588 ms). Whole seconds either way would give at
            // most 10,000 or more than 10,500.
            let started = ContinuousClock.now
            try await commands.set(key, to: "short", expiresIn: .milliseconds(10_500))
            let pttl = try #require(try await commands.send(["PTTL", .string(key)]).int)
            let elapsed = Int(((ContinuousClock.now - started) / .milliseconds(1)).rounded(.up))
            #expect((10_500 - elapsed - 1...10_500).contains(pttl), "\(elapsed) ms")

            #expect(try await commands.expire(key, after: .seconds(50)))
            #expect((49...50).contains(try #require(try await commands.send(["TTL", .string(key)]).int)))
            #expect(try await !commands.expire(uniqueName(), after: .seconds(5)))

            #expect(try await commands.publish("nobody listens", to: uniqueName()) == 0)
            #expect(try await commands.del([key, uniqueName()]) == 1)
            #expect(try await commands.get(key) == nil)
        }
    }

    @Test func genericSendReturnsEveryReplyType() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            let key = uniqueName()
            #expect(try await commands.send(["SET", .string(key), "v"]) == .simpleString("OK"))
            #expect(try await commands.send(["GET", .string(key)]) == .bulkString(Array("v".utf8)))
            #expect(try await commands.send(["GET", .string(uniqueName())]) == .null)
            #expect(try await commands.send(["STRLEN", .string(key)]) == .integer(1))
            let list = uniqueName()
            _ = try await commands.send(["RPUSH", .string(list), "a", "b"])
            #expect(try await commands.send(["LRANGE", .string(list), "0", "-1"]) == .array([.bulkString([97]), .bulkString([98])]))
            _ = try await commands.del([key, list])
        }
    }

    @Test func errorRepliesThrowTheServersMessage() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            let key = uniqueName()
            try await commands.set(key, to: "DONE")
            await #expect(throws: RedisError.server("ERR value is not an integer or out of range")) {
                try await commands.incr(key)
            }
            // The connection is still usable afterwards.
            #expect(try await commands.get(key) == "DONE")
            _ = try await commands.del([key])
        }
    }

    @Test func tenThousandConcurrentCommandsGetTheirOwnReplies() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            let prefix = uniqueName()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<100 {
                    group.addTask {
                        for index in 0..<100 {
                            let value = "\(prefix)-\(task)-\(index)"
                            let reply = try await commands.send(["ECHO", .string(value)])
                            #expect(reply.string == value)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func pipelineKeepsOrderAndPerCommandErrors() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            let counter = uniqueName()
            let text = uniqueName()
            let results = try await commands.pipeline([
                ["INCR", .string(counter)],
                ["SET", .string(text), "x"],
                ["INCR", .string(text)],
                ["INCR", .string(counter)],
            ])
            #expect(try results[0].get() == .integer(1))
            #expect(try results[1].get() == .simpleString("OK"))
            #expect(throws: RedisError.server("ERR value is not an integer or out of range")) { try results[2].get() }
            #expect(try results[3].get() == .integer(2))
            _ = try await commands.del([counter, text])
        }
    }

    @Test func commandsSentWithoutWaitingKeepTheirOrder() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            let list = uniqueName()
            for index in 0..<1000 { commands.sendWithoutWaiting(["RPUSH", .string(list), .string(String(index))]) }
            let stored = try await commands.send(["LRANGE", .string(list), "0", "-1"])
            #expect(stored == .array((0..<1000).map { .bulkString(Array(String($0).utf8)) }))
            _ = try await commands.del([list])
        }
    }

    @Test func binaryValuesRoundTripByteExact() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            let key = uniqueName()
            let payload: [UInt8] = [0, 1, 0xFF, 0xFE, 0xC3, 0x28, 0x00, 0x0D, 0x0A, 0x24, 0x2A] + Array(0...255)
            _ = try await commands.send(["SET", .bytes(Array(key.utf8)), .bytes(payload)])
            #expect(try await commands.send(["GET", .string(key)]) == .bulkString(payload))
            _ = try await commands.del([key])
        }
    }

    @Test func eightMebibyteValueRoundTrips() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            let key = uniqueName()
            let payload = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            _ = try await commands.send(["SET", .string(key), .bytes(payload)])
            #expect(try await commands.send(["STRLEN", .string(key)]) == .integer(8 << 20))
            #expect(try await commands.send(["GET", .string(key)]) == .bulkString(payload))
            _ = try await commands.del([key])
        }
    }

    @Test func closedConnectionRejectsCommands() async throws {
        let commands = RedisCommandConnection(configuration: try sharedConfiguration())
        #expect(try await commands.incr(uniqueName()) == 1)
        await commands.close()
        await #expect(throws: RedisError.closed) { try await commands.get("x") }
    }
}
