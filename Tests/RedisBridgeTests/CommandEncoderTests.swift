import Testing

@testable import RedisBridge

@Suite("RESP encoding of commands", .timeLimit(.minutes(1)))
struct CommandEncoderTests {
    private func encode(_ encoder: CommandEncoder, _ arguments: [RESPArgument]) -> (bytes: [UInt8], terminator: UInt8) {
        encoder.withEncoded(arguments) { command, length in
            let raw = UnsafeRawPointer(command)
            return (Array(UnsafeRawBufferPointer(start: raw, count: length)), raw.load(fromByteOffset: length, as: UInt8.self))
        }
    }

    @Test func encodesRESPArrays() {
        let encoder = CommandEncoder()
        let (bytes, _) = encode(encoder, ["SET", "k", .bytes([0, 13, 10, 255]), RESPArgument(1234567890)])
        #expect(bytes == Array("*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n".utf8) + [0, 13, 10, 255] + Array("\r\n$10\r\n1234567890\r\n".utf8))
        #expect(encode(encoder, ["PING", ""]).bytes == Array("*2\r\n$4\r\nPING\r\n$0\r\n\r\n".utf8))
    }

    @Test func everyCommandIsNULTerminatedEvenAfterALongerOne() {
        // hiredis scans a formatted SUBSCRIBE's arguments with `strchr`: without a NUL after the command it
        // reads the leftovers of an earlier, longer command as more channels (and aborted the process once).
        let encoder = CommandEncoder()
        _ = encode(encoder, ["SUBSCRIBE", .string(String(repeating: "$9\r\nchannel", count: 100))])
        let (bytes, terminator) = encode(encoder, ["SUBSCRIBE", "short"])
        #expect(bytes == Array("*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nshort\r\n".utf8))
        #expect(terminator == 0)
    }

    @Test func hugeArgumentsAreEncodedAndSmallOnesStillWorkAfterwards() {
        let encoder = CommandEncoder()
        let payload = [UInt8](repeating: 7, count: 3 << 20)
        let (bytes, terminator) = encode(encoder, ["SET", "big", .bytes(payload)])
        #expect(bytes.count == (3 << 20) + 34 && terminator == 0)
        #expect(encode(encoder, ["GET", "big"]).bytes == Array("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".utf8))
    }
}
