/// What a ``Relay`` knows about its stream and its listener channel, and the rules for it, as a value: its
/// phase (waiting for the producer's acknowledgement, relaying, concluding a silence), the listener channel it
/// reads, where a Swift producer's frames started and what the follower confirmed, when the last message came,
/// how many watchdog checks in a row found the producer gone, and whether its probe came back. The clock is
/// read by the caller and passed in.
struct RelayStateMachine {
    /// Where the relay is in its life.
    enum Phase: Equatable {
        /// No message yet: the producer has not acknowledged the request.
        case awaitingAcknowledgement
        /// Relaying. `strikes`: watchdog checks in a row that found the relay silent and nobody listening for
        /// requests.
        case relaying(strikes: Int)
        /// The second failed check in a row: the relay finds out why its producer went silent, and ends (or,
        /// if the producer still listens, goes back to relaying).
        case concluding
    }

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

    private(set) var phase = Phase.awaitingAcknowledgement
    /// The listener id whose channel is read now (a recovery moves to a fresh one).
    private(set) var listenerID: String
    /// With frames (a Swift producer, so the follower knows the length of what it must get): where the
    /// producer's answer starts in the stream. `nil` for plain text.
    private(set) var startOffset: Int?
    /// With frames: the offset up to which the follower confirmed receiving the stream, the base of the
    /// producer's window (``ResumableStreamConfiguration/followerWindow``).
    private(set) var confirmed: Int?
    /// Whether the last confirmation's publish failed: the watchdog's next round sends it again.
    private(set) var isConfirmationLost = false
    /// When the last message arrived (or the relay started).
    private(set) var lastMessage: ContinuousClock.Instant
    /// Whether the relay's probe came back through its channel.
    private(set) var isProbeReceived = false

    /// A relay that started listening on the channel of `listenerID` at `start`.
    init(listenerID: String, startedAt start: ContinuousClock.Instant) {
        self.listenerID = listenerID
        lastMessage = start
    }

    /// Whether the producer's first message (its acknowledgement) arrived.
    var isAcknowledged: Bool { phase != .awaitingAcknowledgement }

    /// Watchdog checks in a row that found the relay silent and nobody listening for requests.
    var strikes: Int {
        if case .relaying(let strikes) = phase { return strikes }
        return 0
    }

    /// Whether ``producerChecked(listening:)`` answered ``ProducerCheckAction/concludeSilence`` and the relay
    /// has not gone back to relaying.
    var isConcluding: Bool { phase == .concluding }

    /// A message (not the probe) arrived at `now`.
    mutating func messageReceived(at now: ContinuousClock.Instant) -> MessageAction {
        lastMessage = now
        guard phase == .awaitingAcknowledgement else { return .relay }
        phase = .relaying(strikes: 0)
        return .acknowledgeAndJoinWatchdog
    }

    /// The producer's first message was a frame of the stream, whose text starts at `offset`: the follower
    /// knows where it is from now on, and has confirmed nothing past it.
    mutating func framesBegan(at offset: Int) {
        startOffset = offset
        confirmed = offset
    }

    /// Whether nothing arrived for `interval` up to `now`; a relay that heard something starts counting strikes
    /// again.
    mutating func checkSilence(at now: ContinuousClock.Instant, interval: Duration) -> Bool {
        let silent = now - lastMessage >= interval
        if !silent, case .relaying = phase { phase = .relaying(strikes: 0) }
        return silent
    }

    /// Records a check of a silent relay's producer: whether anyone still listens on the request channel.
    mutating func producerChecked(listening: Bool) -> ProducerCheckAction {
        guard case .relaying(let strikes) = phase else { return .keepWaiting }
        let now = listening ? 0 : strikes + 1
        guard now >= 2 else {
            phase = .relaying(strikes: now)
            return .keepWaiting
        }
        phase = .concluding
        return .concludeSilence
    }

    /// The silence had another cause (Redis stalled while the producer kept listening): strikes count from zero,
    /// and a later silence can be concluded again.
    mutating func resumeWatching() {
        precondition(phase == .concluding, "resumed watching without concluding")
        phase = .relaying(strikes: 0)
    }

    /// The relay moved to the channel of `listenerID` to ask its producer again from `offset` (a recovery):
    /// confirmations count from there.
    mutating func recovering(on listenerID: String, from offset: Int) {
        self.listenerID = listenerID
        confirmed = offset
    }

    /// The recovery's request went out at `now`: the producer's answer is on its way, so silence counts from
    /// here, and so do failed checks.
    mutating func recoveryRequested(at now: ContinuousClock.Instant) {
        lastMessage = now
        if case .relaying = phase { phase = .relaying(strikes: 0) }
    }

    /// The follower received the stream up to `offset`: the listener id to confirm it for, once that is half
    /// of `window` past the last confirmation; `nil` if no confirmation is due (or the producer sends no
    /// frames).
    mutating func confirmationDue(upTo offset: Int, window: Int) -> String? {
        guard let confirmed, offset - confirmed >= window / 2 else { return nil }
        self.confirmed = offset
        isConfirmationLost = false
        return listenerID
    }

    /// The last confirmation's publish failed.
    mutating func confirmationLost() {
        isConfirmationLost = true
    }

    /// The confirmation to send again, if the last one's publish failed.
    mutating func lostConfirmation() -> (listenerID: String, offset: Int)? {
        guard isConfirmationLost, let confirmed else { return nil }
        isConfirmationLost = false
        return (listenerID, confirmed)
    }

    /// The relay's own probe came back through its channel.
    mutating func probeReceived() {
        isProbeReceived = true
    }
}
