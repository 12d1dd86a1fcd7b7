/// Redis Cluster's key-to-slot function: CRC16 (XMODEM) of the key, or of its hash tag, modulo 16384.
///
/// The hash tag is the part between the first `{` and the next `}`, if it is not empty: keys with the same
/// tag share a slot, so one script may touch them all.
public enum HashSlot {
    /// The number of slots of a cluster.
    public static let count = 16384

    /// The slot of `key`.
    public static func of(_ key: some StringProtocol) -> Int {
        of(bytes: Array(key.utf8))
    }

    /// The slot of a binary key.
    static func of(bytes: [UInt8]) -> Int {
        let hashed = hashTag(in: bytes) ?? bytes[...]
        return Int(crc16(hashed) % UInt16(count))
    }

    /// Whether `key` has a hash tag, so its slot is that of the tag alone.
    public static func hasHashTag(_ key: some StringProtocol) -> Bool {
        hashTag(in: Array(key.utf8)) != nil
    }

    /// The hash tag of `key` with its braces (`{user1000}` for `{user1000}.following`), if it has one: a name
    /// that starts with it shares the key's slot.
    public static func hashTag(of key: some StringProtocol) -> String? {
        let bytes = Array(key.utf8)
        return hashTag(in: bytes).map { "{" + String(decoding: $0, as: UTF8.self) + "}" }
    }

    private static func hashTag(in key: [UInt8]) -> ArraySlice<UInt8>? {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")),
            let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        else { return nil }
        return key[(open + 1)..<close]
    }

    private static func crc16(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int((crc >> 8) ^ UInt16(byte)) & 0xff]
        }
        return crc
    }

    /// CRC16-CCITT (XMODEM), polynomial 0x1021, as Redis's `crc16.c`.
    private static let table: [UInt16] = (0..<256).map { index in
        var value = UInt16(index) << 8
        for _ in 0..<8 { value = value & 0x8000 != 0 ? (value << 1) ^ 0x1021 : value << 1 }
        return value
    }
}
