import Foundation
import RedisBridge

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway `redis-server` for tests and benchmarks: a free loopback port, a temporary directory, no
/// persistence. Fault tests can stop it, kill it (`SIGKILL`) and restart it on the same address.
public final class RedisServer: @unchecked Sendable {
    // @unchecked Sendable: the mutable state (the child process) is only touched under `lock`.
    private let lock = NSLock()
    private var process: Process?
    private let directory: URL?
    private let arguments: [String]

    /// The loopback address the server listens on.
    public let host: String
    /// The TCP port.
    public let port: Int
    /// The unix socket path, when started with `unixSocket: true`.
    public let unixSocketPath: String?
    /// The TLS port, when started with `tls` arguments (the plain ``port`` stays open for the harness).
    public let tlsPort: Int?
    /// Whether this object started the server (and may stop, kill and restart it). `false` for a server from
    /// `REDIS_URL`.
    public let isManaged: Bool

    /// `redis://host:port`, without credentials.
    public var url: String { "redis://\(host):\(port)" }

    /// The port a client reaches the server on: the TLS port `overTLS` (if it has one), else the plain one.
    public func port(overTLS: Bool) -> Int {
        overTLS ? tlsPort ?? port : port
    }

    /// `rediss://localhost:tlsPort`, without credentials or TLS options; `nil` without a TLS port.
    public var tlsURL: String? { tlsPort.map { "rediss://localhost:\($0)" } }

    /// Errors of the harness.
    public enum Failure: Error, CustomStringConvertible {
        case redisServerNotFound
        case didNotStart(String)
        case notManaged
        case command(String)

        public var description: String {
            switch self {
            case .redisServerNotFound: "redis-server not found on PATH: run `make setup` or set REDIS_URL"
            case .didNotStart(let log): "redis-server did not start: \(log)"
            case .notManaged: "this Redis server comes from REDIS_URL and cannot be stopped or restarted"
            case .command(let message): message
            }
        }
    }

    private init(
        host: String, port: Int, unixSocketPath: String?, tlsPort: Int? = nil, directory: URL?, arguments: [String], isManaged: Bool
    ) {
        self.host = host
        self.port = port
        self.unixSocketPath = unixSocketPath
        self.tlsPort = tlsPort
        self.directory = directory
        self.arguments = arguments
        self.isManaged = isManaged
    }

    /// An external server (from `REDIS_URL`): only ``cli(_:password:user:)`` works on it.
    public static func external(host: String, port: Int) -> RedisServer {
        RedisServer(host: host, port: port, unixSocketPath: nil, directory: nil, arguments: [], isManaged: false)
    }

    /// Starts `redis-server` on a free loopback port with `extraArguments` (for example
    /// `["--requirepass", "secret"]`), and waits until it answers. With `tls` (for example
    /// ``TestCertificates/serverArguments(expired:requireClientCertificates:)``) it also listens on a free TLS
    /// port. The blocking work runs off the Swift concurrency pool, which has only as many threads as cores.
    public static func start(extraArguments: [String] = [], unixSocket: Bool = false, tls: [String]? = nil) async throws -> RedisServer {
        try await offload { try startBlocking(extraArguments: extraArguments, unixSocket: unixSocket, tls: tls) }
    }

    /// ``start(extraArguments:unixSocket:tls:)`` for synchronous callers.
    public static func startBlocking(extraArguments: [String] = [], unixSocket: Bool = false, tls: [String]? = nil) throws -> RedisServer {
        try launchOnFreePort { executable, directory, port in
            let socketPath = unixSocket ? directory.appendingPathComponent("redis.sock").path : nil
            var arguments = [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", directory.path, "--logfile", "redis.log",
            ]
            if let socketPath { arguments += ["--unixsocket", socketPath, "--unixsocketperm", "700"] }
            let tlsPort = try tls.map { _ in try freePort() }
            if let tls, let tlsPort { arguments += ["--tls-port", String(tlsPort)] + tls }
            arguments += extraArguments
            return RedisServer(
                host: "127.0.0.1", port: port, unixSocketPath: socketPath, tlsPort: tlsPort, directory: directory,
                arguments: [executable] + arguments, isManaged: true)
        }
    }

