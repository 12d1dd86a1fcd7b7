/// A producer's claim of a stream id: what ``ResumableStreamPublisher/claim(_:)`` does in one atomic step.
///
/// A claim starts a new life of the id (a generation): the sentinel says it runs, the generation key names
/// its producer (which fences everything that producer writes later), what an earlier life left is deleted,
/// and, if an earlier life's generation key was there, the new generation is announced on the request
/// channel, so that an earlier producer that still listens stops answering requests from that message on.
///
/// The backend mints the new generation from ``generation`` (16 lowercase hex digits): its first 13 digits
/// become the backend's clock (seconds and microseconds, 8 and 5 digits), and the result is larger than the
/// generation it replaces (one more, if the clock says otherwise), so that generations of an id are ordered by
/// when they were claimed, on one clock. The outcome says which generation the claim stored.
public struct StreamClaim: Sendable, Hashable {
    /// How a claim treats a sentinel that exists.
    public enum Mode: Sendable, Hashable {
        /// The idempotent API: claims the id only if its sentinel is absent (`SET NX` with the expiry);
        /// otherwise counts the caller with `INCR`, as the TypeScript package does, and claims nothing.
        case ifAbsent
        /// `createNewResumableStream`: claims the id whatever its sentinel holds.
        case replacing
        /// A producer whose keys Redis lost (a restart without persistence) or let expire (it stalled) writes
        /// them again for its own ``StreamClaim/generation``, which is stored as it is: it claims the id if
        /// nobody holds it (keeping what it left, its log included), and takes it over from an older generation
        /// that wrote its keys again first (deleting what that one left, and announcing itself); a newer
        /// generation, or a sentinel without a generation key (a TypeScript producer), keeps the id. Generations
        /// compare as 16-digit hex numbers.
        case reclaiming
    }

    /// How the claim treats a sentinel that exists.
    public var mode: Mode
    /// The sentinel key: `"1"` with ``expiresIn`` once claimed.
    public var sentinel: String
    /// The generation key: ``generation`` with ``expiresIn`` once claimed.
    public var generationKey: String
    /// A fresh token the backend mints the new generation from (see above); for ``Mode/reclaiming``, the
    /// producer's own generation.
    public var generation: String
    /// The running expiry of the sentinel and the generation key.
    public var expiresIn: Duration
    /// What an earlier life of the id left (how it ended, its retained text, its durable log, a stop request
    /// aimed at it): deleted once claimed (by ``Mode/reclaiming`` only when it takes the id over from an older
    /// generation).
    public var staleKeys: [String]
    /// The request channel, where the new generation is announced when an earlier generation key was there.
    public var requests: String
    /// The announcement's text before the new generation.
    public var announcementPrefix: String
    /// The announcement's text after the new generation.
    public var announcementSuffix: String

    /// A claim of the keys and channel given, in `mode`, from `generation`.
    public init(
        mode: Mode, sentinel: String, generationKey: String, generation: String, expiresIn: Duration, staleKeys: [String], requests: String,
        announcementPrefix: String, announcementSuffix: String
    ) {
        self.mode = mode
        self.sentinel = sentinel
        self.generationKey = generationKey
        self.generation = generation
        self.expiresIn = expiresIn
        self.staleKeys = staleKeys
        self.requests = requests
        self.announcementPrefix = announcementPrefix
        self.announcementSuffix = announcementSuffix
    }

    /// The announcement of `generation`.
    public func announcement(of generation: String) -> String {
        announcementPrefix + generation + announcementSuffix
    }
}

/// What a ``StreamClaim`` found.
public enum StreamClaimOutcome: Sendable, Hashable {
    /// The id is claimed for `generation`, which the caller produces. `announced`: an earlier generation's key
    /// was there, so the claim announced the new one, and the producer answers requests from its announcement on
    /// (those before it were for the earlier producer).
    case claimed(generation: String, announced: Bool)
    /// A producer runs the stream (``StreamClaim/Mode/ifAbsent``): the caller follows it. For
    /// ``StreamClaim/Mode/reclaiming``: another producer holds the id.
    case running
    /// The stream finished (``StreamClaim/Mode/ifAbsent`` only: `INCR` failed on `DONE`).
    case done
}

/// What a stop request found (``ResumableStreamPublisher/storeStopRequest(sentinel:generationKey:flag:expiresIn:)``).
public enum StreamStopTarget: Sendable, Hashable {
    /// No stream with this id: nothing was stored.
    case absent
    /// The stream finished: nothing was stored.
    case done
    /// A stream runs; the request was stored for its generation if its generation key names one (`nil`: a
    /// producer that writes no generation key, such as a TypeScript one).
    case running(generation: String?)
}
