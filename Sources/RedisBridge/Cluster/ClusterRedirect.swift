/// A cluster node's answer that another node serves a key: `-MOVED <slot> <host>:<port>` (for good; learn
/// it) or `-ASK <slot> <host>:<port>` (this once, during a slot migration: send `ASKING` first). A redirect to a
/// port outside 1...65535 is no redirect: the command fails with the node's error.
enum ClusterRedirect: Equatable {
    case moved(slot: Int, to: RedisAddress)
    case ask(slot: Int, to: RedisAddress)

    /// The redirect an error reply means, if it is one.
    init?(_ error: String) {
        let parts = error.split(separator: " ")
        guard parts.count == 3, let slot = Int(parts[1]), (0..<HashSlot.count).contains(slot),
            let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...]),
            RedisAddress.validPorts.contains(port)
        else { return nil }
        var host = String(parts[2][..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let address = RedisAddress(host: host, port: port)
        switch parts[0] {
        case "MOVED": self = .moved(slot: slot, to: address)
        case "ASK": self = .ask(slot: slot, to: address)
        default: return nil
        }
    }
}
