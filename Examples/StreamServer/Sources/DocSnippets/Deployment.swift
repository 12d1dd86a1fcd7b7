import RedisBridge
import ResumableStream

/// Deployment.md, "TLS: hosted Redis".
func hostedRedisOverTLS(token: String) throws -> ResumableStreamContext {
    // snippet: begin
    // Upstash, Redis Cloud, ElastiCache with in-transit encryption: the server's certificate is verified.
    let streams = ResumableStreamContext(redis: try .init(url: "rediss://default:\(token)@eu1-example.upstash.io:6379"))
    // snippet: end
    return streams
}

/// Deployment.md, "Sentinel: a primary that fails over".
func sentinelPrimary(password: String) throws -> ResumableStreamContext {
    // snippet: begin
    let streams = ResumableStreamContext(
        redis: try .init(url: "redis-sentinel://:\(password)@sentinel-1:26379,sentinel-2:26379,sentinel-3:26379/mymaster"))
    // snippet: end
    return streams
}

/// Deployment.md, "Cluster: more than one server".
func redisCluster() throws -> ResumableStreamContext {
    // snippet: begin
    let streams = ResumableStreamContext(redis: try .init(url: "redis-cluster://node-1:6379,node-2:6379,node-3:6379"))
    // snippet: end
    return streams
}

/// Deployment.md, "Shard channels: pub/sub that grows with the primaries".
func redisClusterWithShardChannels() throws -> ResumableStreamContext {
    // snippet: begin
    let streams = ResumableStreamContext(redis: try .init(url: "redis-cluster://node-1:6379,node-2:6379?sharded_pubsub=yes"))
    // snippet: end
    return streams
}
