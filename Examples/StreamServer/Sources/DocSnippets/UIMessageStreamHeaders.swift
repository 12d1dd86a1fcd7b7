import HTTPTypes
import ResumableStreamAISDK

/// The doc comment of `UIMessageStreamHeaders`: the headers of a UI message stream response.
func uiMessageStreamHeaders() -> HTTPFields {
    // snippet: begin
    var headers = HTTPFields()
    for (name, value) in UIMessageStreamHeaders.all { headers[HTTPField.Name(name)!] = value }
    // snippet: end
    return headers
}
