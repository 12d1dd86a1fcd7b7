import Logging
import RedisBridge

/// Publishes what a ``Producer`` sends its listeners: at once, or in a burst through a ``ProducerOutbox`` that
/// the backend takes when it is about to write. The messages of an entry: bounded pieces, frames for the framed
/// listeners, and the reports that act on the backend's answers; made on the producer's side for an entry sent
/// at once, on the connection's executor for what waited (once for all the text that joined).
///
/// An object of its own, which nothing references weakly: a take retains it on the connection's executor,
/// and a weakly referenced object (as the producer is) pays for a side table on every retain.
final class ListenerPublisher: Sendable {
    private let publisher: any ResumableStreamPublisher
    private let outbox = Locked(ProducerOutbox())
    private let reports: DeliveryReports
    private let logger: Logger
    /// The header of this stream's text frames (``ChunkFrame``), made once.
    private let textFramePrefix: String
    private let pieceSize: Int
    /// The time bursts are told by.
    private let clock: StreamClock
    /// Whether a publish that reached nobody means its listener went away; not on a cluster, where 0 receivers
    /// on the node that ran the publish says nothing of the others.
    private let forgetsUnheardListeners: Bool

    /// Publishes through `publisher`, in pieces of at most `pieceSize` UTF-16 code units, with frames that start
    /// with `textFramePrefix`; what the backend answers goes to `reports`.
    init(
        publisher: any ResumableStreamPublisher, reports: DeliveryReports, textFramePrefix: String, pieceSize: Int, clock: StreamClock,
        logger: Logger
    ) {
        self.publisher = publisher
        self.clock = clock
        self.reports = reports
        self.textFramePrefix = textFramePrefix
        self.pieceSize = pieceSize
        self.logger = logger
        forgetsUnheardListeners = publisher.countsEveryReceiver
    }

    /// Publishes `entry`: at once, or in a burst through the outbox, whose first entry asks the backend to take
    /// it when it is about to write. The producer calls it under its lock, so in order with its state machine's
    /// transitions.
    func enqueue(_ entry: ProducerOutbox.Entry) {
        switch outbox.withLock({ $0.add(entry, at: clock.now()) }) {
        case .sendNow:
            publisher.enqueuePublishes(publications(of: entry))
        case .askForTake:
            publisher.enqueuePublishes { [self] in outbox.withLock { $0.take() }.flatMap(publications) }
        case .waits:
            break
        }
    }

    /// The messages of an outbox entry. Text goes in bounded pieces: plain to the plain listeners, framed to the
    /// framed ones. A listener whose channel has no subscriber left is forgotten at the next append, so a
    /// follower that went away costs nothing more; a framed one that a publish failed to reach gets the text
    /// again from there.
    private func publications(of entry: ProducerOutbox.Entry) -> [ResumableStreamPublication] {
        // The reports capture what they use, not this object.
        let (reports, logger, forgetsUnheardListeners) = (self.reports, self.logger, self.forgetsUnheardListeners)
        switch entry {
        case .message(let message, let channels, let resendsFrom):
            guard let resendsFrom else { return [ResumableStreamPublication(message, toEach: channels)] }
            return [
                ResumableStreamPublication(message, toEach: channels) { channel, receivers in
                    if case .failure(let error) = receivers {
                        Self.publishFailed(to: channel, from: resendsFrom, error, reports: reports, logger: logger)
                    }
                }
            ]
        case .text(let text, let characters, let offset, let audience):
            let pieces = text.chunkMessages(maximum: pieceSize, utf16Count: characters)
            var publications: [ResumableStreamPublication] = []
            if !audience.plain.isEmpty {
                let report: @Sendable (String, Result<Int, any Error>) -> Void = { channel, receivers in
                    if case .success(0) = receivers, forgetsUnheardListeners { reports.listenerGone(channel) }
                }
                publications += pieces.map { ResumableStreamPublication($0, toEach: audience.plain, onReceivers: report) }
            }
            if !audience.framed.isEmpty {
                var pieceOffset = offset
                for piece in pieces {
                    let start = pieceOffset
                    pieceOffset += pieces.count == 1 ? characters : piece.utf16.count
                    let frame = ChunkFrame.encodeText(piece, at: start, prefix: textFramePrefix)
                    publications.append(
                        ResumableStreamPublication(frame, toEach: audience.framed) { channel, receivers in
                            switch receivers {
                            case .success(0) where forgetsUnheardListeners: reports.listenerGone(channel)
                            case .success: break
                            case .failure(let error): Self.publishFailed(to: channel, from: start, error, reports: reports, logger: logger)
                            }
                        })
                }
            }
            return publications
        }
    }

    /// A publish to the framed listener on `channel`, of what starts at `offset`, failed: it is sent again.
    private static func publishFailed(
        to channel: String, from offset: Int, _ error: any Error, reports: DeliveryReports, logger: Logger
    ) {
        logger.debug(
            "a publish to a follower failed: its text is sent again",
            metadata: ["stream.listener": "\(channel)", "stream.offset": "\(offset)", "error": "\(error)"])
        reports.undelivered(channel, from: offset)
    }
}