    /// Starts a Redis Sentinel (`redis-server <config> --sentinel`) on a free loopback port that monitors
    /// `primary` as `name`, judges it down after `downAfter` of silence and fails over when `quorum` sentinels
    /// agree. Its configuration file lives in its own directory, which Sentinel rewrites as it learns.
    ///
    /// With `tls` (``TestCertificates/serverArguments(expired:requireClientCertificates:)``) it also listens on a
    /// free TLS port, and monitors `primary` on its TLS port through TLS (`tls-replication yes`), as the other
    /// sentinels, which it then reaches on theirs.
    public static func startSentinel(
        monitoring primary: RedisServer, name: String = "mymaster", quorum: Int = 2, downAfter: Duration = .seconds(1), tls: [String]? = nil
    ) async throws -> RedisServer {
        try await offload {
            try launchOnFreePort { executable, directory, port in
                let milliseconds = downAfter.components.seconds * 1000 + downAfter.components.attoseconds / 1_000_000_000_000_000
                let tlsPort = try tls.map { _ in try freePort() }
                // `--tls-cert-file x` on the command line is `tls-cert-file x` in the file.
                let tlsLines = tls.map { arguments in
                    stride(from: 0, to: arguments.count - 1, by: 2).map { "\(arguments[$0].dropFirst(2)) \(arguments[$0 + 1])\n" }.joined()
                        + "tls-port \(tlsPort ?? 0)\ntls-replication yes\n"
                }
                let configuration = """
                    port \(port)
                    bind 127.0.0.1
                    dir \(directory.path)
                    logfile redis.log
                    \(tlsLines ?? "")sentinel monitor \(name) 127.0.0.1 \(primary.port(overTLS: tls != nil)) \(quorum)
                    sentinel down-after-milliseconds \(name) \(milliseconds)
                    sentinel failover-timeout \(name) 10000
                    sentinel parallel-syncs \(name) 1

                    """
                let file = directory.appendingPathComponent("sentinel.conf")
                try configuration.write(to: file, atomically: true, encoding: .utf8)
                return RedisServer(
                    host: "127.0.0.1", port: port, unixSocketPath: nil, tlsPort: tlsPort, directory: directory,
                    arguments: [executable, file.path, "--sentinel"], isManaged: true)
            }
        }
    }

    /// Makes a server with `make` (given `redis-server`'s path, a new directory and a free port) and launches
    /// it, trying again with another port (another process may take a free port first) up to five times.
    private static func launchOnFreePort(_ make: (_ executable: String, _ directory: URL, _ port: Int) throws -> RedisServer) throws -> RedisServer {
        guard let executable = findExecutable("redis-server") else { throw Failure.redisServerNotFound }
        var lastError: (any Error)?
        for _ in 0..<5 {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let server = try make(executable, directory, try freePort())
            do {
                try server.launch()
                return server
            } catch {
                lastError = error
                server.terminate()
            }
        }
        throw lastError ?? Failure.didNotStart("no free port")
    }

    deinit {
        terminate()
    }

    /// Whether the managed server process runs.
    public var isRunning: Bool {
        lock.withLock { process?.isRunning ?? false }
    }

    /// Stops the server at once (a throwaway server has nothing to save) and returns when it is gone. Quick
    /// and synchronous, for `defer`.
    public func stop() throws {
        guard isManaged else { throw Failure.notManaged }
        killServer()
    }

    /// Kills the server with `SIGKILL`, as a crash would, and returns when it is gone.
    public func kill() async throws {
        guard isManaged else { throw Failure.notManaged }
        await RedisServer.offload { self.killServer() }
    }

    /// The server's log so far (empty for an external server).
    public var log: String {
        directory.flatMap { try? String(contentsOf: $0.appendingPathComponent("redis.log"), encoding: .utf8) } ?? ""
    }

    /// Freezes the server (`SIGSTOP`): its port still accepts connections (the kernel completes them) but
    /// nothing is answered, as with a hung server or a black-holed network. ``thaw()`` resumes it.
    public func freeze() throws {
        try signalServer(SIGSTOP)
    }

    /// Resumes a server frozen by ``freeze()`` (`SIGCONT`).
    public func thaw() throws {
        try signalServer(SIGCONT)
    }

    private func signalServer(_ signal: Int32) throws {
        guard isManaged else { throw Failure.notManaged }
        guard let pid = serverPID else { throw Failure.command("the server is not running") }
        Glibc.kill(pid, signal)
    }

