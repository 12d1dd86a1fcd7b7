/// A subscription made with ``RedisSubscriberConnection/subscribe(to:isShardChannel:receive:)``, whose events go
/// to a callback: it lasts until ``cancel()`` (or the connection's close). Dropping it does not cancel it.
package struct RedisSubscriptionHandle: Sendable {
    private let onCancel: @Sendable () -> Void

    init(onCancel: @escaping @Sendable () -> Void) {
        self.onCancel = onCancel
    }

    /// Ends the subscription (the last local subscriber of its channel unsubscribes): its receiver gets `nil`
    /// soon, after its events handed over before. Calling it again does nothing more.
    package func cancel() {
        onCancel()
    }
}
