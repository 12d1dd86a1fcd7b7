import CHiredis

/// Reusable storage for the `argv`/`argvlen` arrays of `redisAsyncCommandArgv`, so that sending a command
/// allocates nothing on the Swift side (hiredis copies the arguments into its output buffer during the call).
/// Owned by one connection and used on its queue only.
final class ArgumentBuffer {
    private var bytes: UnsafeMutableRawPointer
    private var byteCapacity: Int
    private var pointers: UnsafeMutablePointer<UnsafePointer<CChar>?>
    private var lengths: UnsafeMutablePointer<Int>
    private var argumentCapacity: Int

    init() {
        byteCapacity = 4096
        argumentCapacity = 16
        bytes = .allocate(byteCount: byteCapacity, alignment: 1)
        pointers = .allocate(capacity: argumentCapacity)
        lengths = .allocate(capacity: argumentCapacity)
    }

    deinit {
        bytes.deallocate()
        pointers.deallocate()
        lengths.deallocate()
    }

    /// Lays `arguments` out contiguously and calls `body(argc, argv, argvlen)`; the pointers are valid only
    /// during `body`.
    func withArgv<Result>(
        _ arguments: [RESPArgument],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result
    ) -> Result {
        reserve(arguments: arguments.count, bytes: arguments.reduce(0) { $0 + $1.byteCount })
        var offset = 0
        for (index, argument) in arguments.enumerated() {
            let destination = bytes + offset
            let count: Int
            switch argument {
            case .string(let text):
                count = text.utf8.count
                if count > 0 {
                    var text = text  // `withUTF8` makes a bridged or non-contiguous string contiguous first.
                    text.withUTF8 { destination.copyMemory(from: $0.baseAddress!, byteCount: count) }
                }
            case .bytes(let raw):
                count = raw.count
                raw.withUnsafeBytes { if count > 0 { destination.copyMemory(from: $0.baseAddress!, byteCount: count) } }
            }
            pointers[index] = UnsafePointer(destination.assumingMemoryBound(to: CChar.self))
            lengths[index] = count
            offset += count
        }
        defer { shrinkIfHuge() }
        return body(Int32(arguments.count), pointers, lengths)
    }

    /// Gives back the memory of a one-off huge argument (say an 8 MiB value) instead of keeping it forever.
    private func shrinkIfHuge() {
        guard byteCapacity > 1 << 20 else { return }
        bytes.deallocate()
        byteCapacity = 4096
        bytes = .allocate(byteCount: byteCapacity, alignment: 1)
    }

    private func reserve(arguments: Int, bytes needed: Int) {
        if needed > byteCapacity {
            bytes.deallocate()
            byteCapacity = max(needed, byteCapacity * 2)
            bytes = .allocate(byteCount: byteCapacity, alignment: 1)
        }
        if arguments > argumentCapacity {
            pointers.deallocate()
            lengths.deallocate()
            argumentCapacity = max(arguments, argumentCapacity * 2)
            pointers = .allocate(capacity: argumentCapacity)
            lengths = .allocate(capacity: argumentCapacity)
        }
    }
}
