import Foundation

/// One life of a stream id. Ids are reused (a chat regenerates its answer, a client retries after a crash,
/// ``ResumableStreamContext/createNewResumableStream(_:makeStream:)`` replaces a running stream); every claim
/// of an id mints a new generation, atomically with the sentinel, and everything a producer writes or sends
/// carries it or is fenced by it: the generation key, its durable log appends, its stop requests, its frames.
///
/// 64 bits: the minting instance's wall clock in milliseconds (48 bits), then 16 random bits, written as 16
/// lowercase hex digits in the generation key (`P:generation:<id>`), the announcement on the request channel,
/// stop requests and frame headers. Generations are ordered by their minting time: when Redis lost the keys of
/// an id while two of its lives still run (a restart without persistence), the newer one takes the id back
/// from the older one (see ``StreamClaim/Mode/reclaiming``). Only there does the order count, so a clock skew
/// between instances matters only if it exceeds the time between the two claims of that id.
struct StreamGeneration: Hashable, Comparable, Sendable, CustomStringConvertible {
    let value: UInt64

    init(value: UInt64) {
        self.value = value
    }

    /// A fresh generation, minted now: newer than every generation minted before this millisecond.
    static func fresh() -> StreamGeneration {
        let milliseconds = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        return StreamGeneration(value: milliseconds << 16 | .random(in: 0...0xffff))
    }

    /// Whether `lhs` was minted before `rhs`.
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
