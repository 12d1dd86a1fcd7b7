import RedisBridge
import Testing

@Suite("Configuration from URLs and the environment", .timeLimit(.minutes(1)))
struct ConfigurationTests {
    @Test func parsesHostPortAndDatabase() throws {
        let configuration = try RedisConfiguration(url: "redis://cache.internal:6390/3")
        #expect(configuration.endpoint == .tcp(host: "cache.internal", port: 6390))
        #expect(configuration.database == 3)
        #expect(configuration.password == nil)
        #expect(configuration.username == nil)
    }

    @Test func defaultsPortAndDatabase() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost")
        #expect(configuration.endpoint == .tcp(host: "localhost", port: 6379))
        #expect(configuration.database == 0)
    }

    @Test func parsesUserAndPercentEncodedPassword() throws {
        let configuration = try RedisConfiguration(url: "redis://alice:p%40ss%3Aword@127.0.0.1:6379/1")
        #expect(configuration.username == "alice")
        #expect(configuration.password == "p@ss:word")
        #expect(configuration.database == 1)
    }

    @Test func treatsALonePasswordAsTheDefaultUser() throws {
        let withColon = try RedisConfiguration(url: "redis://:secret@127.0.0.1")
        #expect(withColon.username == nil)
        #expect(withColon.password == "secret")
        let withoutColon = try RedisConfiguration(url: "redis://secret@127.0.0.1")
        #expect(withoutColon.username == nil)
        #expect(withoutColon.password == "secret")
    }

    @Test func parsesIPv6Literals() throws {
        let configuration = try RedisConfiguration(url: "redis://[::1]:7000")
        #expect(configuration.endpoint == .tcp(host: "::1", port: 7000))
    }

    @Test func parsesUnixSocketsWithDatabase() throws {
        let configuration = try RedisConfiguration(url: "unix:///var/run/redis/redis.sock?db=5")
        #expect(configuration.endpoint == .unixSocket(path: "/var/run/redis/redis.sock"))
        #expect(configuration.database == 5)
    }

    @Test func redissMeansTLSVerifiedAgainstTheSystemStore() throws {
        let configuration = try RedisConfiguration(url: "rediss://user:pw@cache.example.com:6380/2")
        #expect(configuration.endpoint == .tcp(host: "cache.example.com", port: 6380))
        #expect(configuration.tls == .default)
        #expect(configuration.tls?.verification == .full && configuration.tls?.trustRoots == .system)
        #expect(configuration.description == "rediss://user:***@cache.example.com:6380/2")
        #expect(try RedisConfiguration(url: "redis://host").tls == nil)
    }

    @Test func parsesSentinelURLs() throws {
        let configuration = try RedisConfiguration(
            url: "redis-sentinel://app:p%40ss@10.0.0.1:26380,sentinel-b,[::1]:26381/cache?db=3&sentinel_password=s3nt&sentinel_username=watcher")
        let sentinels = [
            RedisAddress(host: "10.0.0.1", port: 26380), .init(host: "sentinel-b", port: 26379), .init(host: "::1", port: 26381),
        ]
        #expect(
            configuration.endpoint
                == .sentinel(.init(sentinels: sentinels, primaryName: "cache", username: "watcher", password: "s3nt")))
        #expect(configuration.username == "app" && configuration.password == "p@ss" && configuration.database == 3)
        // Neither the primary's nor the sentinels' password shows.
        #expect(configuration.description == "redis-sentinel://app:***@10.0.0.1:26380,sentinel-b:26379,[::1]:26381/cache?db=3")
        for bad in ["redis-sentinel://host1,host2", "redis-sentinel://host:99999/name", "redis-sentinel://,host/name", "redis-sentinel://h/a/b"] {
            #expect(throws: RedisError.self, "\(bad)") { try RedisConfiguration(url: bad) }
        }
    }

    /// `rediss-sentinel://` (as Lettuce names it): TLS to the sentinels and to the primary, both adjusted by the
    /// `rediss://` query items.
    @Test func redissSentinelMeansTLSToTheSentinelsAndThePrimary() throws {
        let configuration = try RedisConfiguration(url: "rediss-sentinel://s1,s2:26380/cache?ssl_ca_certs=/ca.pem&sentinel_password=s3nt")
        let tls = RedisTLSConfiguration(trustRoots: .file(path: "/ca.pem"))
        #expect(configuration.tls == tls)
        #expect(
            configuration.endpoint
                == .sentinel(
                    .init(
                        sentinels: [.init(host: "s1", port: 26379), .init(host: "s2", port: 26380)], primaryName: "cache", password: "s3nt",
                        tls: tls)))
        #expect(configuration.description == "rediss-sentinel://s1:26379,s2:26380/cache?db=0")
        #expect(try RedisConfiguration(url: "redis-sentinel://s1/cache").tls == nil)
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "rediss-sentinel://s1/cache?ssl_cert_reqs=optional") }
    }

    @Test func redissTakesRedisPyQueryItems() throws {
        let configuration = try RedisConfiguration(
            url: "rediss://host?ssl_ca_certs=/ca.pem&ssl_certfile=/client.pem&ssl_keyfile=/client.key&ssl_server_hostname=redis.internal")
        #expect(
            configuration.tls
                == RedisTLSConfiguration(
                    trustRoots: .file(path: "/ca.pem"), serverName: "redis.internal", certificateChainFile: "/client.pem",
                    privateKeyFile: "/client.key"))
        #expect(try RedisConfiguration(url: "rediss://host?ssl_cert_reqs=none").tls?.verification == .insecureNoVerification)
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "rediss://host?ssl_cert_reqs=optional") }
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "rediss://host?ssl_certfile=/client.pem") }
        // The key's path is configuration, not a secret, but descriptions show no TLS details at all.
        #expect(!configuration.description.contains("client"))
    }

    @Test func rejectsMalformedURLsWithoutEchoingThePassword() {
        for url in ["http://u:topsecret@host", "redis://u:topsecret@host/notanumber", "redis://u:topsecret@host:99999", "unix://"] {
            do {
                _ = try RedisConfiguration(url: url)
                Issue.record("\(url) was accepted")
            } catch {
                #expect(!"\(error)".contains("topsecret"), "error for \(url) leaks the password: \(error)")
            }
        }
    }

    /// A '/', '?' or '#' in an unencoded password ends the authority early, so the rest of the password is
    /// taken for the port, the path, the query or the fragment; a missing scheme makes the user name one. No
    /// error may repeat any of it.
    /// A URL in no accepted form is refused with an error that names all five forms.
    @Test func aBadURLsErrorNamesEveryAcceptedScheme() {
        for url in ["http://h:6379", "h:6379:x", "postgres://u@h/db"] {
            do {
                let configuration = try RedisConfiguration(url: url)
                Issue.record("\(url) was accepted as \(configuration)")
            } catch {
                for scheme in ["redis://", "rediss://", "unix://", "redis-sentinel://", "redis-cluster://"] {
                    #expect("\(error)".contains(scheme), "\(url): \(error)")
                }
            }
        }
    }

    @Test func urlErrorsRepeatNoPartOfTheUserInfo() {
        let malformed: [(url: String, userInfo: [String])] = [
            ("redis://alice:1234/secret@h", ["alice", "1234", "secret"]),
            ("rediss://alice:1234/secret@h/0", ["alice", "1234", "secret"]),
            ("redis://alice:98765/secret@h", ["alice", "98765", "secret"]),
            ("redis://alice:4242#secret@h", ["alice", "4242", "secret"]),
            ("redis://:4242/topsecret@h", ["4242", "topsecret"]),
            ("alice:secret@h:6379", ["alice", "secret"]),
            ("redis-sentinel://alice:26379/secret@h", ["alice", "26379", "secret"]),
            ("redis-sentinel://alice:98765/secret@h/primary", ["alice", "98765", "secret"]),
            ("redis-cluster://alice:98765/secret@h1,h2", ["alice", "98765", "secret"]),
            ("redis-cluster://alice:7000/secret@h1,h2", ["alice", "7000", "secret"]),
        ]
        for (url, userInfo) in malformed {
            do {
                let configuration = try RedisConfiguration(url: url)
                Issue.record("\(url) was accepted as \(configuration)")
            } catch {
                for part in userInfo {
                    #expect(!"\(error)".contains(part), "the error for \(url) repeats '\(part)': \(error)")
                }
            }
        }
    }

    @Test func descriptionHidesThePassword() throws {
        let configuration = try RedisConfiguration(url: "redis://alice:topsecret@127.0.0.1:6379/2")
        #expect(configuration.description == "redis://alice:***@127.0.0.1:6379/2")
        #expect(!"\(configuration)".contains("topsecret"))
    }

    @Test func readsREDIS_URLThenKV_URLThenTheDefault() throws {
        let fromRedisURL = try RedisConfiguration.fromEnvironment(["REDIS_URL": "redis://a:1", "KV_URL": "redis://b:2"])
        #expect(fromRedisURL.endpoint == .tcp(host: "a", port: 1))
        let fromKVURL = try RedisConfiguration.fromEnvironment(["KV_URL": "redis://b:2"])
        #expect(fromKVURL.endpoint == .tcp(host: "b", port: 2))
        let fallback = try RedisConfiguration.fromEnvironment([:])
        #expect(fallback.endpoint == .tcp(host: "127.0.0.1", port: 6379))
    }
}
