/// The key a command routes by in a cluster: the first key of the commands this library sends (and of most
/// single-key commands), the shard channel of `SPUBLISH` and `PUBSUB SHARDNUMSUB`, and `nil` for commands without
/// a key (`PUBLISH`, `PUBSUB NUMSUB`, `PING`, ...), which any node serves.
enum CommandKey {
    /// Commands whose first argument is their key.
    private static let firstArgument: Set<String> = [
        "GET", "SET", "SETNX", "SETEX", "PSETEX", "GETSET", "GETDEL", "GETEX", "INCR", "INCRBY", "DECR", "DECRBY", "APPEND",
        "STRLEN", "MGET", "EXISTS", "DEL", "UNLINK", "TYPE", "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "TTL", "PTTL", "PERSIST",
        "HGET", "HSET", "HDEL", "HGETALL", "HINCRBY", "LPUSH", "RPUSH", "LRANGE", "LLEN", "SADD", "SREM", "SMEMBERS",
        "ZADD", "ZRANGE", "ZREM", "XADD", "XRANGE", "XREVRANGE", "XLEN", "XTRIM", "XDEL", "WATCH", "DUMP", "RESTORE",
        "SPUBLISH",
    ]

    /// The routing key of `command`, if it has one.
    static func of(_ command: [RESPArgument]) -> [UInt8]? {
        guard let name = command.first?.bytes else { return nil }
        switch String(decoding: name, as: UTF8.self).uppercased() {
        case let name where firstArgument.contains(name):
            return command.count > 1 ? command[1].bytes : nil
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            // EVAL script numkeys key...: the first key, if there is one.
            guard command.count > 3, let count = Int(String(decoding: command[2].bytes, as: UTF8.self)), count > 0 else { return nil }
            return command[3].bytes
        case "PUBSUB":
            // PUBSUB SHARDNUMSUB channel: the shard channel's subscribers are on the node that serves its slot.
            guard command.count > 2, String(decoding: command[1].bytes, as: UTF8.self).uppercased() == "SHARDNUMSUB" else { return nil }
            return command[2].bytes
        default:
            return nil
        }
    }
}
