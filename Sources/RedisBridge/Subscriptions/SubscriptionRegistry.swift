import Dispatch
import Metrics

/// Executes the ``SubscriptionStateMachine`` of a subscriber connection: sends what it decides on the
/// supervisor's connection, resumes the `subscribe` calls it confirms, and hands messages to subscribers in one
/// batch per read event.
///
/// - Important: Confined to the subscriber connection's queue, like the supervisor it is the delegate of.
final class SubscriptionRegistry {
    /// One local subscriber: where its events go.
    final class Subscriber {
        let stream: AsyncStream<[RedisSubscriptionEvent]>.Continuation
        /// The `subscribe` call waiting for the server's confirmation.
        var confirmation: CheckedContinuation<Void, any Error>?
        /// Events of the current read event, yielded as one batch at its end.
        var batch: [RedisSubscriptionEvent] = []

        init(stream: AsyncStream<[RedisSubscriptionEvent]>.Continuation) {
            self.stream = stream
        }
    }

    private let supervisor: ConnectionSupervisor
    private var subscriptions = SubscriptionStateMachine<Subscriber>()
    /// `redis.subscriber.channels`: the channels subscribed or being subscribed.
    private let channelGauge = Gauge(label: "redis.subscriber.channels")
    /// Subscribers with events in the current read event.
    private var batched: [Subscriber] = []

    /// Becomes `supervisor`'s delegate: the one place the registry is wired to its connection.
    init(supervisor: ConnectionSupervisor) {
        self.supervisor = supervisor
        supervisor.delegate = self
    }

    /// The number of channels with a server-side subscription or one under way.
    var channelCount: Int { subscriptions.channels.count }

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
        guard let connection = supervisor.readyConnection, connection.sendSubscription(.subscribe, channels: names) else {
            return subscriptions.subscribeFailed(names)
        }
    }

    private func send(unsubscribeFrom name: String) {
        guard let connection = supervisor.readyConnection, connection.sendSubscription(.unsubscribe, channels: [name]) else {
            return subscriptions.unsubscribeFailed(name)
        }
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
        subscriber.confirmation?.resume(throwing: error)
        subscriber.confirmation = nil
        subscriber.stream.finish()
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
    }

    func supervisor(attemptFailed error: RedisError) {
        for subscriber in subscriptions.attemptFailed() { finish(subscriber, throwing: error) }
        recordChannelCount()
    }

    func supervisor(received push: PushMessage) {
        switch push {
        case .message(let name, let payload):
            for subscriber in subscriptions.receivers(of: name) { enqueue(.message(payload), for: subscriber) }
        case .subscribed(let name):
            let action = subscriptions.subscribed(name)
            for subscriber in action.confirm { confirm(subscriber) }
            for subscriber in action.resubscribed { enqueue(.resubscribed, for: subscriber) }
            if let unsubscribe = action.unsubscribe { send(unsubscribeFrom: unsubscribe) }
        case .unsubscribed(let name):
            if let resubscribe = subscriptions.unsubscribed(name, isConnectionReady: supervisor.readyConnection != nil) {
                send(subscribeTo: [resubscribe])
            }
            recordChannelCount()
        case .unsubscribedByServer, .refused:
            // Sharded pub/sub only: this connection sends classic SUBSCRIBE, which a server does not refuse
            // for want of a slot.
            break
        }
    }

    func supervisorDidFinishReadEvent() {
        for subscriber in batched {
            subscriber.stream.yield(subscriber.batch)
            subscriber.batch.removeAll()
        }
        batched.removeAll(keepingCapacity: true)
    }
}

// Confined to the subscriber connection's serial queue, like the supervisor whose delegate it is.
extension SubscriptionRegistry: @unchecked Sendable {}
