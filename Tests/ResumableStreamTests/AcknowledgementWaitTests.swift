import Clocks
import RedisBridge
import Testing

@testable import ResumableStream

/// A relay's wait for the acknowledgement: the first outcome stands, whether it came before the wait or during
/// it; the deadline and the waiting task's cancellation end it unacknowledged; and its deadline's task ends
/// with it.
@Suite("A relay's wait for the acknowledgement", .timeLimit(.minutes(1)))
struct AcknowledgementWaitTests {
    private let work = BackgroundWork()
    private let clock = TestClock()

    @Test(arguments: [true, false])
    func anOutcomeBeforeTheWaitIsTheAnswerAndTheFirstStands(_ isAcknowledged: Bool) async {
        let acknowledgement = AcknowledgementWait()
        acknowledgement.settle(isAcknowledged: isAcknowledged)
        acknowledgement.settle(isAcknowledged: !isAcknowledged)
        #expect(await acknowledgement.wait(within: .seconds(1), on: StreamClock(clock), work: work) == isAcknowledged)
        await work.finish()
    }

    @Test func theAcknowledgementEndsAWaitUnderWayAndItsDeadline() async {
        let acknowledgement = AcknowledgementWait()
        let waiting = Task { await acknowledgement.wait(within: .seconds(1), on: StreamClock(clock), work: work) }
        // The deadline's sleep is there once the wait is.
        await polled { work.runningCount == 1 }
        acknowledgement.settle(isAcknowledged: true)
        acknowledgement.settle(isAcknowledged: false)
        #expect(await waiting.value)
        await work.finish()
        #expect(work.runningCount == 0)
    }

    @Test func theDeadlineEndsTheWaitUnacknowledged() async {
        let acknowledgement = AcknowledgementWait()
        let waiting = Task { await acknowledgement.wait(within: .seconds(1), on: StreamClock(clock), work: work) }
        await polled { work.runningCount == 1 }
        await clock.advance(by: .milliseconds(999))
        acknowledgement.settle(isAcknowledged: true)
        let early = await waiting.value
        // A second wait: this time the deadline comes first, and a late acknowledgement changes nothing.
        let late = AcknowledgementWait()
        let outcome = Locked<Bool?>(nil)
        Task { outcome.withLock { [value = await late.wait(within: .seconds(1), on: StreamClock(clock), work: work)] in $0 = value } }
        // Stepwise: the deadline's sleep starts when its task runs, which a single advance could precede.
        for _ in 0..<100 where outcome.withLock({ $0 }) == nil {
            await clock.advance(by: .milliseconds(250))
            try? await Task.sleep(for: .milliseconds(5))
        }
        #expect(outcome.withLock { $0 } == false)
        late.settle(isAcknowledged: true)
        #expect(early)
        await work.finish()
    }

    @Test func cancellingTheWaitingTaskEndsTheWaitUnacknowledged() async {
        let acknowledgement = AcknowledgementWait()
        let waiting = Task { await acknowledgement.wait(within: .seconds(60), on: StreamClock(clock), work: work) }
        await polled { work.runningCount == 1 }
        waiting.cancel()
        #expect(await waiting.value == false)
        await work.finish()
        #expect(work.runningCount == 0)
    }

    /// Waits until `condition` holds, for at most 5 s, asking every millisecond.
    private func polled(_ condition: () -> Bool) async {
        for _ in 0..<5000 where !condition() { try? await Task.sleep(for: .milliseconds(1)) }
    }
}
