import Synchronization

/// The bytes a follower relayed that its reader has not read yet: the relay adds what it hands over, the
/// reader's iterator subtracts what it takes. Past the limit, the relay drops the follower (see
/// ``ResumableStreamConfiguration/followerBacklogLimit``), so a reader that stopped reading costs bounded memory
/// and never slows the producer, other followers or the shared subscriber connection.
final class FollowerBacklog: Sendable {
    let limit: Int
    private let bytes = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts `count` more bytes handed to the reader; `false` if that would take the backlog past the limit
    /// (then nothing is counted and the chunk must not be handed over).
    func admit(_ count: Int) -> Bool {
        let total = bytes.add(count, ordering: .relaxed).newValue
        guard total > limit else { return true }
        bytes.subtract(count, ordering: .relaxed)
        return false
    }

    /// Counts `count` bytes the reader took.
    func consumed(_ count: Int) {
        bytes.subtract(count, ordering: .relaxed)
    }
}
