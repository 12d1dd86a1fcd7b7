/// Bytes waiting to be written to a socket: appended at the end, written from the front, kept contiguous so
/// one `send` takes as much as the socket accepts.
struct ByteQueue {
    private var storage: [UInt8] = []
    private var start = 0

    var isEmpty: Bool { start == storage.count }
    var count: Int { storage.count - start }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        // Move the unsent rest to the front before it grows, so the storage stays within twice the backlog.
        if start > 0, start >= storage.count / 2 {
            storage.removeSubrange(0..<start)
            start = 0
        }
        storage.append(contentsOf: bytes)
    }

    /// Calls `write` with the unsent bytes and drops the number of them it returns (0 when it wrote nothing).
    mutating func drain(_ write: (UnsafeRawBufferPointer) -> Int) -> Int {
        guard !isEmpty else { return 0 }
        let written = storage.withUnsafeBytes { write(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        guard written > 0 else { return 0 }
        start += written
        if start == storage.count {
            storage.removeAll(keepingCapacity: true)
            start = 0
        }
        return written
    }
}
