import DequeModule

/// What a connection waits for from Redis: the replies of the commands it sent, in order (Redis answers in
/// order), and the confirmations of its `SUBSCRIBE`s and `UNSUBSCRIBE`s; and since when it has heard
/// nothing, for the reply timeout (hiredis 0.14 has none).
struct AwaitedReplies {
    private var replies = Deque<PendingReply>()
    /// The most replies awaited at once since the queue was last empty: after a burst of pipelined commands
    /// the queue's storage is given back rather than kept for the next one.
    private var highWater = 0
    private var confirmations = 0
    /// When the connection last heard from Redis, or started waiting (`DispatchTime` nanoseconds).
    private var lastProgress: UInt64 = 0

    /// Whether anything is awaited.
    var isWaiting: Bool { !replies.isEmpty || confirmations > 0 }

    /// A command was sent; its reply goes to `reply`.
    mutating func append(_ reply: PendingReply, now: UInt64) {
        startWaiting(now: now)
        replies.append(reply)
        highWater = max(highWater, replies.count)
    }

    /// `count` subscription changes were sent; a confirmation push comes for each.
    mutating func expectConfirmations(_ count: Int, now: UInt64) {
        startWaiting(now: now)
        confirmations += count
    }

    /// The next reply arrived: where it goes.
    mutating func popFirst() -> PendingReply? {
        let first = replies.popFirst()
        if replies.isEmpty, highWater > 1024 {
            replies = Deque()
            highWater = 0
        }
        return first
    }

    mutating func confirmationReceived() {
        confirmations = max(0, confirmations - 1)
    }

    /// Bytes arrived from Redis.
    mutating func progressed(now: UInt64) {
        lastProgress = now
    }

    /// Whether something is awaited and Redis has been silent for longer than `timeout`.
    func isOverdue(now: UInt64, timeout: Duration) -> Bool {
        isWaiting && now &- lastProgress > UInt64(max(0, timeout.nanoseconds))
    }

    /// Empties the queue (the connection is gone): the replies nobody will get, in order.
    mutating func removeAll() -> Deque<PendingReply> {
        defer { replies = Deque() }
        confirmations = 0
        return replies
    }

    /// Silence is measured from the moment the connection starts waiting for something.
    private mutating func startWaiting(now: UInt64) {
        if !isWaiting { lastProgress = now }
    }
}
