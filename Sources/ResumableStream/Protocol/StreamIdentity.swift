/// A short fingerprint of a stream (FNV-1a, 32 bits, of its request channel, so the key prefix counts), carried
/// by every frame a Swift producer sends: a follower takes text only from its own stream, even when a forged
/// request made another stream's producer publish to its channel.
///
/// Not a secret: whoever may publish on a chunk channel can write anything to it (restrict that with Redis
/// ACLs). It stops an honest producer from being used to inject its text into another stream.
struct StreamIdentity: Hashable, Sendable {
    let value: UInt32

    init(value: UInt32) {
        self.value = value
    }

    /// The identity of the stream with `keys`.
    init(_ keys: StreamKeys) {
        var hash: UInt32 = 0x811c_9dc5
        for byte in keys.requests.utf8 {
            hash = (hash ^ UInt32(byte)) &* 0x0100_0193
        }
        value = hash
    }

    /// Eight lowercase hex digits, as frames carry it.
    var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
