/// The commands a ``ResumableStreamContext`` needs from its publisher (command) connection: the Swift
/// counterpart of the TypeScript package's `Publisher` interface, plus what the improvements need.
///
/// Requests issued one after another from one task must reach the server in that order, including
/// ``enqueuePublish(_:to:onReceivers:)``: the protocol relies on it (a replay goes out before the live
/// chunks that follow it). `RedisCommandConnection` (from `RedisBridge`) and ``InMemoryBackend`` conform.
public protocol ResumableStreamPublisher: Sendable {
    /// Claims a stream id for a new generation, in one atomic step (see ``StreamClaim``). Redis: a Lua script.
    func claim(_ claim: StreamClaim) async throws -> StreamClaimOutcome
    /// Stores a stop request for the generation that runs the stream, in one atomic step: unless `sentinel` is
    /// absent or `DONE`, `flag` gets the token in `generationKey` (if any) with the expiry. Redis: a Lua script.
    func storeStopRequest(sentinel: String, generationKey: String, flag: String, expiresIn: Duration) async throws -> StreamStopTarget
    /// `GET key`: the value, or `nil` for a missing key.
    func value(of key: String) async throws -> String?
    /// `MGET key...`: each key's value (`nil` for a missing key), all read in one atomic step, so that values
    /// written together (a finished stream's text and its ending) are read together. On a Redis Cluster the
    /// keys share a slot (the stream's keys do).
    func values(of keys: [String]) async throws -> [String?]
    /// `SET key value [EX ttl]`.
    func setValue(_ value: String, for key: String, expiresIn: Duration?) async throws
    /// Sets each key of `values` to its value with its expiry, all in one atomic step, unless `fence` holds a
    /// value other than `token`; a `fence` that holds `token` gets the first value's expiry. Returns whether
    /// the keys were set. This keeps a producer that was replaced
    /// (``ResumableStreamContext/createNewResumableStream(_:makeStream:)``) from finalising its successor's
    /// stream, and a stream's ending, its retained text and its `DONE` from ever disagreeing. Redis: a Lua
    /// script.
    func setValues(_ values: [(key: String, value: String, expiresIn: Duration)], fencedBy fence: String, token: String) async throws -> Bool
    /// Sets the expiry of `key` (and of `fence`, if it holds `token`), in one atomic step, unless `fence` holds
    /// a value other than `token` or `key` holds `finalValue`. Returns whether `key` got the expiry. This keeps
    /// a producer's refresh from shortening the expiry of a finished stream, or extending a successor's.
    /// Redis: a Lua script.
    func extendExpiry(of key: String, to duration: Duration, unlessItHolds finalValue: String, fencedBy fence: String, token: String) async throws
        -> Bool
    /// `EXPIRE key ttl`.
    func setExpiry(of key: String, to duration: Duration) async throws
    /// `DEL key`.
    func delete(_ key: String) async throws
    /// `PUBLISH channel message` (`SPUBLISH` with ``usesShardChannels``): the number of subscribers that received
    /// it.
    func publishMessage(_ message: String, to channel: String) async throws -> Int
    /// `PUBLISH` without waiting, in order with the other requests of the caller; `onReceivers` gets the
    /// number of receivers, or why the publish failed.
    func enqueuePublish(_ message: String, to channel: String, onReceivers: (@Sendable (Result<Int, any Error>) -> Void)?)
    /// ``enqueuePublish(_:to:onReceivers:)`` to each of `channels`, in that order; a backend can do it in one
    /// step. `onReceivers` gets each channel with its number of receivers.
    func enqueuePublish(_ message: String, toEach channels: [String], onReceivers: (@Sendable (String, Result<Int, any Error>) -> Void)?)
    /// Publishes the messages `take` returns, without waiting, in order with the caller's other requests. A
    /// backend may call `take` later, when it is about to write them (Redis: on the connection's executor), so
    /// that text a producer appends meanwhile goes out in the same messages; or at once.
    func enqueuePublishes(taking take: @escaping @Sendable () -> [ResumableStreamPublication])
    /// Checks that the backend answers (`PING`), or throws why not: a start-up check.
    func ping() async throws
    /// `PUBSUB NUMSUB channel`: how many subscribers the channel has (the producer-liveness check).
    func subscriberCount(of channel: String) async throws -> Int
    /// Whether a publish's receiver count covers every subscriber of the channel, so that 0 means nobody
    /// listens. Not on a Redis Cluster, where `PUBLISH` counts the subscribers of the node it ran on only: there
    /// a producer keeps publishing to a listener that seems gone (as TypeScript always does), and a consumer
    /// waits for the acknowledgement of a request nobody seemed to receive.
    var countsEveryReceiver: Bool { get }
    /// Whether channels live in hash slots (Redis 7's shard channels): a follower's channel then carries its
    /// stream's hash tag, so that it lives on the node of the stream's keys and request channel. The backend's
    /// subscriber must use them too.
    var usesShardChannels: Bool { get }
    /// Appends `entry` to the log at `key` (`XADD` with the entry's id, see ``StreamLogEntry``) and gives the
    /// log `expiresIn`, in one step, only while `fence` holds `generation`; returns whether it appended (false:
    /// another life of the stream id owns the log). An entry whose id is not past the log's last is there
    /// already (its append ran, but the reply was lost): it counts as appended. Throws
    /// ``StreamLogUnclaimedError`` when `fence` is missing (Redis lost the stream's keys, or let them expire,
    /// and the producer has not claimed the id again yet): the writer tries again. Redis: a Lua script.
    func appendToLog(_ entry: StreamLogEntry, at key: String, expiresIn: Duration, fencedBy fence: String, generation: String) async throws -> Bool
    /// The entries of the log at `key` from the first whose text ends after `offset` (and the end mark, if the
    /// stream is no longer than `offset`), in order; at most `limit` of them if given. Redis: `XRANGE`.
    func logEntries(at key: String, after offset: Int, limit: Int?) async throws -> [StreamLogEntry]
}

