/// The tunables of a ``ResumableStreamContext``. The defaults keep the wire protocol of the TypeScript
/// package `resumable-stream`, so Swift and TypeScript services can resume each other's streams.
public struct ResumableStreamConfiguration: Sendable, Hashable {
    /// The key prefix; keys and channels live under `<keyPrefix>:rs`. Default `resumable-stream`, as in
    /// TypeScript.
    public var keyPrefix: String
    /// The sentinel's expiry while its producer runs, refreshed every third of it, so that the id of a
    /// crashed producer becomes usable again (TypeScript leaves that key without expiry). Default 5 minutes.
    public var runningTTL: Duration
    /// The sentinel's expiry once the stream is done (`DONE`). Default 24 hours, as in TypeScript.
    public var doneTTL: Duration
    /// How long a consumer keeps asking for the producer's acknowledgement before it gives up with
    /// ``ResumableStreamResult/producerUnreachable`` (TypeScript: a fixed 1 s, one attempt). Default 2 s.
    public var ackTimeout: Duration
    /// The wait for an acknowledgement before asking again on a fresh listener id; it doubles per attempt.
    /// Default 200 ms.
    public var ackRetryInterval: Duration
    /// How often a consumer that receives nothing checks that its producer still listens. Two failed checks
    /// in a row end it (with the stream's real ending if the `DONE` message was lost). A check that cannot
    /// reach Redis fails, so a follower whose Redis is gone ends with ``ResumableStreamError/interrupted``
    /// within three intervals plus the Redis connect or command timeout. Default 2 s.
    public var watchdogInterval: Duration
    /// The most characters (UTF-16 code units) a producer buffers for replays; past it the stream fails with
    /// ``ResumableStreamError/bufferLimitExceeded(_:)``. Default `nil`, no limit (as in TypeScript).
    public var maxBufferedCharacters: Int?
    /// The most text (UTF-8 bytes) a follower in this process holds for a reader that has not read it yet.
    /// A reader that falls further behind gets what is held and then ``ResumableStreamError/followerTooSlow(_:)``;
    /// it resumes from the characters it read and loses nothing. The producer, other followers and other streams
    /// never wait for a slow reader, and the shared subscriber connection is always read at once, so Redis's
    /// pub/sub output-buffer limit never closes it. A replay counts too: a reader that resumes a stream longer than
    /// this must keep up with Redis. `nil`: no limit. Default 16 MiB.
    public var followerBacklogLimit: Int?
    /// Flow control for this process's followers of Swift producers: the most text (UTF-16 code units) a
    /// producer sends a follower beyond what the follower confirmed receiving (it confirms every half window,
    /// with a `PUBLISH` on the request channel). It bounds what one follower can have in flight in Redis's
    /// output buffer of the subscriber connection that every stream of the process shares, so that a fast
    /// stream with many followers cannot make Redis close it under the others; what is held back goes out as
    /// the follower confirms, merged into few messages. Followers of TypeScript producers and TypeScript
    /// followers have no flow control. At least 1 Ki; `nil`: no limit. Default 64 Ki.
    public var followerWindow: Int?
    /// The largest message a replay is published in, in UTF-16 code units. A large replay goes out in pieces
    /// of this size (TypeScript consumers concatenate them), so that it cannot trip Redis's pub/sub output
    /// buffer limit on the shared subscriber connection. Default 64 Ki.
    public var replayPieceSize: Int
    /// How long a finished stream's whole text stays in Redis (`P:text:<id>`, at most ``doneTTL``), so that
    /// any instance serves the rest of it to a client that comes back after the end: a resume that says where
    /// the client is (a `skipCharacters`) gets ``ResumableStreamResult/finished(_:)``. It is written in the
    /// same step that marks the stream `DONE`, at no extra command; it costs Redis the text's bytes for that
    /// long. `nil`: nothing is kept, as in TypeScript. Default `nil`.
    public var finishedStreamRetention: Duration?
    /// A durable log of each stream this context produces (see ``DurableLog``), from which any instance resumes
    /// a stream whose producer died, up to its last append, and the rest of a finished stream. `nil`: no log,
    /// as in TypeScript. Default `nil`.
    public var durableLog: DurableLog?
    /// How long a producer goes on answering resume requests after its stream finished, with the rest of the
    /// text and the end, before it stops listening: a follower that missed the end in a Redis reconnect asks
    /// again from its offset and still gets everything. It costs no command, only a later `UNSUBSCRIBE`; the
    /// shutdown cuts it short. Default 2 s.
    public var lingerAfterFinish: Duration
    /// Whether every key and the request channel of a stream put its id in a hash tag (`P:sentinel:{id}`), so
    /// a stream's keys share a Redis Cluster slot and one script may touch them all. An id that already has
    /// a hash tag (`{chat-42}`, as a TypeScript service on a cluster writes ids) is used as it is, so both
    /// languages name the same keys. On by itself when the Redis endpoint is a cluster. Default `false`.
    public var wrapsStreamIDsInHashTags: Bool
    /// How long a stop request waits, stored, for the producer it was aimed at to reconnect and read it (a
    /// producer whose connection to Redis was coming back when it was published). Default 60 s.
    public var stopRequestTTL: Duration
    /// How long running producers may take to finish when the context runs as a service and the service
    /// group shuts down gracefully. Default 30 s.
    public var shutdownGracePeriod: Duration

    /// The defaults, with `keyPrefix` as given.
    public init(
        keyPrefix: String = "resumable-stream",
        runningTTL: Duration = .seconds(300),
        doneTTL: Duration = .seconds(24 * 60 * 60),
        ackTimeout: Duration = .seconds(2),
        ackRetryInterval: Duration = .milliseconds(200),
        watchdogInterval: Duration = .seconds(2),
        maxBufferedCharacters: Int? = nil,
        followerBacklogLimit: Int? = 16 * 1024 * 1024,
        replayPieceSize: Int = 64 * 1024,
        followerWindow: Int? = 64 * 1024,
        finishedStreamRetention: Duration? = nil,
        durableLog: DurableLog? = nil,
        stopRequestTTL: Duration = .seconds(60),
        shutdownGracePeriod: Duration = .seconds(30),
        lingerAfterFinish: Duration = .seconds(2),
        wrapsStreamIDsInHashTags: Bool = false
    ) {
        self.keyPrefix = keyPrefix
        self.runningTTL = runningTTL
        self.doneTTL = doneTTL
        self.ackTimeout = ackTimeout
        self.ackRetryInterval = ackRetryInterval
        self.watchdogInterval = watchdogInterval
        self.maxBufferedCharacters = maxBufferedCharacters
        self.followerBacklogLimit = followerBacklogLimit.map { max(1, $0) }
        self.replayPieceSize = max(2, replayPieceSize)
        self.followerWindow = followerWindow.map { max(RequestMessage.windowRange.lowerBound, min($0, RequestMessage.windowRange.upperBound)) }
        self.stopRequestTTL = stopRequestTTL
        self.shutdownGracePeriod = shutdownGracePeriod
        self.lingerAfterFinish = lingerAfterFinish
        self.finishedStreamRetention = finishedStreamRetention
        self.durableLog = durableLog
        self.wrapsStreamIDsInHashTags = wrapsStreamIDsInHashTags
    }
}
