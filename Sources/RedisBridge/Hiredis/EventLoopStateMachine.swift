/// What the ``EventLoopAdapter``'s dispatch sources must do for hiredis's `ev` hooks, as a value.
///
/// hiredis calls addRead and addWrite over and over, and a dispatch source crashes when resumed twice or
/// released while suspended: this keeps the hooks idempotent. Writes go out in one coalesced flush on the
/// queue; the write source only runs while connecting (completion shows as writability) and after a short
/// write, because a connected socket is nearly always writable and a resumed write source would spin.
struct EventLoopStateMachine {
    /// Whether the read source is resumed.
    private(set) var isReading = false
    /// Whether the write source is resumed.
    private(set) var isWriteSourceActive = false
    private var isFlushScheduled = false
    private var isFlushing = false
    /// hiredis freed the context: no source is resumed or suspended again.
    private var isTornDown = false

    enum SourceAction: Equatable {
        case resume
        case suspend
        case none
    }

    /// hiredis's addRead.
    mutating func readRequested() -> SourceAction {
        guard !isReading, !isTornDown else { return .none }
        isReading = true
        return .resume
    }

    /// hiredis's delRead.
    mutating func readStopped() -> SourceAction {
        guard isReading else { return .none }
        isReading = false
        return .suspend
    }

    enum WriteAction: Equatable {
        /// Wait for the socket: resume the write source.
        case resumeWriteSource
        /// Write on a later turn of the queue, coalescing the commands issued until then.
        case scheduleFlush
        case none
    }

    /// hiredis's addWrite. `isConnected` is false while the connection is being made.
    mutating func writeRequested(isConnected: Bool) -> WriteAction {
        guard !isWriteSourceActive, !isTornDown else { return .none }
        if isFlushing || !isConnected {
            // Connecting, or the flush under way left bytes the socket would not take: wait for the fd.
            isWriteSourceActive = true
            return .resumeWriteSource
        }
        guard !isFlushScheduled else { return .none }
        isFlushScheduled = true
        return .scheduleFlush
    }

    /// hiredis's delWrite.
    mutating func writeStopped() -> SourceAction {
        guard isWriteSourceActive else { return .none }
        isWriteSourceActive = false
        return .suspend
    }

    /// The scheduled flush runs: whether to write now (not if the write source took over meanwhile). If so,
    /// ``flushEnded()`` follows the write.
    mutating func flushStarted() -> Bool {
        isFlushScheduled = false
        guard !isWriteSourceActive, !isTornDown else { return false }
        isFlushing = true
        return true
    }

    mutating func flushEnded() {
        isFlushing = false
    }

    /// The sources to resume before cancelling them (a suspended source never runs its cancel handler, and
    /// releasing one crashes); after this every transition does nothing.
    mutating func tornDown() -> (resumeReadSource: Bool, resumeWriteSource: Bool) {
        defer {
            isTornDown = true
            isReading = false
            isWriteSourceActive = false
        }
        return (!isReading, !isWriteSourceActive)
    }
}
