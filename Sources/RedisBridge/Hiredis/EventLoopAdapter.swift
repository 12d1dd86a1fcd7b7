import CHiredis
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the adapter reports to the connection that owns the hiredis context.
protocol EventLoopAdapterDelegate: AnyObject {
    /// A complete reply, read while ``EventLoopAdapter/readsRepliesItself``; valid only during the call.
    func adapterDidRead(_ reply: UnsafePointer<redisReply>)
    /// One readiness event was fully processed (every reply of that read was dispatched).
    func adapterDidFinishReadEvent()
    /// hiredis is freeing the context (`ev.cleanup`): the one reliable "context is gone" signal. `reason` is
    /// the context's error string, if it had one.
    func adapterDidCleanUp(reason: String?)
}

/// Drives one `redisAsyncContext` from libdispatch: hiredis's `ev` hooks (addRead, delRead, addWrite,
/// delWrite, cleanup) mapped onto dispatch sources on the connection's serial queue.
///
/// Rules this follows (hiredis 0.14 `async.c` and libdispatch behaviour, checked on this platform):
/// - hiredis calls addRead/addWrite over and over, and dispatch sources crash on over-resume:
///   ``EventLoopStateMachine`` makes the hooks idempotent and decides between a coalesced flush and the
///   write source.
/// - libdispatch keys epoll registrations by fd number, and hiredis closes its fd right after `cleanup` while a
///   reconnect may reuse the number: each source watches its own `dup` of the fd and closes it when cancelled.
/// - Writes go through `chiredis_async_handle_write`, which keeps a write to a closed socket from raising
///   SIGPIPE (whose default action ends the process) without touching the host's signal disposition.
/// - `cleanup` may run inside `redisAsyncHandleRead` (hiredis frees the context on EOF), so handlers check
///   `context` after every call into hiredis.
final class EventLoopAdapter {
    private let queue: DispatchQueue
    private var context: UnsafeMutablePointer<redisAsyncContext>?
    private weak var delegate: EventLoopAdapterDelegate?
    private let readSource: DispatchSourceRead
    private let writeSource: DispatchSourceWrite
    private let readFD: Int32
    private var sources = EventLoopStateMachine()
    /// Whether replies go to the delegate as they are read, rather than through hiredis's callback lists (for
    /// a subscriber: hiredis 0.14 ends the process on a push it does not know, such as `smessage`).
    var readsRepliesItself = false

    /// Attaches an adapter to a fresh context. Must run on `queue`, before `redisAsyncSetConnectCallback`
    /// (which calls addWrite at once). Returns `nil` if the fd could not be duplicated.
    static func attach(
        to context: UnsafeMutablePointer<redisAsyncContext>,
        queue: DispatchQueue,
        delegate: EventLoopAdapterDelegate
    ) -> EventLoopAdapter? {
        let fd = chiredis_context_fd(context)
        let readFD = duplicateCloseOnExec(fd)
        guard readFD >= 0 else { return nil }
        let writeFD = duplicateCloseOnExec(fd)
        guard writeFD >= 0 else {
            close(readFD)
            return nil
        }
        let adapter = EventLoopAdapter(
            context: context, queue: queue, delegate: delegate, readFD: readFD, writeFD: writeFD
        )
        // hiredis holds the adapter until `cleanup`, which releases this retain.
        context.pointee.ev.data = Unmanaged.passRetained(adapter).toOpaque()
        context.pointee.ev.addRead = { EventLoopAdapter.from($0).startReading() }
        context.pointee.ev.delRead = { EventLoopAdapter.from($0).stopReading() }
        context.pointee.ev.addWrite = { EventLoopAdapter.from($0).requestWrite() }
        context.pointee.ev.delWrite = { EventLoopAdapter.from($0).stopWriteSource() }
        context.pointee.ev.cleanup = { data in
            guard let data else { return }
            let adapter = Unmanaged<EventLoopAdapter>.fromOpaque(data)
            adapter.takeUnretainedValue().tearDown()
            adapter.release()
        }
        return adapter
    }

