/// Encodes commands as RESP (`*N\r\n$len\r\narg\r\n...`) into reusable storage, for
/// `redisAsyncFormattedCommand`: sending a command allocates nothing on the Swift side, and skips hiredis's
/// own formatting (`redisFormatSdsCommandArgv`), which showed up at the top of the pipelining profile.
/// Owned by one connection and used on its queue only.
final class CommandEncoder {
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private static let initialCapacity = 4096

    init() {
        capacity = Self.initialCapacity
        storage = .allocate(byteCount: capacity, alignment: 1)
    }

    deinit {
        storage.deallocate()
    }

    /// Encodes `arguments` and calls `body` with the bytes, valid only during `body` (hiredis copies them
    /// into its output buffer).
    func withEncoded<Result>(_ arguments: [RESPArgument], _ body: (UnsafePointer<CChar>, Int) -> Result) -> Result {
        // A header is at most 1 + 20 digits + 2 bytes; each argument adds a header, its bytes and CRLF; one
        // more byte for the terminating NUL.
        reserve(arguments.reduce(24) { $0 + 25 + $1.byteCount })
        var offset = writeHeader(UInt8(ascii: "*"), arguments.count, at: 0)
        for argument in arguments {
            switch argument {
            case .string(let text):
                var text = text  // `withUTF8` makes a bridged or non-contiguous string contiguous first.
                text.withUTF8 { offset = writeBulk($0, at: offset) }
            case .bytes(let bytes):
                bytes.withUnsafeBufferPointer { offset = writeBulk($0, at: offset) }
            }
        }
        // hiredis scans formatted commands with `strchr` (`nextArgument` in async.c), as its own sds strings
        // are NUL-terminated: without the NUL it reads past the end.
        storage.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self)
        defer { shrinkIfHuge() }
        return body(UnsafePointer(storage.assumingMemoryBound(to: CChar.self)), offset)
    }

    private func writeBulk(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Int {
        var offset = writeHeader(UInt8(ascii: "$"), bytes.count, at: start)
        if let base = bytes.baseAddress, bytes.count > 0 {
            (storage + offset).copyMemory(from: base, byteCount: bytes.count)
            offset += bytes.count
        }
        storage.storeBytes(of: UInt8(ascii: "\r"), toByteOffset: offset, as: UInt8.self)
        storage.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: offset + 1, as: UInt8.self)
        return offset + 2
    }

    /// Writes `marker`, `value` in decimal and CRLF.
    private func writeHeader(_ marker: UInt8, _ value: Int, at start: Int) -> Int {
        storage.storeBytes(of: marker, toByteOffset: start, as: UInt8.self)
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var remaining = value
        for position in stride(from: start + digits, to: start, by: -1) {
            storage.storeBytes(of: UInt8(ascii: "0") + UInt8(remaining % 10), toByteOffset: position, as: UInt8.self)
            remaining /= 10
        }
        let end = start + 1 + digits
        storage.storeBytes(of: UInt8(ascii: "\r"), toByteOffset: end, as: UInt8.self)
        storage.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: end + 1, as: UInt8.self)
        return end + 2
    }

    private func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        storage.deallocate()
        capacity = max(needed, capacity * 2)
        storage = .allocate(byteCount: capacity, alignment: 1)
    }

    /// Gives back the memory of a one-off huge argument (say an 8 MiB value) instead of keeping it forever.
    private func shrinkIfHuge() {
        guard capacity > 1 << 20 else { return }
        storage.deallocate()
        capacity = Self.initialCapacity
        storage = .allocate(byteCount: capacity, alignment: 1)
    }
}
