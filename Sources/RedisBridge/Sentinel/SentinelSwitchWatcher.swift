import Logging

/// Follows a failover as soon as the sentinels announce it: a subscription to `+switch-master` on every
/// sentinel (one subscriber connection each, which reconnects as any does), calling `onSwitch` with the new
/// address when one of them names the primary.
///
/// Without it, a connection learns of a planned failover (`SENTINEL FAILOVER`) only when the demoted primary
/// drops it or answers `-READONLY`, which the sentinels make it do only at their next look at it (up to 10 s
/// later); until then, writes go to a server that is about to lose them. Any sentinel that still answers
/// delivers the announcement; each says it once per failover.
final class SentinelSwitchWatcher: Sendable {
    /// The channel on which a sentinel announces `<name> <old ip> <old port> <new ip> <new port>`.
    static let channel = "+switch-master"

    private let connections: [RedisSubscriberConnection]
    private let watching: Task<Void, Never>

    /// Watches the sentinels of `sentinel` with the timeouts and backoff of `base`.
    init(_ sentinel: RedisSentinelConfiguration, base: RedisConfiguration, logger: Logger, onSwitch: @escaping @Sendable (RedisAddress) -> Void) {
        let connections = sentinel.sentinels.map { address in
            let configuration = RedisConfiguration(
                endpoint: .tcp(host: address.host, port: address.port), username: sentinel.username, password: sentinel.password,
                connectTimeout: base.connectTimeout, commandTimeout: base.commandTimeout, reconnectInitialDelay: base.reconnectInitialDelay,
                reconnectMaximumDelay: base.reconnectMaximumDelay, tls: sentinel.tls)
            return RedisSubscriberConnection(configuration: configuration, logger: logger, role: "sentinel-watch")
        }
        self.connections = connections
        let primaryName = sentinel.primaryName
        let backoff = ReconnectBackoff(initialDelay: base.reconnectInitialDelay, maximumDelay: base.reconnectMaximumDelay)
        watching = Task {
            await withTaskGroup(of: Void.self) { group in
                for connection in connections {
                    group.addTask {
                        await Self.watch(connection, for: primaryName, backoff: backoff, logger: logger, onSwitch: onSwitch)
                    }
                }
            }
        }
    }

    /// Stops watching and closes the connections to the sentinels.
    func close() async {
        watching.cancel()
        for connection in connections { await connection.close() }
        await watching.value
    }

    /// Subscribes on `connection` until cancelled; a sentinel that cannot be reached is tried again with
    /// `backoff` (a subscription, once made, survives reconnections by itself).
    private static func watch(
        _ connection: RedisSubscriberConnection, for primaryName: String, backoff: ReconnectBackoff, logger: Logger,
        onSwitch: @Sendable (RedisAddress) -> Void
    ) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                for await event in try await connection.subscribe(to: channel) {
                    guard case .message(let bytes) = event, let address = newAddress(in: String(decoding: bytes, as: UTF8.self), of: primaryName)
                    else { continue }
                    logger.debug("redis sentinel: the primary moved", metadata: ["redis.primary": "\(primaryName)", "redis.node": "\(address)"])
                    onSwitch(address)
                }
                return  // the connection was closed
            } catch {
                failures += 1
                try? await Task.sleep(for: backoff.delay(afterFailedAttempts: failures))
            }
        }
    }

    /// The new address in a `+switch-master` message about `primaryName`; `nil` for another primary, or a
    /// message that is not one (a port out of range included).
    static func newAddress(in message: String, of primaryName: String) -> RedisAddress? {
        let fields = message.split(separator: " ")
        guard fields.count == 5, fields[0] == primaryName, let port = Int(fields[4]), RedisAddress.validPorts.contains(port) else { return nil }
        return RedisAddress(host: String(fields[3]), port: port)
    }
}
