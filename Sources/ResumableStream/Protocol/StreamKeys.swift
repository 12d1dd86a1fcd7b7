/// The keys and channels of one stream, under `<keyPrefix>:rs`.
struct StreamKeys: Sendable {
    let prefix: String
    /// The stream's id, as the caller gave it.
    let id: String
    /// The id as it appears in key and request-channel names: the id, or the id in a hash tag on a cluster
    /// (``ResumableStreamConfiguration/wrapsStreamIDsInHashTags``).
    let streamID: String

    init(keyPrefix: String, streamID: String, keyName: String? = nil) {
        prefix = "\(keyPrefix):rs"
        id = streamID
        self.streamID = keyName ?? streamID
    }

    /// `P:sentinel:<id>`: an integer while running (or `"1"`), `"DONE"` when finished.
    var sentinel: String { "\(prefix):sentinel:\(streamID)" }
    /// `P:request:<id>`: resume requests, consumer to producer.
    var requests: String { "\(prefix):request:\(streamID)" }
    /// `P:chunk:<listenerId>`: data for one consumer.
    func chunks(for listenerID: String) -> String { "\(prefix):chunk:\(listenerID)" }
    /// `P:meta:<id>` (our addition, ignored by TypeScript): how a finished stream ended, as JSON.
    var meta: String { "\(prefix):meta:\(streamID)" }
    /// `P:text:<id>` (our addition): a finished stream's whole text, kept for
    /// ``ResumableStreamConfiguration/finishedStreamRetention``.
    var text: String { "\(prefix):text:\(streamID)" }
    /// `P:log:<id>` (our addition): a stream's durable log, a Redis stream (see ``StreamLogEntry``).
    var log: String { "\(prefix):log:\(streamID)" }
    /// `P:stop:<id>` (our addition): the generation a stop request is stored for, read by its producer when its
    /// subscription comes back from a reconnect.
    var stopFlag: String { "\(prefix):stop:\(streamID)" }
    /// `P:generation:<id>` (our addition): the ``StreamGeneration`` that claimed the id last, which fences
    /// everything its producer writes; it expires with the sentinel.
    var generation: String { "\(prefix):generation:\(streamID)" }
}
