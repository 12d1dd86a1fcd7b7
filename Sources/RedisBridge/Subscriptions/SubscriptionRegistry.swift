import Metrics

/// The channels of a subscriber connection and their local subscribers: one hiredis subscription per
/// channel (hiredis replaces the callback of a repeated SUBSCRIBE), fanned out to every local subscriber,
/// with `UNSUBSCRIBE` once the last one leaves and `SUBSCRIBE` again after a reconnection.
///
/// - Important: Confined to the subscriber connection's queue, like the supervisor it drives.
final class SubscriptionRegistry {
    final class Subscriber {
        let id: Int
        let stream: AsyncStream<[RedisSubscriptionEvent]>.Continuation
        /// The `subscribe` call waiting for the server's confirmation.
        var confirmation: CheckedContinuation<Void, any Error>?
        var isConfirmed = false
        /// Events of the current read event, yielded as one batch at its end.
        var batch: [RedisSubscriptionEvent] = []

        init(id: Int, stream: AsyncStream<[RedisSubscriptionEvent]>.Continuation) {
            self.id = id
            self.stream = stream
        }
    }

    private final class Channel {
        enum Status {
            /// Waiting for a ready connection to send SUBSCRIBE.
            case pending
            /// SUBSCRIBE sent, confirmation not yet received.
            case subscribing
            case active
            /// UNSUBSCRIBE sent, confirmation not yet received.
            case unsubscribing
        }

        var status = Status.pending
        var subscribers: [Subscriber] = []
    }

    private let supervisor: ConnectionSupervisor
    private var channels: [String: Channel] = [:]
    /// `redis.subscriber.channels`: the channels subscribed or being subscribed.
    private let channelGauge = Gauge(label: "redis.subscriber.channels")
    private var batched: [Subscriber] = []
    private(set) var isClosed = false

    init(supervisor: ConnectionSupervisor) {
        self.supervisor = supervisor
        supervisor.onReady = { [unowned self] connection in subscribePending(on: connection) }
        supervisor.onLost = { [unowned self] _ in connectionLost() }
        supervisor.onAttemptFailed = { [unowned self] error in failUnconfirmed(error) }
        supervisor.onPush = { [unowned self] push in handle(push) }
        supervisor.onReadEvent = { [unowned self] in flushBatches() }
    }

    /// The number of channels with a server-side subscription or one under way.
    var channelCount: Int { channels.count }

    /// Adds `subscriber` to `name`; its `confirmation` resumes once the server confirmed the subscription.
    func add(_ subscriber: Subscriber, to name: String) {
        guard !isClosed else { return finish(subscriber, throwing: RedisError.closed) }
        if let channel = channels[name] {
            channel.subscribers.append(subscriber)
            if channel.status == .active { confirm(subscriber) }
            return
        }
        let channel = Channel()
        channel.subscribers.append(subscriber)
        channels[name] = channel
        channelGauge.record(channels.count)
        if let connection = supervisor.readyConnection {
            send(subscribeTo: [name], on: connection)
        } else {
            supervisor.start()
        }
    }

    /// Removes a subscriber (its sequence ended or its `subscribe` call was cancelled).
    func remove(subscriberID: Int, from name: String, reason: any Error) {
        guard let channel = channels[name],
              let index = channel.subscribers.firstIndex(where: { $0.id == subscriberID })
        else { return }
        finish(channel.subscribers.remove(at: index), throwing: reason)
        if channel.subscribers.isEmpty { release(name, channel) }
    }

    /// Ends every subscription; the caller then closes the connection.
    func closeAll() {
        isClosed = true
        let all = channels.values.flatMap(\.subscribers)
        channels = [:]
        channelGauge.record(0)
        for subscriber in all { finish(subscriber, throwing: RedisError.closed) }
    }

    // MARK: connection events

    private func subscribePending(on connection: HiredisConnection) {
        let names = channels.filter { $0.value.status == .pending }.map(\.key)
        if !names.isEmpty { send(subscribeTo: names, on: connection) }
    }

