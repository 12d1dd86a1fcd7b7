import Foundation

/// Where and how to connect to Redis.
///
/// Create it from a URL (``init(url:)``) or from the environment (``fromEnvironment(_:defaultURL:)``), then
/// adjust the timeouts if needed. Its `description` never shows the password.
public struct RedisConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// The address of the server.
    public enum Endpoint: Sendable, Hashable {
        /// A TCP address: a host name or an IPv4/IPv6 literal, and a port.
        case tcp(host: String, port: Int)
        /// A unix-domain socket path.
        case unixSocket(path: String)
        /// The primary that Redis Sentinel names, found again after every drop (a failover).
        case sentinel(RedisSentinelConfiguration)
        /// A Redis Cluster, reached through these seed nodes: commands go to the primary of their key's slot,
        /// classic pub/sub to the first seed that answers (classic pub/sub reaches every node of a cluster), shard
        /// channels to the primary of their slot.
        case cluster(seeds: [RedisAddress])
    }

    /// The address of the server.
    public var endpoint: Endpoint
    /// The ACL user name for `AUTH user password`; `nil` sends `AUTH password` (the `default` user).
    public var username: String?
    /// The password; `nil` sends no `AUTH`.
    public var password: String?
    /// The logical database selected with `SELECT` after every (re)connection.
    public var database: Int
    /// The longest a connection attempt may take, including `AUTH` and `SELECT`.
    public var connectTimeout: Duration
    /// The longest the server may stay silent while commands wait for their replies before the connection is
    /// reset and the pending commands fail with ``RedisError/commandTimeout(_:)``.
    public var commandTimeout: Duration
    /// The delay before the first reconnection attempt after a drop; it doubles per failed attempt.
    public var reconnectInitialDelay: Duration
    /// The longest delay between two reconnection attempts (before jitter of up to a quarter of it).
    public var reconnectMaximumDelay: Duration
    /// TLS to the server (`rediss://`, and to the primary for `rediss-sentinel://`); `nil` for a plain connection.
    /// Not for ``Endpoint/unixSocket(path:)``.
    public var tls: RedisTLSConfiguration?
    /// Whether the resumable streams on this deployment use shard channels (`SSUBSCRIBE` and `SPUBLISH`, Redis 7)
    /// rather than classic pub/sub (the URL's `sharded_pubsub=yes`). On a cluster each stream's channels then live
    /// on the primary of its slot, beside its keys, so that pub/sub grows with the primaries instead of running
    /// through one node. Only where every instance is this library: a TypeScript `resumable-stream` publishes and
    /// subscribes classic channels, and would not hear these.
    public var shardedPubSub = false

    /// A configuration with default timeouts: 5 s to connect, 10 s of silence for commands, reconnection
    /// after 50 ms doubling to at most 500 ms.
    public init(
        endpoint: Endpoint,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Duration = .seconds(5),
        commandTimeout: Duration = .seconds(10),
        reconnectInitialDelay: Duration = .milliseconds(50),
        reconnectMaximumDelay: Duration = .milliseconds(500),
        tls: RedisTLSConfiguration? = nil
    ) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.reconnectInitialDelay = reconnectInitialDelay
        self.reconnectMaximumDelay = reconnectMaximumDelay
        self.tls = tls
    }

    /// Parses `redis://[user[:password]@]host[:port][/db]`, `rediss://` (the same with TLS),
    /// `unix:///path/to/redis.sock[?db=N]`, `redis-sentinel://[user[:password]@]host1[:port],host2[:port]/name[?db=N]`
    /// or `rediss-sentinel://` (the same with TLS to the sentinels and to the primary, as Lettuce reads it).
    ///
    /// For Sentinel, the credentials are the primary's; the sentinels' own come from the query items
    /// `sentinel_username` and `sentinel_password`, and a sentinel's port defaults to 26379. The TLS query items
    /// below apply to the sentinels and the primary alike.
    ///
    /// User and password may be percent-encoded. `rediss://` verifies the server against the system's trust
    /// store; query items adjust it with the names redis-py uses: `ssl_ca_certs` (a PEM CA file),
    /// `ssl_certfile` and `ssl_keyfile` (a client certificate for mutual TLS), `ssl_server_hostname` (the name
    /// sent as SNI and checked) and `ssl_cert_reqs=none` (no verification, for development only). Errors name
    /// the faulty part but never repeat any of the URL, so they cannot leak the password, even one whose
    /// unencoded '/' made part of it look like the port or the path.
    public init(url: String) throws {
        for scheme in ["redis-sentinel", "rediss-sentinel"] where url.lowercased().hasPrefix(scheme + "://") {
            self = try Self(sentinelURL: url, scheme: scheme)
            return
        }
        if url.lowercased().hasPrefix("redis-cluster://") {
            self = try Self(clusterURL: url)
            return
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw RedisError.invalidURL("expected \(Self.acceptedURLForms)")
        }
        switch scheme {
        case "redis", "rediss":
            try Self.rejectUserInfoAfterTheHost(components)
            guard var host = components.host, !host.isEmpty else {
                throw RedisError.invalidURL("the URL has no host")
            }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            let port = components.port ?? 6379
            guard RedisAddress.validPorts.contains(port) else { throw RedisError.invalidURL("the port is out of range (\(RedisAddress.validPorts))") }
            let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let database: Int
            if path.isEmpty {
                database = try Self.database(fromQuery: components) ?? 0
            } else if let number = Int(path), number >= 0 {
                database = number
            } else {
                throw RedisError.invalidURL("the path must be a database number")
            }
            let tls = scheme == "rediss" ? try Self.tls(fromQuery: components) : nil
            self.init(endpoint: .tcp(host: host, port: port), database: database, tls: tls)
        case "unix":
            let path = components.path
            guard !path.isEmpty else { throw RedisError.invalidURL("the unix URL has no socket path") }
            self.init(endpoint: .unixSocket(path: path), database: try Self.database(fromQuery: components) ?? 0)
        default:
            throw RedisError.invalidURL("unsupported scheme: expected \(Self.acceptedURLForms)")
        }
        (username, password) = Self.credentials(of: components)
    }

    /// The configuration from `REDIS_URL`, else `KV_URL` (as the TypeScript package reads them), else
    /// `defaultURL`.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        defaultURL: String = "redis://127.0.0.1:6379"
    ) throws -> RedisConfiguration {
        let url = [environment["REDIS_URL"], environment["KV_URL"]]
            .compactMap { $0 }
            .first { !$0.isEmpty }
        return try RedisConfiguration(url: url ?? defaultURL)
    }

    /// The URL with the password replaced by `***`.
    public var description: String {
        var credentials = ""
        if password != nil { credentials = "\(username ?? ""):***@" }
        switch endpoint {
        case .tcp(let host, let port):
            return "\(tls == nil ? "redis" : "rediss")://\(credentials)\(RedisAddress(host: host, port: port))/\(database)"
        case .unixSocket(let path):
            return "unix://\(credentials)\(path)?db=\(database)"
        case .sentinel(let sentinel):
            let hosts = sentinel.sentinels.map(\.description).joined(separator: ",")
            let scheme = tls == nil && sentinel.tls == nil ? "redis-sentinel" : "rediss-sentinel"
            return "\(scheme)://\(credentials)\(hosts)/\(sentinel.primaryName)?db=\(database)"
        case .cluster(let seeds):
            let query = shardedPubSub ? "?sharded_pubsub=yes" : ""
            return "redis-cluster://\(credentials)\(seeds.map(\.description).joined(separator: ","))\(query)"
        }
    }

    /// `redis-sentinel://[user[:password]@]host1[:port],host2[:port]/name[?db=N&sentinel_username=…&sentinel_password=…]`,
    /// or `rediss-sentinel://` with TLS: URLComponents cannot take several hosts, so the hosts are cut out first
    /// and the rest parsed as a URL.
    private init(sentinelURL url: String, scheme: String) throws {
        let (sentinels, components) = try Self.parseHostList(url, scheme: scheme, defaultPort: 26379)
        let name = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard !name.isEmpty, !name.contains("/") else { throw RedisError.invalidURL("the path must be the primary's name") }
        let query = components.queryItems ?? []
        let value = { (name: String) in query.first { $0.name == name }?.value.flatMap { $0.isEmpty ? nil : $0 } }
        let tls = scheme == "rediss-sentinel" ? try Self.tls(fromQuery: components) : nil
        let sentinel = RedisSentinelConfiguration(
            sentinels: sentinels, primaryName: name, username: value("sentinel_username"), password: value("sentinel_password"), tls: tls)
        self.init(endpoint: .sentinel(sentinel), database: try Self.database(fromQuery: components) ?? 0, tls: tls)
        (username, password) = Self.credentials(of: components)
    }

    /// `redis-cluster://[user[:password]@]host1[:port],host2[:port][?sharded_pubsub=yes]`: the seed nodes (port
    /// 6379 by default), and whether streams use shard channels (``shardedPubSub``).
    private init(clusterURL url: String) throws {
        let (seeds, components) = try Self.parseHostList(url, scheme: "redis-cluster", defaultPort: 6379)
        guard components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/")).isEmpty else {
            throw RedisError.invalidURL("a cluster has only database 0: the URL takes no path")
        }
        self.init(endpoint: .cluster(seeds: seeds))
        (username, password) = Self.credentials(of: components)
        switch components.queryItems?.first(where: { $0.name == "sharded_pubsub" })?.value?.lowercased() {
        case nil, "no", "false", "0": shardedPubSub = false
        case "yes", "true", "1": shardedPubSub = true
        default: throw RedisError.invalidURL("sharded_pubsub takes yes or no")
        }
    }

    /// Every URL form ``init(url:)`` accepts, for its errors.
    static let acceptedURLForms =
        "redis://host[:port][/db], rediss://host[:port][/db], unix:///path/to/redis.sock, "
        + "redis-sentinel://host[:port],host[:port]/primary-name (rediss-sentinel:// with TLS) or "
        + "redis-cluster://host[:port],host[:port][?sharded_pubsub=yes]"

    /// The hosts of `scheme://[credentials@]host1[:port],host2[:port][/path][?query]`, and the rest as the
    /// components of a single-host URL (URLComponents cannot take several hosts, so they are cut out first).
    private static func parseHostList(_ url: String, scheme: String, defaultPort: Int) throws -> ([RedisAddress], URLComponents) {
        let rest = url.dropFirst(scheme.count + 3)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let credentialsEnd = authority.lastIndex(of: "@")
        let hostList = credentialsEnd.map { authority[authority.index(after: $0)...] } ?? authority
        let credentials = credentialsEnd.map { authority[..<$0] + "@" } ?? ""
        var hosts: [RedisAddress] = []
        for entry in hostList.split(separator: ",", omittingEmptySubsequences: false) {
            guard let parsed = URLComponents(string: "redis://\(entry)"), var host = parsed.host, !host.isEmpty else {
                throw RedisError.invalidURL("an address of the list is not host[:port]")
            }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            let port = parsed.port ?? defaultPort
            guard RedisAddress.validPorts.contains(port) else { throw RedisError.invalidURL("the port is out of range (\(RedisAddress.validPorts))") }
            hosts.append(RedisAddress(host: host, port: port))
        }
        guard let components = URLComponents(string: "redis://\(credentials)hosts\(rest[authorityEnd...])") else {
            throw RedisError.invalidURL("expected \(scheme)://host1[:port],host2[:port]")
        }
        try rejectUserInfoAfterTheHost(components)
        return (hosts, components)
    }

    /// An unencoded '/', '?' or '#' in a password ends the host part early, leaving the rest of the password and
    /// its '@' in the path or the fragment: refused, without repeating any of it (nor the port it was taken for).
    private static func rejectUserInfoAfterTheHost(_ components: URLComponents) throws {
        guard components.path.contains("@") || (components.fragment ?? "").contains("@") else { return }
        throw RedisError.invalidURL("an '@' after the host: percent-encode '/', '?' and '#' in the user name and password")
    }

    /// The user and password of a URL: `user:password@`, or `password@` alone for the default user.
    private static func credentials(of components: URLComponents) -> (user: String?, password: String?) {
        let user = components.user.flatMap { $0.isEmpty ? nil : $0 }
        let password = components.password.flatMap { $0.isEmpty ? nil : $0 }
        if let password { return (user, password) }
        // `redis://secret@host` is the widespread shorthand for a password with the default user.
        return (nil, user)
    }

    private static func tls(fromQuery components: URLComponents) throws -> RedisTLSConfiguration {
        var tls = RedisTLSConfiguration.default
        for item in components.queryItems ?? [] {
            guard let value = item.value, !value.isEmpty else { continue }
            switch item.name {
            case "ssl_ca_certs": tls.trustRoots = .file(path: value)
            case "ssl_certfile": tls.certificateChainFile = value
            case "ssl_keyfile": tls.privateKeyFile = value
            case "ssl_server_hostname": tls.serverName = value
            case "ssl_cert_reqs":
                switch value.lowercased() {
                case "none": tls.verification = .insecureNoVerification
                case "required": tls.verification = .full
                default: throw RedisError.invalidURL("ssl_cert_reqs must be 'required' or 'none'")
                }
            default: continue
            }
        }
        guard (tls.certificateChainFile == nil) == (tls.privateKeyFile == nil) else {
            throw RedisError.invalidURL("ssl_certfile and ssl_keyfile go together")
        }
        return tls
    }

    private static func database(fromQuery components: URLComponents) throws -> Int? {
        guard let value = components.queryItems?.first(where: { $0.name == "db" })?.value else { return nil }
        guard let number = Int(value), number >= 0 else {
            throw RedisError.invalidURL("db must be a non-negative integer")
        }
        return number
    }
}
