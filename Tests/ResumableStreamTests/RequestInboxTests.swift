import RedisBridge
import Testing

@testable import ResumableStream

/// The request inbox on the in-process backend: what comes before the producer serves waits for it, messages are
/// served one at a time and in order, and the inbox unsubscribes when its server says so or when it is closed.
@Suite("A producer's request inbox", .timeLimit(.minutes(1)))
struct RequestInboxTests {
    private let backend = InMemoryBackend()
    private let work = BackgroundWork()

    @Test func messagesThatCameFirstWaitAndAreServedInOrderOneAtATime() async throws {
        let inbox = try await RequestInbox.subscribe(to: "requests", on: backend, work: work)
        for name in ["a", "b", "c"] { #expect(try await backend.publishMessage(name, to: "requests") == 1) }
        let served = Locked<(names: [String], inFlight: Int, most: Int)>(([], 0, 0))
        inbox.serve { message in
            served.withLock { served in
                served.inFlight += 1
                served.most = max(served.most, served.inFlight)
            }
            try? await Task.sleep(for: .milliseconds(5))
            served.withLock { served in
                if case .message(let name) = message { served.names.append(name) }
                served.inFlight -= 1
            }
            return true
        }
        #expect(try await backend.publishMessage("d", to: "requests") == 1)
        #expect(await polled { served.withLock(\.names.count) == 4 })
        #expect(served.withLock(\.names) == ["a", "b", "c", "d"])
        #expect(served.withLock(\.most) == 1)
        inbox.close()
        await work.finish()
    }

    @Test func aServerThatSaysNoMoreClosesTheInbox() async throws {
        let inbox = try await RequestInbox.subscribe(to: "requests", on: backend, work: work)
        let served = Locked<[String]>([])
        inbox.serve { message in
            guard case .message(let name) = message else { return true }
            served.withLock { $0.append(name) }
            return name != "replaced"
        }
        _ = try await backend.publishMessage("replaced", to: "requests")
        #expect(await polled { (try? await backend.subscriberCount(of: "requests")) == 0 })
        #expect(try await backend.publishMessage("later", to: "requests") == 0)
        await work.finish()
        #expect(served.withLock { $0 } == ["replaced"])
    }

    @Test func closingUnsubscribesAndDropsWhatWaits() async throws {
        let inbox = try await RequestInbox.subscribe(to: "requests", on: backend, work: work)
        _ = try await backend.publishMessage("unserved", to: "requests")
        inbox.close()
        #expect(await polled { (try? await backend.subscriberCount(of: "requests")) == 0 })
        let served = Locked(0)
        inbox.serve { _ in
            served.withLock { $0 += 1 }
            return true
        }
        await work.finish()
        #expect(served.withLock { $0 } == 0)
    }

    /// Whether `condition` holds within 5 s, asked every 10 ms.
    private func polled(_ condition: () async -> Bool) async -> Bool {
        for _ in 0..<500 {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}
