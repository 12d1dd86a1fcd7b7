/// What a ``Relay`` knows about its listener channel, and the rules for it, as a value: whether the producer
/// acknowledged, when the last message came, how many watchdog checks in a row found the producer gone, and
/// whether its probe came back. The clock is read by the caller and passed in.
struct RelayStateMachine {
    /// What to do after a message arrived.
    enum MessageAction: Equatable {
        /// The producer's first message, its acknowledgement: signal the ack and join the watchdog.
        case acknowledgeAndJoinWatchdog
        /// Nothing beyond relaying it.
        case relay
    }

    /// What to do after a watchdog check of the producer.
    enum ProducerCheckAction: Equatable {
        /// Keep waiting: the producer listens, or has not failed twice in a row, or the relay concludes already.
        case keepWaiting
        /// The second failed check in a row: conclude the silence, once.
        case concludeSilence
    }

    /// Whether the producer's first message (its acknowledgement) arrived.
    private(set) var isAcknowledged = false
    /// When the last message arrived (or the relay started).
    private(set) var lastMessage: ContinuousClock.Instant
    /// Watchdog checks in a row that found the relay silent and nobody listening for requests.
    private(set) var strikes = 0
    /// Whether ``producerChecked(listening:)`` answered ``ProducerCheckAction/concludeSilence`` already.
    private(set) var isConcluding = false
    /// Whether the relay's probe came back through its channel.
    private(set) var isProbeReceived = false

    /// A relay that started listening at `start`.
    init(startedAt start: ContinuousClock.Instant) {
        lastMessage = start
    }

    /// A message (not the probe) arrived at `now`.
    mutating func messageReceived(at now: ContinuousClock.Instant) -> MessageAction {
        lastMessage = now
        defer { isAcknowledged = true }
        return isAcknowledged ? .relay : .acknowledgeAndJoinWatchdog
    }

    /// Whether nothing arrived for `interval` up to `now`; a relay that heard something starts counting strikes
    /// again.
    mutating func checkSilence(at now: ContinuousClock.Instant, interval: Duration) -> Bool {
        let silent = now - lastMessage >= interval
        if !silent { strikes = 0 }
        return silent
    }

    /// Records a check of a silent relay's producer: whether anyone still listens on the request channel.
    mutating func producerChecked(listening: Bool) -> ProducerCheckAction {
        strikes = listening ? 0 : strikes + 1
        guard strikes >= 2, !isConcluding else { return .keepWaiting }
        isConcluding = true
        return .concludeSilence
    }

    /// The silence had another cause (Redis stalled while the producer kept listening): strikes count from zero,
    /// and a later silence can be concluded again.
    mutating func resumeWatching() {
        strikes = 0
        isConcluding = false
    }

    /// The relay asked its producer again at `now` (a recovery, on a fresh listener channel): the producer's
    /// answer is on its way, so silence counts from here, and so do failed checks.
    mutating func recoveryRequested(at now: ContinuousClock.Instant) {
        lastMessage = now
        strikes = 0
    }

    /// The relay's own probe came back through its channel.
    mutating func probeReceived() {
        isProbeReceived = true
    }
}
