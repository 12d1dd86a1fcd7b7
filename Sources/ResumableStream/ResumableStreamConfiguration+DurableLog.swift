extension ResumableStreamConfiguration {
    /// A durable log of each stream this context produces (``ResumableStreamConfiguration/durableLog``): the
    /// producer also appends its text to a Redis stream (`P:log:<id>`), in the background, in batches, so that
    /// a stream whose producer died (crashed, killed, redeployed) can still be resumed up to its last append,
    /// by any instance.
    ///
    /// The log is for history, not a second delivery path: while the producer lives, followers get the text
    /// from it over pub/sub as always. Each append is one `EVAL` (`XADD` of what accumulated, and the log's
    /// expiry), awaited by the log's own task, never by the producer's reader.
    public struct DurableLog: Sendable, Hashable {
        /// How long the log stays after the stream ended (at most ``ResumableStreamConfiguration/doneTTL``).
        /// While the producer runs, the log expires this long after the running TTL past its last append.
        public var retention: Duration
        /// The most text (UTF-16 code units) one append carries. Default 16 Ki.
        public var batchCharacters: Int
        /// How long text waits for more before it is appended, unless a batch filled up: at most what a
        /// producer that dies loses from its log (plus the append in flight). Default 50 ms.
        public var linger: Duration

        /// A log kept for `retention` after the stream ended.
        public init(retention: Duration, batchCharacters: Int = 16 * 1024, linger: Duration = .milliseconds(50)) {
            self.retention = retention
            self.batchCharacters = max(2, batchCharacters)
            self.linger = max(.zero, linger)
        }
    }
}
