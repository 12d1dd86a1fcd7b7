import ResumableStream
import Testing

@testable import ResumableStreamAISDK

/// How a body cuts an answer's text at event boundaries and ends it whatever happened.
@Suite struct EventFramingTests {
    @Test func handsOnOnlyWholeEvents() {
        var framing = UIMessageEventFraming()
        #expect(framing.append("data: {\"type\":\"start\"}\n") == nil)
        #expect(framing.append("\ndata: {\"type\":\"te") == "data: {\"type\":\"start\"}\n\n")
        #expect(framing.append("xt-start\",\"id\":\"t\"}\n\ndata: [DONE]\n\n") == "data: {\"type\":\"text-start\",\"id\":\"t\"}\n\ndata: [DONE]\n\n")
        #expect(framing.isDone)
        #expect(framing.end() == nil)
        #expect(framing.end(failure: ResumableStreamError.producerUnreachable) == nil)
    }

    @Test func anAnswerThatStoppedEndsWithAbortAndDone() {
        var framing = UIMessageEventFraming()
        _ = framing.append("data: {\"type\":\"start\"}\n\ndata: {\"type\":\"text-del")
        #expect(framing.end() == "data: {\"type\":\"abort\"}\n\ndata: [DONE]\n\n")
    }

    @Test func anAnswerWhoseReadingFailedDropsTheCutEventAndSaysWhy() {
        var framing = UIMessageEventFraming()
        _ = framing.append("data: {\"type\":\"start\"}\n\ndata: {\"type\":\"text-del")
        #expect(
            framing.end(failure: ResumableStreamError.producerUnreachable)
                == "data: {\"type\":\"error\",\"errorText\":\"The answer was interrupted: the server producing it stopped responding.\"}\n\n"
                + "data: [DONE]\n\n")
        #expect(UIMessageEventFraming.errorText(ResumableStreamError.interrupted).contains("Reload"))
    }
}
