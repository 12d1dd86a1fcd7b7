/// Whether an earlier seed node of a cluster answers again: a ``BlockingConnection`` and a `PING` to each in
/// turn (any reply counts, `-NOAUTH` included), off the connection's queue.
///
/// A cluster's pub/sub runs on the first seed that answers, in the URL's order, so that every instance
/// listens and publishes on the same node (a `PUBLISH` counts only that node's subscribers). A connection that
/// had to take a later seed moves back once an earlier one answers, or instances would stay split.
enum SeedProbe {
    /// How often a connection on a later seed checks the earlier ones.
    static let interval = Duration.seconds(5)

    /// The first of `seeds` that answers a `PING` within `timeout`.
    static func firstAnswering(_ seeds: [RedisAddress], timeout: Duration) -> RedisAddress? {
        seeds.first { seed in
            guard let connection = try? BlockingConnection(to: seed, timeout: timeout) else { return false }
            return (try? connection.command(["PING"])) != nil
        }
    }
}
