import Dispatch
import Metrics

/// Executes the ``SubscriptionStateMachine`` of a subscriber connection: sends what it decides on the
/// supervisor's connection, resumes the `subscribe` calls it confirms, and hands messages to subscribers in one
/// batch per read event.
///
/// For sharded pub/sub it is the connection to one cluster node (``ShardedSubscriptions`` owns one per node):
/// a channel whose slot another node serves leaves it with its members, through ``onChannelMoved``.
///
/// - Important: Confined to the subscriber connection's queue, like the supervisor it is the delegate of.
final class SubscriptionRegistry {
    /// One local subscriber: where its events go.
    final class Subscriber {
        /// Takes its events, through `delivery`: one batch per read event, then `nil` once, at its end.
        private let receive: @Sendable ([RedisSubscriptionEvent]?) -> Void
        private let delivery: SubscriberDelivery
        private var isEnded = false
        /// The `subscribe` call waiting for the server's confirmation.
        var confirmation: CheckedContinuation<Void, any Error>?
        /// Events of the current read event, handed over as one batch at its end.
        var batch: [RedisSubscriptionEvent] = []

        init(delivery: SubscriberDelivery, receive: @escaping @Sendable ([RedisSubscriptionEvent]?) -> Void) {
            self.delivery = delivery
            self.receive = receive
        }

        /// The current read event's batch and where it goes, unless the subscription ended meanwhile.
        func takeBatch() -> (receive: @Sendable ([RedisSubscriptionEvent]?) -> Void, events: [RedisSubscriptionEvent])? {
            defer { batch.removeAll() }
            return isEnded ? nil : (receive, batch)
        }

        /// Ends the subscription: a `subscribe` call still waiting throws `error` (its receiver gets nothing: the
        /// subscription never began), and a confirmed one's receiver gets `nil`.
        func end(throwing error: any Error) {
            guard !isEnded else { return }
            isEnded = true
            if let confirmation {
                self.confirmation = nil
                return confirmation.resume(throwing: error)
            }
            delivery.deliver(isSmall: true) { [receive] in receive(nil) }
        }
    }

    typealias Member = SubscriptionStateMachine<Subscriber>.Member

    /// The connection this registry drives.
    let supervisor: ConnectionSupervisor
    /// Whether it speaks sharded pub/sub (`SSUBSCRIBE`, one channel per command: each may be in another slot).
    private let isSharded: Bool
    private var subscriptions = SubscriptionStateMachine<Subscriber>()
    /// For sharded pub/sub: a channel left this node with its members (`MOVED`, or the server unsubscribed it
    /// when its slot moved: then the owner is not named).
    var onChannelMoved: ((_ channel: String, _ members: [Member], _ owner: RedisAddress?) -> Void)?
    /// For sharded pub/sub: the node confirmed a channel.
    var onChannelSubscribed: ((_ channel: String) -> Void)?
    /// For sharded pub/sub: the connection dropped or could not connect (the node may have failed over).
    var onConnectionTrouble: (() -> Void)?
    /// `redis.subscriber.channels`: the channels subscribed or being subscribed (for shard channels, on one node:
    /// dimension `redis.node`).
    private let channelGauge: Gauge
    /// Subscribers with events in the current read event.
    private var batched: [Subscriber] = []
    /// Where the batches go at the end of each read event: the connection's, shared by its shard registries.
    private let delivery: SubscriberDelivery

    /// Becomes `supervisor`'s delegate: the one place the registry is wired to its connection.
    init(supervisor: ConnectionSupervisor, delivery: SubscriberDelivery, isSharded: Bool = false, node: String? = nil) {
        self.supervisor = supervisor
        self.delivery = delivery
        self.isSharded = isSharded
        channelGauge = Gauge(label: "redis.subscriber.channels", dimensions: node.map { [("redis.node", $0)] } ?? [])
        supervisor.delegate = self
    }

