/// Which primary serves each of the 16384 slots, from `CLUSTER SLOTS`, corrected by `MOVED` redirects.
struct SlotMap {
    private var owners = [RedisAddress?](repeating: nil, count: HashSlot.count)

    /// The primary that serves `slot`, if known.
    func owner(of slot: Int) -> RedisAddress? { owners[slot] }

    /// Every primary that serves a slot.
    var primaries: Set<RedisAddress> { Set(owners.compactMap { $0 }) }

    /// Records one slot's new owner (a `MOVED`).
    mutating func assign(_ slot: Int, to owner: RedisAddress) {
        owners[slot] = owner
    }

    /// Replaces the map with a `CLUSTER SLOTS` reply: `[[start, end, [host, port, id], replicas...], ...]`.
    /// An empty host means "the node that answered", which is `answeredBy`. Returns `false` (and changes
    /// nothing) for a reply of another shape or with a port outside 1...65535.
    mutating func replace(withClusterSlots reply: RedisValue, answeredBy: RedisAddress) -> Bool {
        guard case .array(let ranges) = reply else { return false }
        var updated = [RedisAddress?](repeating: nil, count: HashSlot.count)
        for range in ranges {
            guard case .array(let fields) = range, fields.count >= 3, let start = fields[0].int, let end = fields[1].int,
                case .array(let primary) = fields[2], primary.count >= 2, let host = primary[0].string, let port = primary[1].int,
                RedisAddress.validPorts.contains(port), 0 <= start, start <= end, end < HashSlot.count
            else { return false }
            let owner = host.isEmpty || host == "?" ? answeredBy : RedisAddress(host: host, port: port)
            for slot in start...end { updated[slot] = owner }
        }
        owners = updated
        return true
    }
}
