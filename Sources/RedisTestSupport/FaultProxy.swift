import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on a free loopback port in front of a Redis server, that injects the faults of a bad network:
/// connections dropped, a black hole, latency, half-closed connections, connections cut after some bytes.
/// Tests point the library at ``url`` and call ``inject(_:)``, or ``injectRandomFault(using:)`` with a seeded
/// generator, while streams run through it.
///
/// Each connection is forwarded by two threads with blocking I/O (one per direction); the proxy is for tests
/// with a handful of connections.
public final class FaultProxy: @unchecked Sendable {
    // @unchecked Sendable: the mutable state (the connections and the current faults) is only touched under `lock`.

    /// A fault to inject.
    public enum Fault: Sendable, CustomStringConvertible {
        /// Every open connection is closed at once (both directions), as a network reset would.
        case dropAll
        /// Nothing is forwarded, in either direction, for this long (new connections wait too); then traffic
        /// resumes, as TCP does after retransmissions.
        case blackHole(Duration)
        /// Every forwarded read waits this long, for this long.
        case latency(Duration, during: Duration)
        /// Every open connection is half-closed towards the client: it reads the end of the stream while its
        /// writes still reach Redis.
        case halfCloseTowardsClients
        /// Every open connection is closed after this many more bytes in the given direction.
        case cutAfter(bytes: Int, towardsRedis: Bool)

        public var description: String {
            switch self {
            case .dropAll: "drop all"
            case .blackHole(let duration): "black hole for \(duration)"
            case .latency(let delay, let duration): "latency \(delay) for \(duration)"
            case .halfCloseTowardsClients: "half-close towards clients"
            case .cutAfter(let bytes, let towardsRedis): "cut after \(bytes) bytes \(towardsRedis ? "to Redis" : "to clients")"
            }
        }
    }

    /// One proxied connection: the client's socket and Redis's.
    private final class Pair: @unchecked Sendable {
        // @unchecked Sendable: the descriptors are immutable; `budgets` is only touched under the proxy's lock.
        let client: Int32
        let upstream: Int32
        /// Bytes still allowed per direction (towards Redis, towards the client) before the pair is cut.
        var budgets: [Bool: Int] = [:]

        init(client: Int32, upstream: Int32) {
            self.client = client
            self.upstream = upstream
        }
    }

    /// `redis://127.0.0.1:<port>`: where clients connect.
    public var url: String { "redis://127.0.0.1:\(port)" }
    /// The proxy's port.
    public let port: Int
    private let upstreamPort: Int
    private let listener: Int32
    private let lock = NSLock()
    private var pairs: [ObjectIdentifier: Pair] = [:]
    private var blackHoleUntil = ContinuousClock.now
    private var latency: (delay: Duration, until: ContinuousClock.Instant)?
    private var isStopped = false

    /// Starts a proxy to the Redis server on `upstreamPort` of 127.0.0.1.
    public init(forwardingTo upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RedisServer.Failure.command("proxy: socket() failed") }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            close(fd)
            throw RedisServer.Failure.command("proxy: bind or listen failed")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    deinit {
        stop()
    }

    /// Injects `fault` now.
    public func inject(_ fault: Fault) {
        switch fault {
        case .dropAll:
            // Under the lock: a pair's descriptors are closed only after it left `pairs`, so these are still its own.
            lock.withLock { for pair in pairs.values { cut(pair) } }
        case .blackHole(let duration):
            lock.withLock { blackHoleUntil = max(blackHoleUntil, .now + duration) }
        case .latency(let delay, let duration):
            lock.withLock { latency = (delay, .now + duration) }
        case .halfCloseTowardsClients:
            lock.withLock { for pair in pairs.values { shutdown(pair.client, Int32(SHUT_WR)) } }
        case .cutAfter(let bytes, let towardsRedis):
            lock.withLock { for pair in pairs.values { pair.budgets[towardsRedis] = bytes } }
        }
    }