    private func connectionLost() {
        for (name, channel) in channels {
            switch channel.status {
            case .active, .subscribing:
                channel.status = .pending
            case .unsubscribing where channel.subscribers.isEmpty:
                removeChannel(name)
            case .unsubscribing, .pending:
                channel.status = .pending
            }
        }
    }

    /// A failed connection attempt fails the `subscribe` calls waiting for it; subscriptions that were
    /// already confirmed wait for the next attempt.
    private func failUnconfirmed(_ error: RedisError) {
        for (name, channel) in channels where channel.status == .pending {
            let (confirmed, unconfirmed) = (channel.subscribers.filter(\.isConfirmed), channel.subscribers.filter { !$0.isConfirmed })
            channel.subscribers = confirmed
            for subscriber in unconfirmed { finish(subscriber, throwing: error) }
            if confirmed.isEmpty { removeChannel(name) }
        }
    }

    private func handle(_ push: PushMessage) {
        switch push {
        case .message(let name, let payload):
            guard let channel = channels[name] else { return }
            for subscriber in channel.subscribers where subscriber.isConfirmed {
                enqueue(.message(payload), for: subscriber)
            }
        case .subscribed(let name):
            guard let channel = channels[name], channel.status == .subscribing else { return }
            channel.status = .active
            for subscriber in channel.subscribers {
                if subscriber.isConfirmed {
                    enqueue(.resubscribed, for: subscriber)
                } else {
                    confirm(subscriber)
                }
            }
            if channel.subscribers.isEmpty { release(name, channel) }
        case .unsubscribed(let name):
            guard let channel = channels[name], channel.status == .unsubscribing else { return }
            if channel.subscribers.isEmpty {
                removeChannel(name)
            } else if let connection = supervisor.readyConnection {
                // Someone subscribed while UNSUBSCRIBE was in flight: hiredis needs the round trip finished
                // before the channel is subscribed again.
                channel.status = .pending
                send(subscribeTo: [name], on: connection)
            } else {
                channel.status = .pending
            }
        }
    }

    private func flushBatches() {
        for subscriber in batched {
            subscriber.stream.yield(subscriber.batch)
            subscriber.batch.removeAll()
        }
        batched.removeAll(keepingCapacity: true)
    }

    // MARK: private

    private func send(subscribeTo names: [String], on connection: HiredisConnection) {
        if connection.sendSubscription("SUBSCRIBE", channels: names) {
            for name in names { channels[name]?.status = .subscribing }
        } else {
            for name in names { channels[name]?.status = .pending }
        }
    }

    private func release(_ name: String, _ channel: Channel) {
        switch channel.status {
        case .active:
            if let connection = supervisor.readyConnection, connection.sendSubscription("UNSUBSCRIBE", channels: [name]) {
                channel.status = .unsubscribing
            } else {
                removeChannel(name)
            }
        case .pending:
            removeChannel(name)
        case .subscribing, .unsubscribing:
            break  // decided when the confirmation arrives
        }
    }

    private func removeChannel(_ name: String) {
        channels[name] = nil
        channelGauge.record(channels.count)
    }

    private func confirm(_ subscriber: Subscriber) {
        subscriber.isConfirmed = true
        subscriber.confirmation?.resume()
        subscriber.confirmation = nil
    }

    private func enqueue(_ event: RedisSubscriptionEvent, for subscriber: Subscriber) {
        if subscriber.batch.isEmpty { batched.append(subscriber) }
        subscriber.batch.append(event)
    }

    private func finish(_ subscriber: Subscriber, throwing error: any Error) {
        subscriber.confirmation?.resume(throwing: error)
        subscriber.confirmation = nil
        subscriber.stream.finish()
    }
}

// Confined to the subscriber connection's serial queue, like the supervisor whose callbacks drive it.
extension SubscriptionRegistry: @unchecked Sendable {}
