import Testing

@testable import RedisBridge

@Suite("The lock that guards shared state", .timeLimit(.minutes(1)))
struct LockedTests {
    @Test func concurrentUpdatesAreNeverLost() async {
        let counter = Locked(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<10_000 { counter.withLock { $0 += 1 } } }
            }
        }
        #expect(counter.withLock { $0 } == 80_000)
    }

    @Test func errorsThrownInsideReleaseTheLock() {
        struct Refused: Error {}
        let value = Locked("before")
        #expect(throws: Refused.self) { try value.withLock { _ throws(Refused) in throw Refused() } }
        value.withLock { $0 = "after" }
        #expect(value.withLock { $0 } == "after")
    }
}
