import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One direction of readiness (readable or writable) of a socket, as a dispatch source on a connection's
/// queue that can be switched on and off any number of times.
///
/// The source watches its own `dup` of the descriptor and closes it when cancelled: libdispatch keys its epoll
/// registrations by descriptor number, so the owner may close the original at once and a new connection may
/// reuse the number while the cancellation is still under way. A suspended source cannot be cancelled or
/// released, so ``cancel()`` resumes it first.
final class SocketWatcher {
    enum Direction {
        case readable
        case writable
    }

    private let source: any DispatchSourceProtocol
    private var isOn = false
    private var isCancelled = false

    /// A watcher that starts off; `nil` if the descriptor could not be duplicated.
    init?(_ descriptor: Int32, _ direction: Direction, queue: DispatchQueue, handler: @escaping () -> Void) {
        let watched = duplicateCloseOnExec(descriptor)
        guard watched >= 0 else { return nil }
        source =
            switch direction {
            case .readable: DispatchSource.makeReadSource(fileDescriptor: watched, queue: queue)
            case .writable: DispatchSource.makeWriteSource(fileDescriptor: watched, queue: queue)
            }
        source.setEventHandler(handler: handler)
        // Dropping the handler ends the cycle between the owner and the source.
        source.setCancelHandler { [source] in
            close(watched)
            source.setEventHandler(handler: nil)
        }
    }

    /// Whether readiness is reported; switching to the current state does nothing.
    var isEnabled: Bool {
        get { isOn }
        set {
            guard newValue != isOn, !isCancelled else { return }
            isOn = newValue
            if newValue { source.resume() } else { source.suspend() }
        }
    }

    /// Stops for good; the duplicate descriptor closes once libdispatch let go of it.
    func cancel() {
        guard !isCancelled else { return }
        isCancelled = true
        if !isOn { source.resume() }
        source.cancel()
    }
}