    private init(
        context: UnsafeMutablePointer<redisAsyncContext>,
        queue: DispatchQueue,
        delegate: EventLoopAdapterDelegate,
        readFD: Int32,
        writeFD: Int32
    ) {
        self.context = context
        self.queue = queue
        self.delegate = delegate
        self.readFD = readFD
        readSource = DispatchSource.makeReadSource(fileDescriptor: readFD, queue: queue)
        writeSource = DispatchSource.makeWriteSource(fileDescriptor: writeFD, queue: queue)
        // The handlers hold the adapter strongly while they run; the cancel handlers drop them, which ends
        // the cycle once the context is gone.
        readSource.setEventHandler { [self] in handleReadable() }
        writeSource.setEventHandler { [self] in handleWritable() }
        readSource.setCancelHandler { [readSource] in
            close(readFD)
            readSource.setEventHandler(handler: nil)
        }
        writeSource.setCancelHandler { [writeSource] in
            close(writeFD)
            writeSource.setEventHandler(handler: nil)
        }
    }

    private static func from(_ data: UnsafeMutableRawPointer?) -> EventLoopAdapter {
        Unmanaged<EventLoopAdapter>.fromOpaque(data!).takeUnretainedValue()
    }

    private func handleReadable() {
        // redisAsyncHandleRead reads at most 16 KiB per call: keep reading while the socket has more, so
        // that one read event delivers one batch, but bound the loop so other work on the queue still runs.
        var rounds = 0
        while let context {
            if readsRepliesItself { readReplies(context) } else { redisAsyncHandleRead(context) }
            rounds += 1
            guard self.context != nil, rounds < 64, chiredis_bytes_available(readFD) > 0 else { break }
        }
        delegate?.adapterDidFinishReadEvent()
    }

    /// What `redisAsyncHandleRead` does on a connected context, with each reply handed to the delegate: a read
    /// error or EOF frees the context (cleanup reports hiredis's reason), as hiredis's own read does.
    private func readReplies(_ context: UnsafeMutablePointer<redisAsyncContext>) {
        guard chiredis_buffer_read(context) == REDIS_OK else { return redisAsyncFree(context) }
        var reply: UnsafeMutableRawPointer?
        // The delegate may end the connection: the context is gone once `self.context` is nil.
        while self.context != nil {
            guard chiredis_next_reply(context, &reply) == REDIS_OK else { return redisAsyncFree(context) }
            guard let complete = reply else { return }
            reply = nil
            delegate?.adapterDidRead(complete.assumingMemoryBound(to: redisReply.self))
            freeReplyObject(complete)
        }
    }

    /// hiredis's addWrite, for a command appended without it (by a connection that reads its replies itself).
    func requestWrite() {
        guard let context else { return }
        switch sources.writeRequested(isConnected: chiredis_context_is_connected(context) != 0) {
        case .resumeWriteSource: writeSource.resume()
        case .scheduleFlush: queue.async { [self] in flush() }
        case .none: break
        }
    }

    private func handleWritable() {
        guard let context else { return }
        chiredis_async_handle_write(context)
    }

    private func startReading() {
        if sources.readRequested() == .resume { readSource.resume() }
    }

    private func stopReading() {
        if sources.readStopped() == .suspend { readSource.suspend() }
    }

    private func flush() {
        guard let context, sources.flushStarted() else { return }
        chiredis_async_handle_write(context)
        sources.flushEnded()
    }

    private func stopWriteSource() {
        if sources.writeStopped() == .suspend { writeSource.suspend() }
    }

    private func tearDown() {
        let reason = context.flatMap { chiredis_context_err($0) != 0 ? String(cString: chiredis_context_errstr($0)) : nil }
        context = nil
        let resume = sources.tornDown()
        if resume.resumeReadSource { readSource.resume() }
        if resume.resumeWriteSource { writeSource.resume() }
        readSource.cancel()
        writeSource.cancel()
        delegate?.adapterDidCleanUp(reason: reason)
    }
}

// Confined to the connection's serial queue: hiredis calls the hooks there, and the dispatch sources and the
// coalesced flush run there.
extension EventLoopAdapter: @unchecked Sendable {}