    /// The number of channels with a server-side subscription or one under way.
    var channelCount: Int { subscriptions.channels.count }

    /// The channels with a server-side subscription or one under way.
    var channelNames: [String] { Array(subscriptions.channels.keys) }

    /// Whether `name` has a server-side subscription or one under way on this connection.
    func hasChannel(_ name: String) -> Bool { subscriptions.channels[name] != nil }

    /// Takes `name` off this connection with its members, to subscribe it on another node; its subscription
    /// here, if the server may have one, ends (the server refuses that with `MOVED` if it gave the slot away, which
    /// changes nothing).
    func takeChannel(_ name: String) -> [Member] {
        defer { recordChannelCount() }
        let status = subscriptions.channels[name]?.status
        let members = subscriptions.removeChannel(name)
        if status == .active || status == .subscribing { send(unsubscribeFrom: name) }
        return members
    }

    /// Subscribes `members` of `name`, which come from another node's connection.
    func adopt(_ members: [Member], to name: String) {
        dispatchPrecondition(condition: .onQueue(supervisor.executor.queue))
        switch subscriptions.adopt(members, to: name, isConnectionReady: supervisor.readyConnection != nil) {
        case .subscribe(let name): send(subscribeTo: [name])
        case .startConnecting: supervisor.start()
        case .wait: break
        case .active(let action): deliver(action)
        case .finishClosed(let subscribers): for subscriber in subscribers { finish(subscriber, throwing: RedisError.closed) }
        }
        recordChannelCount()
    }

    /// Adds `subscriber` to `name`; its `confirmation` resumes once the server confirmed the subscription.
    func add(_ subscriber: Subscriber, id: Int, to name: String) {
        dispatchPrecondition(condition: .onQueue(supervisor.executor.queue))
        let action = subscriptions.add(subscriber, id: id, to: name, isConnectionReady: supervisor.readyConnection != nil)
        switch action {
        case .finishClosed:
            finish(subscriber, throwing: RedisError.closed)
        case .confirm:
            confirm(subscriber)
        case .subscribe(let name):
            send(subscribeTo: [name])
        case .startConnecting:
            supervisor.start()
        case .wait:
            break
        }
        recordChannelCount()
    }

    /// Removes a subscriber (its sequence ended or its `subscribe` call was cancelled).
    func remove(subscriberID: Int, from name: String, reason: any Error) {
        dispatchPrecondition(condition: .onQueue(supervisor.executor.queue))
        let action = subscriptions.remove(id: subscriberID, from: name, isConnectionReady: supervisor.readyConnection != nil)
        guard case .finish(let subscriber, let unsubscribe) = action else { return }
        finish(subscriber, throwing: reason)
        if let unsubscribe { send(unsubscribeFrom: unsubscribe) }
        recordChannelCount()
    }

    /// Ends every subscription; the caller then closes the connection.
    func closeAll() {
        dispatchPrecondition(condition: .onQueue(supervisor.executor.queue))
        for subscriber in subscriptions.closeAll() { finish(subscriber, throwing: RedisError.closed) }
        recordChannelCount()
    }

    // MARK: private

    private func send(subscribeTo names: [String]) {
        guard let connection = supervisor.readyConnection else { return subscriptions.subscribeFailed(names) }
        guard isSharded else {
            if !connection.sendSubscription(.subscribe, channels: names) { subscriptions.subscribeFailed(names) }
            return
        }
        for name in names where !connection.sendSubscription(.shardSubscribe, channels: [name]) {
            subscriptions.subscribeFailed([name])
        }
    }

    private func send(unsubscribeFrom name: String) {
        guard let connection = supervisor.readyConnection,
            connection.sendSubscription(isSharded ? .shardUnsubscribe : .unsubscribe, channels: [name])
        else {
            return subscriptions.unsubscribeFailed(name)
        }
    }

