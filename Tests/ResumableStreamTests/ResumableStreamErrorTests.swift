import Testing

@testable import ResumableStream

/// Stream errors are values with a code to switch over, the producer's message or the limit that was passed, and
/// say what happened in words.
@Suite("Resumable stream errors")
struct ResumableStreamErrorTests {
    @Test func anErrorKeepsItsCodeAndItsDetail() {
        let failed = ResumableStreamError.producerFailed("the model answered 500")
        #expect(failed.code == .producerFailed && failed.producerMessage == "the model answered 500" && failed.limit == nil)
        #expect(failed.description == "the stream's producer failed: the model answered 500")
        let tooSlow = ResumableStreamError.followerTooSlow(1_048_576)
        #expect(tooSlow.code == .followerTooSlow && tooSlow.limit == 1_048_576)
        #expect(tooSlow != .followerTooSlow(1) && ResumableStreamError.interrupted == .interrupted)
        let status: Int =
            switch ResumableStreamError.producerUnreachable.code {
            case .producerUnreachable, .interrupted: 503
            default: 500
            }
        #expect(status == 503 && ResumableStreamError.Code.streamReplaced.description == "streamReplaced")
    }

    @Test func anErrorKeepsItsCauseWhichComparisonsIgnore() {
        struct Refused: Error, CustomStringConvertible { var description: String { "Connection refused" } }
        let interrupted = ResumableStreamError.interrupted.causedBy(Refused())
        #expect(interrupted.underlyingError is Refused && ResumableStreamError.interrupted.underlyingError == nil)
        #expect(interrupted == .interrupted && Set([interrupted, .interrupted]).count == 1)
        #expect(interrupted.description == "the connection to Redis was interrupted and chunks may have been lost (Connection refused)")
    }
}
