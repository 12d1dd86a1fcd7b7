import RedisBridge

/// The sentinel key of one stream (`P:sentinel:<id>`), the meta key that records how a finished stream ended,
/// the key that retains a finished stream's text, the generation key and the stop flag: every read and write of
/// them, with the TypeScript package's commands and values.
///
/// The sentinel is absent before a stream exists and after it expired; it holds a count of callers (or
/// `"1"`) while a producer runs, and ``WireProtocol/doneValue`` once the stream finished.
struct StreamSentinel: Sendable {
    /// What the sentinel says about the stream.
    enum State: Equatable, Sendable {
        /// No stream with this id: never created, or expired.
        case absent
        /// A producer runs it.
        case running
        /// It finished.
        case done
    }

    /// The stream's keys: the sentinel, the meta key, the generation key that fences the producer's writes, and
    /// the stop flag.
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

    /// Claims the id for a new producer of `generation` (see ``StreamClaim``): with
    /// ``StreamClaim/Mode/ifAbsent``, only if no stream runs or finished under it (a caller that does not
    /// claim it is counted, as TypeScript's `INCR` does); with ``StreamClaim/Mode/replacing``, whatever ran.
    /// Either way, a claim forgets everything an earlier life of the id left: its ending, its text, its log
    /// and a stop request aimed at it.
    func claim(_ mode: StreamClaim.Mode, from token: StreamGeneration = .fresh()) async throws -> Claimed {
        let outcome = try await publisher.claim(
            StreamClaim(
                mode: mode, sentinel: keys.sentinel, generationKey: keys.generation, generation: token.hex, expiresIn: runningTTL,
                staleKeys: [keys.meta, keys.text, keys.log, keys.stopFlag], requests: keys.requests,
                announcementPrefix: RequestMessage.generationPrefix, announcementSuffix: RequestMessage.generationSuffix))
        switch outcome {
        case .claimed(let minted, let announced):
            guard let generation = StreamGeneration(hex: minted) else { throw RedisError.unexpectedReply("a claim's generation: \(minted)") }
            return .claimed(generation, announced: announced)
        case .running: return .running
        case .done: return .done
        }
    }

    /// What a claim found, with the generation it stored.
    enum Claimed: Equatable {
        /// The id is claimed for `generation`; `announced` as in ``StreamClaimOutcome/claimed(generation:announced:)``.
        case claimed(StreamGeneration, announced: Bool)
        /// A producer runs the stream (see ``StreamClaimOutcome/running``).
        case running
        /// The stream finished.
        case done
    }

    /// Claims the id again for the producer of `generation`, whose keys Redis lost (a restart without
    /// persistence) or let expire (the producer stalled), as ``StreamClaim/Mode/reclaiming`` does: if nobody
    /// holds it (its log and what else it left are kept), or an older generation wrote its keys again first.
    /// Returns whether the id is the producer's again.
    func reclaim(for generation: StreamGeneration) async throws -> Bool {
        if case .claimed = try await claim(.reclaiming, from: generation) { return true }
        return false
    }

    /// Stores a stop request for the generation that runs the stream (see
    /// ``ResumableStreamPublisher/storeStopRequest(sentinel:generationKey:flag:expiresIn:)``).
    func storeStopRequest(expiresIn: Duration) async throws -> StreamStopTarget {
        try await publisher.storeStopRequest(sentinel: keys.sentinel, generationKey: keys.generation, flag: keys.stopFlag, expiresIn: expiresIn)
    }

    /// Whether a stop request is stored for `generation`.
    func isStopStored(for generation: StreamGeneration) async throws -> Bool {
        try await publisher.value(of: keys.stopFlag) == generation.hex
    }

    /// Extends a running sentinel by the running expiry (and the generation key with it), in one step, unless
    /// the stream finished or the generation key names another generation than `generation`. Returns whether
    /// the sentinel got the expiry.
    func refresh(for generation: StreamGeneration) async throws -> Bool {
        try await publisher.extendExpiry(
            of: keys.sentinel, to: runningTTL, unlessItHolds: WireProtocol.doneValue, fencedBy: keys.generation, token: generation.hex)
    }

    /// Marks the stream finished with the done expiry, unless the generation key names another generation than
    /// `generation`, in one step: `DONE`, the meta key for an ending other than completed (TypeScript consumers take
    /// `DONE` as completed and never read it), and with a retention the stream's whole `text`; and the generation
    /// key, so that it is there again if Redis lost it (a restart without persistence) and the next claim
    /// announces itself to this producer. Returns whether the sentinel was set.
    func finalise(as ending: StreamEnding, for generation: StreamGeneration, text: @autoclosure () -> String) async throws -> Bool {
        var values = [
            (key: keys.sentinel, value: WireProtocol.doneValue, expiresIn: doneTTL), (keys.generation, generation.hex, doneTTL),
        ]
        if ending != .completed { values.append((keys.meta, ending.json, doneTTL)) }
        if let retention { values.append((keys.text, text(), retention)) }
        return try await publisher.setValues(values, fencedBy: keys.generation, token: generation.hex)
    }

    /// A finished stream's retained text and how it ended, read together in one step (they were written
    /// together), so that a claim and finish of a newer life in between cannot pair this text with its
    /// ending; `nil` if no text was kept or it expired.
    func retainedStream() async throws -> (text: String, ending: StreamEnding)? {
        let values = try await publisher.values(of: [keys.text, keys.meta])
        guard let text = values.first ?? nil else { return nil }
        return (text, Self.ending(fromMeta: values.last ?? nil))
    }

    /// How a finished stream (or one whose DONE message was lost) really ended, from the meta key; completed
    /// when it is absent, as for a TypeScript producer, or unreadable.
    func ending() async -> StreamEnding {
        Self.ending(fromMeta: try? await publisher.value(of: keys.meta))
    }

    private static func ending(fromMeta json: String?) -> StreamEnding {
        json.flatMap(StreamEnding.init(json:)) ?? .completed
    }
}