extension ResumableStreamPublisher {
    /// True: a backend of one server counts every subscriber.
    public var countsEveryReceiver: Bool { true }

    /// False: classic channels.
    public var usesShardChannels: Bool { false }

    /// Nothing to check: an in-process backend always answers.
    public func ping() async throws {}

    /// Takes the messages at once and enqueues them.
    public func enqueuePublishes(taking take: @escaping @Sendable () -> [ResumableStreamPublication]) {
        enqueuePublishes(take())
    }

    /// Enqueues each of `publications` at once, in order, with ``enqueuePublish(_:toEach:onReceivers:)``.
    func enqueuePublishes(_ publications: [ResumableStreamPublication]) {
        for publication in publications {
            enqueuePublish(publication.message, toEach: publication.channels, onReceivers: publication.onReceivers)
        }
    }

    /// One ``enqueuePublish(_:to:onReceivers:)`` per channel.
    public func enqueuePublish(
        _ message: String, toEach channels: [String], onReceivers: (@Sendable (String, Result<Int, any Error>) -> Void)?
    ) {
        for channel in channels {
            guard let onReceivers else {
                enqueuePublish(message, to: channel, onReceivers: nil)
                continue
            }
            enqueuePublish(message, to: channel) { receivers in onReceivers(channel, receivers) }
        }
    }
}

/// One message to publish to each of some channels, for
/// ``ResumableStreamPublisher/enqueuePublishes(taking:)``.
public struct ResumableStreamPublication: Sendable {
    /// The message.
    public var message: String
    /// The channels it goes to, in this order.
    public var channels: [String]
    /// Gets each channel with its number of receivers, or why the publish failed; `nil` for no report.
    public var onReceivers: (@Sendable (_ channel: String, Result<Int, any Error>) -> Void)?

    /// A message to publish to each of `channels`.
    public init(
        _ message: String, toEach channels: [String],
        onReceivers: (@Sendable (_ channel: String, Result<Int, any Error>) -> Void)? = nil
    ) {
        self.message = message
        self.channels = channels
        self.onReceivers = onReceivers
    }
}

/// The stream's generation key is missing, so its durable log belongs to nobody until the producer claims the id
/// again (Redis lost the keys, or let them expire): ``ResumableStreamPublisher/appendToLog(_:at:expiresIn:fencedBy:generation:)``
/// appends nothing, so that two lives of the id never write into one log while neither holds it.
public struct StreamLogUnclaimedError: Error, Sendable, CustomStringConvertible {
    /// The error.
    public init() {}

    public var description: String { "the stream's generation key is missing: its log is appended to once the id is claimed again" }
}
