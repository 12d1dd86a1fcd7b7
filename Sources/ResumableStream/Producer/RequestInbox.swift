import RedisBridge

/// A producer's request channel, read without a task of its own while no request comes: the subscriber hands
/// each message to the inbox, which keeps them in order and runs a task of the context's background work only
/// while some wait to be served. It subscribes before the claim (so that no consumer asks before anyone
/// listens); what arrives before the producer serves waits for it.
final class RequestInbox: Sendable {
    /// Serves one message; `false` to serve no more (the inbox closes).
    typealias Server = @Sendable (ResumableStreamMessage) async -> Bool

    private struct State {
        var pending: [ResumableStreamMessage] = []
        var server: Server?
        /// The task serving the pending messages, while some are left.
        var serving: BackgroundTask<Void>?
        var subscription: CallbackSubscription?
        var isClosed = false
    }

    private let state = Locked(State())
    private let work: BackgroundWork

    private init(work: BackgroundWork) {
        self.work = work
    }

    /// Subscribes to `channel` and returns once the subscription is active. The subscription lasts until
    /// ``close()``, which its owner must call.
    static func subscribe(to channel: String, on subscriber: any ResumableStreamSubscriber, work: BackgroundWork) async throws -> RequestInbox {
        let inbox = RequestInbox(work: work)
        let subscription = try await subscriber.subscribe(to: channel, work: work) { messages in inbox.receive(messages) }
        inbox.state.withLock { $0.subscription = subscription }
        return inbox
    }

    /// Serves the messages with `server`, one at a time and in order, those that came already first, until it
    /// returns `false` or until ``close()``.
    func serve(with server: @escaping Server) {
        state.withLock { state in
            state.server = server
            startServing(&state)
        }
    }

    /// Ends the subscription (the last local subscriber of the channel unsubscribes) and the serving; the
    /// messages not served yet are dropped.
    func close() {
        _ = closed()
    }

    /// Closes the inbox, and returns once the message being served, if any, was served: its server may still
    /// answer, and what runs the server ends after it.
    func closeAndWait() async {
        await closed()?.value
    }

    // MARK: private

    /// Closes the inbox: the serving task, cancelled, if one runs.
    private func closed() -> BackgroundTask<Void>? {
        let (subscription, serving) = state.withLock { state in
            state.isClosed = true
            defer { (state.pending, state.server, state.subscription, state.serving) = ([], nil, nil, nil) }
            return (state.subscription, state.serving)
        }
        subscription?.cancel()
        serving?.cancel()
        return serving
    }

    /// Messages, or the end of the subscription (`nil`: the connection closed, or ``close()`` ended it).
    private func receive(_ messages: [ResumableStreamMessage]?) {
        guard let messages else { return }
        state.withLock { state in
            guard !state.isClosed else { return }
            state.pending.append(contentsOf: messages)
            startServing(&state)
        }
    }

    /// Starts the task that serves the pending messages, unless one runs, nothing waits or nobody serves yet.
    private func startServing(_ state: inout State) {
        guard state.serving == nil, state.server != nil, !state.pending.isEmpty, !state.isClosed else { return }
        state.serving = work.start { [self] in
            while let (message, server) = next() {
                guard await server(message) else { return close() }
            }
        }
    }

    /// The next message to serve and its server; `nil`, and the serving task ends, when none is left.
    private func next() -> (ResumableStreamMessage, Server)? {
        state.withLock { state in
            guard !Task.isCancelled, !state.isClosed, !state.pending.isEmpty, let server = state.server else {
                state.serving = nil
                return nil
            }
            return (state.pending.removeFirst(), server)
        }
    }
}