    private func deliver(_ action: SubscriptionStateMachine<Subscriber>.SubscribedAction) {
        for subscriber in action.confirm { confirm(subscriber) }
        for subscriber in action.resubscribed { enqueue(.resubscribed, for: subscriber) }
        if let unsubscribe = action.unsubscribe { send(unsubscribeFrom: unsubscribe) }
    }

    /// `name` left this node (its members go to `owner`, or to the slot's owner if `nil`); without a router
    /// (classic pub/sub) or for any refusal but `MOVED`, its members end with `error`.
    private func channelLeft(_ name: String, owner: RedisAddress?, error: RedisError) {
        let members = subscriptions.removeChannel(name)
        recordChannelCount()
        if let onChannelMoved { return onChannelMoved(name, members, owner) }
        for member in members { finish(member.subscriber, throwing: error) }
    }

    private func recordChannelCount() {
        channelGauge.record(subscriptions.channels.count)
    }

    private func confirm(_ subscriber: Subscriber) {
        subscriber.confirmation?.resume()
        subscriber.confirmation = nil
    }

    private func enqueue(_ event: RedisSubscriptionEvent, for subscriber: Subscriber) {
        if subscriber.batch.isEmpty { batched.append(subscriber) }
        subscriber.batch.append(event)
    }

    private func finish(_ subscriber: Subscriber, throwing error: any Error) {
        subscriber.end(throwing: error)
    }
}

extension SubscriptionRegistry: ConnectionSupervisorDelegate {
    func supervisor(connected connection: HiredisConnection) {
        let names = subscriptions.connectionReady()
        if !names.isEmpty { send(subscribeTo: names) }
    }

    func supervisor(lostConnection error: RedisError) {
        for subscriber in subscriptions.connectionLost() { finish(subscriber, throwing: error) }
        recordChannelCount()
        onConnectionTrouble?()
    }

    func supervisor(attemptFailed error: RedisError) {
        for subscriber in subscriptions.attemptFailed() { finish(subscriber, throwing: error) }
        recordChannelCount()
        onConnectionTrouble?()
    }

    func supervisor(received push: PushMessage) {
        switch push {
        case .message(let name, let payload):
            for subscriber in subscriptions.receivers(of: name) { enqueue(.message(payload), for: subscriber) }
        case .subscribed(let name):
            let isHeld = hasChannel(name)
            deliver(subscriptions.subscribed(name))
            if isHeld { onChannelSubscribed?(name) }
        case .unsubscribed(let name):
            if let resubscribe = subscriptions.unsubscribed(name, isConnectionReady: supervisor.readyConnection != nil) {
                send(subscribeTo: [resubscribe])
            }
            recordChannelCount()
        case .unsubscribedByServer(let name):
            channelLeft(name, owner: nil, error: .connectionLost("the server unsubscribed the channel: its slot moved"))
        case .refused(let names, let error):
            let owner: RedisAddress? = if case .moved(_, let owner)? = ClusterRedirect(error) { owner } else { nil }
            for name in names {
                // Anything but MOVED ends the channel's subscribers with the server's error (ACL's NOPERM, a
                // cluster that is down).
                guard let owner else {
                    for member in subscriptions.removeChannel(name) { finish(member.subscriber, throwing: RedisError.server(error)) }
                    continue
                }
                channelLeft(name, owner: owner, error: .server(error))
            }
            recordChannelCount()
        }
    }

    func supervisorDidFinishReadEvent() {
        guard !batched.isEmpty else { return }
        let handOvers = batched.compactMap { $0.takeBatch() }
        batched.removeAll(keepingCapacity: true)
        let count = handOvers.reduce(0) { $0 + $1.events.count }
        delivery.deliver(isSmall: count <= SubscriberDelivery.inlineLimit) {
            for (receive, events) in handOvers { receive(events) }
        }
    }
}

// Confined to the subscriber connection's serial queue, like the supervisor whose delegate it is.
extension SubscriptionRegistry: @unchecked Sendable {}
