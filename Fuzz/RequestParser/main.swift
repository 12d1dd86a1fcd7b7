// A libFuzzer target (`make fuzz`) over what the library reads from channels it does not control: resume
// requests, stop requests and producer announcements on the request channel, frames on chunk channels, the
// stored ending of a stream, and JavaScript-style slicing at any offset. Built with
// `swiftc -sanitize=fuzzer,address` together with the wire-protocol files of Sources/ResumableStream/Protocol,
// whose internal types it calls directly.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let text = String(decoding: bytes, as: UTF8.self)

    // Whatever arrives parses to nothing or to a usable request, and a request survives its own encoding.
    switch RequestMessage.parse(text) {
    case .resume(let listenerID, let skipCharacters, let framing)?:
        precondition(!listenerID.isEmpty, "a resume request without a listener")
        if let window = framing?.window { precondition(RequestMessage.windowRange.contains(window), "a window out of range") }
        let again = RequestMessage.parse(RequestMessage.encodeResume(listenerID: listenerID, skipCharacters: skipCharacters, framing: framing))
        precondition(
            again == .resume(listenerID: listenerID, skipCharacters: skipCharacters, framing: framing), "a resume request changed in a round trip")
    case .received(let listenerID, let offset)?:
        precondition(!listenerID.isEmpty && offset >= 0, "a confirmation without a listener or with a negative offset")
        let again = RequestMessage.parse(RequestMessage.encodeReceived(listenerID: listenerID, offset: offset))
        precondition(again == .received(listenerID: listenerID, offset: offset), "a confirmation changed in a round trip")
    case .generation(let generation)?:
        precondition(
            RequestMessage.parse(RequestMessage.encodeGeneration(generation)) == .generation(generation), "an announcement changed in a round trip")
    case .stop(let target)?:
        precondition(
            RequestMessage.parse(RequestMessage.encodeStop(target: target)) == .stop(target: target), "a stop request changed in a round trip")
    case nil:
        break
    }
    _ = StreamEnding(json: text)

    // A message on a chunk channel is a frame or not, and a frame survives its own encoding.
    if let frame = ChunkFrame.parse(text) {
        let encoded =
            switch frame.kind {
            case .text(let payload):
                ChunkFrame.encodeText(payload, at: frame.offset, prefix: ChunkFrame.textPrefix(frame.identity, frame.generation))
            case .end(let ending):
                ChunkFrame.encodeEnd(length: frame.offset, identity: frame.identity, generation: frame.generation, ending: ending)
            }
        precondition(ChunkFrame.parse(encoded) == frame, "a frame changed in a round trip")
    }

    // Slicing at any offset keeps exactly the code units after it (a cut surrogate pair becomes U+FFFD, one unit).
    if let first = bytes.first {
        let length = text.utf16.count
        let offset = Int(Int8(bitPattern: first)) * max(1, length / 64)
        let kept = offset < 0 ? min(length, -offset) : max(0, length - offset)
        precondition(text.jsSlice(from: offset).utf16.count == kept, "jsSlice kept the wrong number of code units")
    }
    return 0
}
