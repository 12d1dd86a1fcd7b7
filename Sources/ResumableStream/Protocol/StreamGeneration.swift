import Foundation

/// One life of a stream id. Ids are reused (a chat regenerates its answer, a client retries after a crash,
/// ``ResumableStreamContext/createNewResumableStream(_:makeStream:)`` replaces a running stream); every claim
/// of an id mints a new generation, atomically with the sentinel, and everything a producer writes or sends
/// carries it or is fenced by it: the generation key, its durable log appends, its stop requests, its frames.
///
/// 64 bits, written as 16 lowercase hex digits in the generation key (`P:generation:<id>`), the announcement on
/// the request channel, stop requests and frame headers: the clock of the backend that stored it (Redis's
/// `TIME`: seconds in 32 bits, microseconds in 20), then 12 bits of the claimer's random token, and always
/// larger than the generation it replaced (see ``StreamClaim``). So the generations of an id are ordered by
/// their claims on one clock, whichever instance claimed: when Redis lost the keys of an id while two of its
/// lives still run (a restart without persistence), the newer one takes the id back from the older one (see
/// ``StreamClaim/Mode/reclaiming``).
struct StreamGeneration: Hashable, Comparable, Sendable, CustomStringConvertible {
    let value: UInt64

    init(value: UInt64) {
        self.value = value
    }

    /// A fresh random token, which a claim turns into the generation it stores.
    static func fresh() -> StreamGeneration {
        StreamGeneration(value: .random(in: .min ... .max))
    }

    /// The generation a claim stores when it starts a new life from `token` at the backend's clock `now`: the
    /// clock in the first 13 hex digits, the token's last 3, and one more than `earlier` if that is not larger.
    /// (The Redis claim script computes the same in Lua.)
    static func minted(from token: StreamGeneration, at now: Date, after earlier: StreamGeneration?) -> StreamGeneration {
        let microseconds = UInt64(max(0, now.timeIntervalSince1970 * 1_000_000))
        let clock = (microseconds / 1_000_000 & 0xffff_ffff) << 32 | (microseconds % 1_000_000) << 12
        let minted = StreamGeneration(value: clock | token.value & 0xfff)
        guard let earlier, minted <= earlier else { return minted }
        return StreamGeneration(value: earlier.value &+ 1)
    }

    /// Whether `lhs` was claimed before `rhs`.
    static func < (lhs: StreamGeneration, rhs: StreamGeneration) -> Bool {
        lhs.value < rhs.value
    }

    /// The generation written as `hex` (16 lowercase hex digits), or `nil` if it is not one.
    init?(hex: some StringProtocol) {
        guard hex.utf8.count == 16, hex.utf8.allSatisfy(Self.isLowercaseHexDigit), let value = UInt64(hex, radix: 16) else {
            return nil
        }
        self.value = value
    }

    /// 16 lowercase hex digits.
    var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    var description: String { hex }

    static func isLowercaseHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