    /// The pid of this object's running redis-server, from its pid file.
    private var serverPID: Int32? {
        guard let pidFile, let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), isThisServer(pid)
        else { return nil }
        return pid
    }

    /// Starts the server again on the same port, socket and arguments (killing it first if it runs).
    public func restart() async throws {
        guard isManaged else { throw Failure.notManaged }
        try await RedisServer.offload {
            self.killServer()
            try self.launch()
        }
    }

    /// Sends one command over a short-lived connection (no `redis-cli` process: harnesses poll with it) and
    /// returns the reply as text, an array's elements one per line, nested arrays flattened.
    public func query(_ arguments: [String]) async throws -> String {
        let commands = RedisCommandConnection(configuration: try RedisConfiguration(url: url))
        do {
            let reply = try await commands.send(arguments.map(RESPArgument.string))
            await commands.close()
            return Self.text(of: reply)
        } catch {
            await commands.close()
            throw error
        }
    }

    private static func text(of value: RedisValue) -> String {
        switch value {
        case .array(let elements): elements.map(text(of:)).joined(separator: "\n")
        case .integer(let number): String(number)
        default: value.string ?? ""
        }
    }

    /// Runs `redis-cli` against the server and returns its trimmed output.
    public func cli(_ arguments: [String], password: String? = nil, user: String? = nil) async throws -> String {
        try await RedisServer.offload { try self.cliBlocking(arguments, password: password, user: user) }
    }

    private func cliBlocking(_ arguments: [String], password: String?, user: String?) throws -> String {
        guard let executable = RedisServer.findExecutable("redis-cli") else {
            throw Failure.command("redis-cli not found on PATH: run `make setup`")
        }
        var all = ["-h", host, "-p", String(port)]
        if let user { all += ["--user", user] }
        if let password { all += ["--no-auth-warning", "-a", password] }
        let (status, output) = try RedisServer.run(executable, all + arguments)
        guard status == 0 else { throw Failure.command("redis-cli \(arguments.first ?? "") exited with \(status): \(output)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: private

    /// Runs blocking work (process spawning, waiting) on a dispatch thread instead of the concurrency pool.
    private static func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    private static func offload(_ work: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                work()
                continuation.resume()
            }
        }
    }

    /// Runs redis-server under a small shell that kills it when this process dies, so that a test run that
    /// crashes or is killed leaves no server behind (`atexit` handlers do not run then).
    private static let guardScript = """
        "$0" "$@" & server=$!
        while kill -0 $PPID 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 0.2; done
        kill -9 $server 2>/dev/null
        wait $server
        """

    private var pidFile: String? { directory?.appendingPathComponent("redis.pid").path }

    private func launch() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", RedisServer.guardScript] + arguments + ["--pidfile", pidFile ?? "/dev/null"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        lock.withLock { self.process = process }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if !process.isRunning { break }
            if RedisServer.answersPing(port: port) { return }
            usleep(20_000)
        }
        throw Failure.didNotStart(log.split(separator: "\n").suffix(5).joined(separator: "\n"))
    }

    /// `SIGKILL` to this object's redis-server (not `SIGTERM`: a child spawned from a dispatch worker thread
    /// inherits its blocked signal mask), then a short wait until the process is gone and its port closed.
    /// Only our own server: after it exited, its pid may be reused by any process or thread (this one's
    /// included), and another test's server may listen on the same port.
    private func killServer() {
        guard let pid = serverPID else { return }
        Glibc.kill(pid, SIGKILL)
        let deadline = Date().addingTimeInterval(2)
        while isThisServer(pid) && Date() < deadline { usleep(2_000) }
        // The process title goes before the sockets close; bounded, as another server may take the port.
        while RedisServer.answersPing(port: port) && Date() < deadline { usleep(2_000) }
    }

    /// Whether `pid` is a redis-server listening on this port (its process title is `redis-server host:port`)
    /// and a child of the guard shell that this object started.
    private func isThisServer(_ pid: Int32) -> Bool {
        guard let shell = lock.withLock({ process?.processIdentifier }),
            let title = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let parent = stat.split(separator: ")").last?.split(separator: " ").dropFirst().first.flatMap({ Int32($0) })
        else { return false }
        // A zombie (state Z) has exited and closed its sockets; the guard shell reaps it.
        let state = stat.split(separator: ")").last?.split(separator: " ").first
        return title.contains("redis-server") && title.contains(":\(port)") && parent == shell && state != "Z"
    }

    fileprivate func terminate() {
        if isManaged { killServer() }
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return (path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"])
            .map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A port the kernel just handed out for 127.0.0.1 and that is free again: for a server to start on, or
    /// for a connection that must be refused.
    public static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failure.didNotStart("could not find a free port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something on 127.0.0.1:`port` answers a PING with any reply line (`+PONG` or `-NOAUTH`).
    private static func answersPing(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let ping = Array("PING\r\n".utf8)
        guard send(descriptor, ping, ping.count, 0) == ping.count else { return false }
        var reply = [UInt8](repeating: 0, count: 64)
        let received = recv(descriptor, &reply, reply.count, 0)
        return received > 0 && (reply[0] == UInt8(ascii: "+") || reply[0] == UInt8(ascii: "-"))
    }
}

/// The Redis server shared by one test or benchmark process.
public enum SharedRedis {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: RedisServer?

    /// `REDIS_URL`'s server when set (not managed: it is never stopped), else one throwaway server started on
    /// first use and killed when the process exits.
    public static var server: RedisServer {
        get throws {
            try lock.withLock {
                if let started { return started }
                let server: RedisServer
                if let url = ProcessInfo.processInfo.environment["REDIS_URL"], !url.isEmpty,
                    let components = URLComponents(string: url), let host = components.host
                {
                    server = .external(host: host, port: components.port ?? 6379)
                } else {
                    server = try .startBlocking()
                    atexit { SharedRedis.stopAtExit() }
                }
                started = server
                return server
            }
        }
    }

    private static func stopAtExit() {
        lock.withLock { started }?.terminate()
    }
}
