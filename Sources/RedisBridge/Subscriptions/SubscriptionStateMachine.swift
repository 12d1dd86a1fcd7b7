/// The channels of a subscriber connection and their local subscribers, as a value: each event is a transition
/// that returns what the ``SubscriptionRegistry`` must do (send `SUBSCRIBE` or `UNSUBSCRIBE`, confirm, deliver,
/// finish).
///
/// One server-side subscription per channel, however many local subscribers (hiredis replaces the callback of
/// a repeated `SUBSCRIBE`); `UNSUBSCRIBE` once the last one leaves; `SUBSCRIBE` again after a reconnection.
/// A channel's server-side status:
///
/// ```
/// pending ─(SUBSCRIBE sent)─► subscribing ─(confirmed)─► active ─(last subscriber left)─► unsubscribing
///    ▲                                                                                        │
///    └───(connection lost with confirmed subscribers, or a subscriber came while unsubscribing)┘
/// ```
///
/// Generic over the subscriber, so that tests drive it with plain values; `id`s tell subscribers apart.
struct SubscriptionStateMachine<Subscriber> {
    enum ChannelStatus: Equatable {
        /// Waiting for a ready connection to send `SUBSCRIBE`.
        case pending
        /// `SUBSCRIBE` sent, confirmation not yet received.
        case subscribing
        case active
        /// `UNSUBSCRIBE` sent, confirmation not yet received.
        case unsubscribing
    }

    /// A local subscriber and whether its subscription was confirmed (it receives messages from then on).
    struct Member {
        let id: Int
        let subscriber: Subscriber
        var isConfirmed = false
    }

    struct Channel {
        var status = ChannelStatus.pending
        var members: [Member] = []
        /// The confirmed subscribers, in the order they were confirmed: who gets each message.
        var receivers: [Subscriber] = []
    }

    private(set) var channels: [String: Channel] = [:]
    private(set) var isClosed = false

    // MARK: subscribers

    enum AddAction {
        /// The connection is closed: finish the subscriber with ``RedisError/closed``.
        case finishClosed
        /// The channel is already active: the subscription is confirmed.
        case confirm
        /// Send `SUBSCRIBE` for the new channel now.
        case subscribe(String)
        /// A new channel and no ready connection: start connecting (the channel is subscribed once ready).
        case startConnecting
        /// The channel's subscription is under way: the confirmation will come.
        case wait
    }

    mutating func add(_ subscriber: Subscriber, id: Int, to name: String, isConnectionReady: Bool) -> AddAction {
        guard !isClosed else { return .finishClosed }
        var member = Member(id: id, subscriber: subscriber)
        guard var channel = channels[name] else {
            var channel = Channel()
            channel.members = [member]
            if isConnectionReady { channel.status = .subscribing }
            channels[name] = channel
            return isConnectionReady ? .subscribe(name) : .startConnecting
        }
        let isActive = channel.status == .active
        member.isConfirmed = isActive
        channel.members.append(member)
        if isActive { channel.receivers.append(subscriber) }
        channels[name] = channel
        return isActive ? .confirm : .wait
    }

    enum RemoveAction {
        case none
        /// Finish the subscriber; send `UNSUBSCRIBE` for the channel if `unsubscribe` names it.
        case finish(Subscriber, unsubscribe: String?)
    }

    /// A subscriber leaves (its sequence ended or its `subscribe` call was cancelled).
    mutating func remove(id: Int, from name: String, isConnectionReady: Bool) -> RemoveAction {
        guard var channel = channels[name], let index = channel.members.firstIndex(where: { $0.id == id }) else {
            return .none
        }
        let member = channel.members.remove(at: index)
        if member.isConfirmed { channel.receivers = channel.members.filter(\.isConfirmed).map(\.subscriber) }
        channels[name] = channel
        let unsubscribe = channel.members.isEmpty ? release(name, isConnectionReady: isConnectionReady) : nil
        return .finish(member.subscriber, unsubscribe: unsubscribe)
    }

    /// The connection closes for good: every subscriber, to finish with ``RedisError/closed``.
    mutating func closeAll() -> [Subscriber] {
        isClosed = true
        defer { channels = [:] }
        return channels.values.flatMap { $0.members.map(\.subscriber) }
    }

    // MARK: the connection

    /// A (re)connection is ready: the pending channels, to `SUBSCRIBE` now.
    mutating func connectionReady() -> [String] {
        let names = channels.filter { $0.value.status == .pending }.map(\.key)
        for name in names { channels[name]?.status = .subscribing }
        return names
    }

    /// Sending `SUBSCRIBE` failed: the channels wait for the next connection.
    mutating func subscribeFailed(_ names: [String]) {
        for name in names { channels[name]?.status = .pending }
    }

    /// Sending `UNSUBSCRIBE` failed: the connection is going away, and the channel with it.
    mutating func unsubscribeFailed(_ name: String) {
        channels[name] = nil
    }

    /// The connection dropped: the subscribers still waiting for their first confirmation, to fail with the
    /// drop's error (so that a `subscribe` call never outlives the connection it was sent on: a server that
    /// accepts connections but never answers cannot hold it forever). Confirmed subscribers stay, and their
    /// channels are subscribed again on the next connection.
    mutating func connectionLost() -> [Subscriber] {
        dropUnconfirmedSubscribers { _ in true }
    }