    /// Injects a fault drawn from `generator`, mostly short ones, and returns it.
    @discardableResult
    public func injectRandomFault<Generator: RandomNumberGenerator>(using generator: inout Generator) -> Fault {
        let fault: Fault =
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<3: .dropAll
            case 3..<5: .blackHole(.milliseconds(Int.random(in: 50...400, using: &generator)))
            case 5..<7: .latency(.milliseconds(Int.random(in: 1...20, using: &generator)), during: .milliseconds(300))
            case 7: .halfCloseTowardsClients
            default: .cutAfter(bytes: Int.random(in: 0...4_096, using: &generator), towardsRedis: Bool.random(using: &generator))
            }
        inject(fault)
        return fault
    }

    /// The number of connections open through the proxy.
    public var connectionCount: Int {
        lock.withLock { pairs.count }
    }

    /// Closes the listener and every connection.
    public func stop() {
        lock.withLock {
            guard !isStopped else { return }
            isStopped = true
            shutdown(listener, Int32(SHUT_RDWR))
            for pair in pairs.values { cut(pair) }
        }
    }

    // MARK: private

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                break
            }
            waitOutBlackHole()
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: upstreamPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard upstream >= 0, connected == 0 else {
                close(client)
                if upstream >= 0 { close(upstream) }
                continue
            }
            let pair = Pair(client: client, upstream: upstream)
            let accepted = lock.withLock { () -> Bool in
                guard !isStopped else { return false }
                pairs[ObjectIdentifier(pair)] = pair
                return true
            }
            guard accepted else {
                close(client)
                close(upstream)
                continue
            }
            let finished = EndedPumps()
            Thread { [self] in pump(pair, towardsRedis: true, finished: finished) }.start()
            Thread { [self] in pump(pair, towardsRedis: false, finished: finished) }.start()
        }
        close(listener)
    }

    /// Forwards one direction of `pair` until either side closes; the second pump to end closes both sockets.
    private func pump(_ pair: Pair, towardsRedis: Bool, finished: EndedPumps) {
        let (source, destination) = towardsRedis ? (pair.client, pair.upstream) : (pair.upstream, pair.client)
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        forwarding: while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            waitOutBlackHole()
            if let delay = currentLatency() { Thread.sleep(forTimeInterval: delay.seconds) }
            let (allowed, cutNow) = lock.withLock { () -> (Int, Bool) in
                guard let budget = pair.budgets[towardsRedis] else { return (count, false) }
                pair.budgets[towardsRedis] = max(0, budget - count)
                return (min(budget, count), budget <= count)
            }
            var sent = 0
            while sent < allowed {
                let written = buffer.withUnsafeBytes { send(destination, $0.baseAddress! + sent, allowed - sent, Int32(MSG_NOSIGNAL)) }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { break forwarding }
                sent += written
            }
            if cutNow { break }
        }
        // The other pump still runs until it sees this: the descriptors are open.
        cut(pair)
        if finished.markAndCheckBoth() {
            // Out of `pairs` before the descriptors close, so that no fault is injected into a reused number.
            lock.withLock { _ = pairs.removeValue(forKey: ObjectIdentifier(pair)) }
            close(pair.client)
            close(pair.upstream)
        }
    }

    /// Ends both directions of `pair` (each pump then sees the end); the descriptors close when both pumps ended.
    private func cut(_ pair: Pair) {
        shutdown(pair.client, Int32(SHUT_RDWR))
        shutdown(pair.upstream, Int32(SHUT_RDWR))
    }

    private func waitOutBlackHole() {
        while true {
            let until = lock.withLock { blackHoleUntil }
            let now = ContinuousClock.now
            guard until > now else { return }
            Thread.sleep(forTimeInterval: (until - now).seconds)
        }
    }

    private func currentLatency() -> Duration? {
        lock.withLock {
            guard let latency, latency.until > .now else { return nil }
            return latency.delay
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// The pumps of one pair that ended: the second to end closes the sockets.
private final class EndedPumps: @unchecked Sendable {
    // @unchecked Sendable: `count` is only touched under `lock`.
    private let lock = NSLock()
    private var count = 0

    /// Records a pump that ended; whether it was the second.
    func markAndCheckBoth() -> Bool {
        lock.withLock {
            count += 1
            return count == 2
        }
    }
}

extension Duration {
    /// The duration in seconds, for `Thread.sleep`.
    fileprivate var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
