/// The sentinel key of one stream (`P:sentinel:<id>`), the meta key that records how a finished stream ended,
/// and the key that retains a finished stream's text: every read and write of them, with the TypeScript
/// package's commands and values.
///
/// The sentinel is absent before a stream exists and after it expired; it holds a count of callers (or
/// `"1"`) while a producer runs, and ``WireProtocol/doneValue`` once the stream finished.
struct Sentinel: Sendable {
    /// What the sentinel says about the stream.
    enum State: Equatable, Sendable {
        /// No stream with this id: never created, or expired.
        case absent
        /// A producer runs it.
        case running
        /// It finished.
        case done
    }

    /// What ``join()`` found.
    enum Join: Equatable, Sendable {
        /// The stream finished: `INCR` failed on `DONE`.
        case done
        /// A producer runs it; the caller follows.
        case running
        /// The sentinel expired since ``create()`` and `INCR` recreated it, now with the running expiry: the
        /// caller produces the stream.
        case recreated
    }

    /// The stream's keys: the sentinel, the meta key, and the generation key that fences the producer's writes.
    let keys: StreamKeys
    /// The command connection.
    let publisher: any ResumableStreamPublisher
    /// The expiry while a producer runs (``ResumableStreamConfiguration/runningTTL``).
    let runningTTL: Duration
    /// The expiry once finished (``ResumableStreamConfiguration/doneTTL``).
    let doneTTL: Duration
    /// How long a finished stream's text is kept (``ResumableStreamConfiguration/finishedStreamRetention``),
    /// never longer than the `DONE` it belongs to.
    let retention: Duration?

    /// The sentinel of the stream with `keys`, with the expiries of `configuration`.
    init(keys: StreamKeys, publisher: any ResumableStreamPublisher, configuration: ResumableStreamConfiguration) {
        self.keys = keys
        self.publisher = publisher
        runningTTL = configuration.runningTTL
        doneTTL = configuration.doneTTL
        retention = configuration.finishedStreamRetention.map { min($0, configuration.doneTTL) }
    }

    /// The state, with one `GET`.
    func state() async throws -> State {
        switch try await publisher.value(of: keys.sentinel) {
        case nil: .absent
        case WireProtocol.doneValue?: .done
        default: .running
        }
    }

    /// Creates the sentinel for a new producer (`SET NX` with the running expiry): whether it was absent, and
    /// if so whether a stop request is stored for the stream, in one step.
    func create() async throws -> (created: Bool, isStopStored: Bool) {
        let claim = try await publisher.setIfAbsent(keys.sentinel, to: "1", expiresIn: runningTTL, checking: keys.stopFlag)
        return (claim.created, claim.flagExists)
    }

    /// The TypeScript path after ``create()`` found a sentinel: `INCR` counts the callers and fails on `DONE`; a
    /// count of 1 means the sentinel expired in between and `INCR` recreated it without expiry, which gets the
    /// running one (`EXPIRE`).
    func join() async throws -> Join {
        guard let count = try await publisher.increment(keys.sentinel) else { return .done }
        guard count == 1 else { return .running }
        try await publisher.setExpiry(of: keys.sentinel, to: runningTTL)
        return .recreated
    }

    /// Marks the stream running for a producer that replaces whatever ran (`SET` with the running expiry), and
    /// forgets how an earlier stream of the id ended and its text (`DEL` of the meta and text keys).
    func markRunning() async throws {
        try await publisher.setValue("1", for: keys.sentinel, expiresIn: runningTTL)
        try await publisher.delete(keys.meta)
        try await publisher.delete(keys.text)
    }

    /// Extends a running sentinel by the running expiry (and the generation key with it, if it holds `token`),
    /// in one step, unless the stream finished or the generation key names another producer. Returns whether
    /// the sentinel got the expiry.
    func refresh(fencedBy token: String) async throws -> Bool {
        try await publisher.extendExpiry(
            of: keys.sentinel, to: runningTTL, unlessItHolds: WireProtocol.doneValue, fencedBy: keys.generation, token: token)
    }

    /// Marks the stream finished with the done expiry, unless the generation key names another producer than
    /// `token`, in one step: `DONE`, the meta key for an ending other than completed (TypeScript consumers take
    /// `DONE` as completed and never read it), and with a retention the stream's whole `text`. Returns whether
    /// the sentinel was set.
    func finalise(as ending: StreamEnding, fencedBy token: String, text: @autoclosure () -> String) async throws -> Bool {
        var values = [(key: keys.sentinel, value: WireProtocol.doneValue, expiresIn: doneTTL)]
        if ending != .completed { values.append((keys.meta, ending.json, doneTTL)) }
        if let retention { values.append((keys.text, text(), retention)) }
        return try await publisher.setValues(values, fencedBy: keys.generation, token: token)
    }

    /// A finished stream's retained text, if it was kept and has not expired.
    func retainedText() async throws -> String? {
        try await publisher.value(of: keys.text)
    }

    /// How a finished stream (or one whose DONE message was lost) really ended, from the meta key; completed
    /// when it is absent, as for a TypeScript producer, or unreadable.
    func ending() async -> StreamEnding {
        guard let json = try? await publisher.value(of: keys.meta), let ending = StreamEnding(json: json) else {
            return .completed
        }
        return ending
    }
}