    /// A connection attempt failed: the subscribers waiting for it, to fail with the attempt's error.
    /// Subscriptions that were confirmed before wait for the next attempt.
    mutating func attemptFailed() -> [Subscriber] {
        dropUnconfirmedSubscribers { $0.status == .pending }
    }

    // MARK: sharded channels that move

    /// A sharded channel's slot is served by another node now (the server refused it with `MOVED`, or
    /// unsubscribed it when the slot moved, or this node failed): the channel leaves this connection, and its
    /// members, confirmed or not, go to the connection of the node that serves it (``adopt(_:to:isConnectionReady:)``).
    mutating func removeChannel(_ name: String) -> [Member] {
        channels.removeValue(forKey: name)?.members ?? []
    }

    /// What to do for members that came from another node's connection.
    enum AdoptAction {
        /// Send `SUBSCRIBE` for the channel now.
        case subscribe(String)
        /// No ready connection: start connecting (the channel is subscribed once ready).
        case startConnecting
        /// The channel's subscription is under way: its confirmation serves them too.
        case wait
        /// The channel is active here already: confirm the unconfirmed members, and tell the confirmed ones
        /// that messages may have been lost during the move.
        case active(SubscribedAction)
        /// The connection is closed: finish them with ``RedisError/closed``.
        case finishClosed([Subscriber])
    }

    /// Takes in `members` of `name` from another node's connection: confirmed members stay confirmed, and are
    /// told of the move (``SubscribedAction/resubscribed``) once this node confirms the channel.
    mutating func adopt(_ members: [Member], to name: String, isConnectionReady: Bool) -> AdoptAction {
        guard !isClosed else { return .finishClosed(members.map(\.subscriber)) }
        guard var channel = channels[name] else {
            var channel = Channel()
            channel.members = members
            if isConnectionReady { channel.status = .subscribing }
            channels[name] = channel
            return isConnectionReady ? .subscribe(name) : .startConnecting
        }
        guard channel.status == .active else {
            channel.members += members
            channels[name] = channel
            return .wait
        }
        var action = SubscribedAction()
        for var member in members {
            if member.isConfirmed { action.resubscribed.append(member.subscriber) } else { action.confirm.append(member.subscriber) }
            member.isConfirmed = true
            channel.members.append(member)
            channel.receivers.append(member.subscriber)
        }
        channels[name] = channel
        return .active(action)
    }

    // MARK: pushes

    /// The subscribers that receive a message published to `name`.
    func receivers(of name: String) -> [Subscriber] {
        channels[name]?.receivers ?? []
    }

    struct SubscribedAction {
        /// Subscribers whose subscription is now confirmed.
        var confirm: [Subscriber] = []
        /// Subscribers confirmed before a reconnection: messages published meanwhile were lost.
        var resubscribed: [Subscriber] = []
        /// Send `UNSUBSCRIBE` for this channel: everyone left while it was being subscribed.
        var unsubscribe: String?
    }

    /// Redis confirmed a `SUBSCRIBE`.
    mutating func subscribed(_ name: String) -> SubscribedAction {
        guard var channel = channels[name], channel.status == .subscribing else { return SubscribedAction() }
        channel.status = .active
        var action = SubscribedAction()
        for index in channel.members.indices {
            if channel.members[index].isConfirmed {
                action.resubscribed.append(channel.members[index].subscriber)
            } else {
                channel.members[index].isConfirmed = true
                action.confirm.append(channel.members[index].subscriber)
            }
        }
        channel.receivers = channel.members.map(\.subscriber)
        channels[name] = channel
        if channel.members.isEmpty { action.unsubscribe = release(name, isConnectionReady: true) }
        return action
    }

    /// Redis confirmed an `UNSUBSCRIBE`: the channel to `SUBSCRIBE` again if someone subscribed meanwhile and
    /// the connection is ready (hiredis needs the round trip finished before that).
    mutating func unsubscribed(_ name: String, isConnectionReady: Bool) -> String? {
        guard let channel = channels[name], channel.status == .unsubscribing else { return nil }
        if channel.members.isEmpty {
            channels[name] = nil
            return nil
        }
        channels[name]?.status = isConnectionReady ? .subscribing : .pending
        return isConnectionReady ? name : nil
    }

    // MARK: private

    /// Removes the unconfirmed subscribers of the `selected` channels and returns them; those channels wait for
    /// the next connection, or are gone if nobody is left.
    private mutating func dropUnconfirmedSubscribers(of selected: (Channel) -> Bool) -> [Subscriber] {
        var dropped: [Subscriber] = []
        for (name, channel) in channels where selected(channel) {
            dropped += channel.members.filter { !$0.isConfirmed }.map(\.subscriber)
            let confirmed = channel.members.filter(\.isConfirmed)
            if confirmed.isEmpty {
                channels[name] = nil
            } else {
                channels[name]?.members = confirmed
                channels[name]?.status = .pending
            }
        }
        return dropped
    }

    /// The last subscriber left: the channel to `UNSUBSCRIBE`, if it has a server-side subscription to end now.
    private mutating func release(_ name: String, isConnectionReady: Bool) -> String? {
        switch channels[name]?.status {
        case .active? where isConnectionReady:
            channels[name]?.status = .unsubscribing
            return name
        case .active?, .pending?:
            channels[name] = nil
            return nil
        case .subscribing?, .unsubscribing?, nil:
            return nil  // decided when the confirmation arrives
        }
    }
}
