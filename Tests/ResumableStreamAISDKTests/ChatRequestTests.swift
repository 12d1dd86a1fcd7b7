import Foundation
import ResumableStreamAISDK
import Testing

/// The body `DefaultChatTransport` sends to `POST /api/chat`, as the AI SDK 5 writes it.
@Suite struct ChatRequestTests {
    @Test func aSubmitWithTextAndOtherPartsKeepsTheTextOfEachMessage() throws {
        let body = #"""
            {"id":"chat-1","messages":[
              {"id":"s","role":"system","parts":[{"type":"text","text":"Be brief."}]},
              {"id":"u1","role":"user","parts":[{"type":"text","text":"Hé, "},{"type":"file","mediaType":"image/png","url":"data:,"},{"type":"text","text":"wörld 😀"}]},
              {"id":"a1","role":"assistant","metadata":{"x":1},"parts":[{"type":"step-start"},{"type":"reasoning","text":"hmm"},{"type":"text","text":"Hi","state":"done"}]}
            ],"trigger":"submit-message","messageId":null,"extra":{"from":"body option"}}
            """#
        let request = try JSONDecoder().decode(AIChatRequest.self, from: Data(body.utf8))
        #expect(request.id == "chat-1")
        #expect(request.trigger == .submitMessage)
        #expect(request.messageID == nil)
        #expect(request.messages.map(\.role) == ["system", "user", "assistant"])
        #expect(request.messages.map(\.text) == ["Be brief.", "Hé, wörld 😀", "Hi"])
        #expect(request.messages[1].id == "u1")
    }

    @Test func aRegenerateNamesItsMessageAndAnUnknownTriggerIsNoError() throws {
        let regenerate = #"{"id":"c","messages":[],"trigger":"regenerate-message","messageId":"a1"}"#
        let request = try JSONDecoder().decode(AIChatRequest.self, from: Data(regenerate.utf8))
        #expect(request.trigger == .regenerateMessage)
        #expect(request.messageID == "a1")
        let future = try JSONDecoder().decode(AIChatRequest.self, from: Data(#"{"id":"c","messages":[],"trigger":"resume-later"}"#.utf8))
        #expect(future.trigger == nil)
    }

    @Test func aPartWhoseTextIsNoStringIsLeftOut() throws {
        let body = #"{"id":"c","messages":[{"role":"user","parts":[{"type":"data-weather","text":{"city":"Bern"}},{"type":"text","text":"hi"}]}]}"#
        let request = try JSONDecoder().decode(AIChatRequest.self, from: Data(body.utf8))
        #expect(request.messages.map(\.text) == ["hi"])
    }

    @Test func aBodyWithoutIDOrMessagesIsRejected() {
        for body in [#"{"messages":[]}"#, #"{"id":"c"}"#, #"{"id":"c","messages":[{"parts":[]}]}"#, "[]"] {
            #expect(throws: DecodingError.self, "\(body)") { try JSONDecoder().decode(AIChatRequest.self, from: Data(body.utf8)) }
        }
    }
}
