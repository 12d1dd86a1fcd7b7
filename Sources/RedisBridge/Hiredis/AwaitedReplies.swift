import DequeModule

/// What a connection waits for from Redis: the replies of the commands it sent, in order (Redis answers in
/// order), and the confirmations of its subscription commands, also in order (one per channel, or one error
/// for the command); and since when it has heard nothing, for the reply timeout (hiredis 0.14 has none).
struct AwaitedReplies {
    /// A subscription command sent, with the channels whose confirmation has not come yet.
    private struct SentSubscription {
        let command: SubscriptionCommand
        var channels: ArraySlice<String>
    }

    private var replies = Deque<PendingReply>()
    /// The most replies awaited at once since the queue was last empty: after a burst of pipelined commands
    /// the queue's storage is given back rather than kept for the next one.
    private var highWater = 0
    private var subscriptions = Deque<SentSubscription>()
    /// When the connection last heard from Redis, or started waiting (`DispatchTime` nanoseconds).
    private var lastProgress: UInt64 = 0

    /// Whether anything is awaited.
    var isWaiting: Bool { !replies.isEmpty || !subscriptions.isEmpty }

    /// A command was sent; its reply goes to `reply`.
    mutating func append(_ reply: PendingReply, now: UInt64) {
        startWaiting(now: now)
        replies.append(reply)
        highWater = max(highWater, replies.count)
    }

    /// `command` was sent for `channels`: a confirmation push comes for each, or an error for the command.
    mutating func subscriptionSent(_ command: SubscriptionCommand, channels: [String], now: UInt64) {
        guard !channels.isEmpty else { return }
        startWaiting(now: now)
        subscriptions.append(SentSubscription(command: command, channels: channels[...]))
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

    /// A confirmation push of `command` for `channel` arrived: whether a command sent awaited it. Only a
    /// `sunsubscribe` comes unasked: the server's own, when the channel's slot moved to another node.
    mutating func confirmationReceived(_ command: SubscriptionCommand, channel: String) -> Bool {
        guard var first = subscriptions.first, first.command == command, first.channels.first == channel else { return false }
        first.channels.removeFirst()
        if first.channels.isEmpty { subscriptions.removeFirst() } else { subscriptions[subscriptions.startIndex] = first }
        return true
    }

    /// An error reply arrived for a subscription command (the server refused it): the channels it named that
    /// were not confirmed. A redirect (`MOVED`) names the slot it is about: one that is not the slot of the
    /// first command's channel answers a command whose confirmation was taken already (a node that gave a slot
    /// away unsubscribes its channels itself, and then refuses a `SUNSUBSCRIBE` of them that crossed), and is
    /// dropped.
    mutating func subscriptionRefused(redirectedSlot: Int?) -> [String] {
        guard let first = subscriptions.first else { return [] }
        if let redirectedSlot, let channel = first.channels.first, HashSlot.of(channel) != redirectedSlot { return [] }
        subscriptions.removeFirst()
        return Array(first.channels)
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
        subscriptions = Deque()
        return replies
    }

    /// Silence is measured from the moment the connection starts waiting for something.
    private mutating func startWaiting(now: UInt64) {
        if !isWaiting { lastProgress = now }
    }
}
