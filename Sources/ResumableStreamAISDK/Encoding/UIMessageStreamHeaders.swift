/// The HTTP headers of a UI message stream response: the AI SDK's `UI_MESSAGE_STREAM_HEADERS`, in its order.
///
/// Set them on the `200` response of both the chat route and the resume route:
///
/// ```swift
/// var headers = HTTPFields()
/// for (name, value) in UIMessageStreamHeaders.all { headers[HTTPField.Name(name)!] = value }
/// ```
public enum UIMessageStreamHeaders {
    /// `content-type: text/event-stream`, `cache-control: no-cache`, `connection: keep-alive`,
    /// `x-vercel-ai-ui-message-stream: v1` and `x-accel-buffering: no` (which keeps nginx from buffering).
    public static let all: [(name: String, value: String)] = [
        ("content-type", "text/event-stream"),
        ("cache-control", "no-cache"),
        ("connection", "keep-alive"),
        ("x-vercel-ai-ui-message-stream", "v1"),
        ("x-accel-buffering", "no"),
    ]
}
