/// Why a model's answer failed, in words a user may see: the example servers send it as the answer's `error`
/// chunk. It never holds the API key or the request.
public enum ChatModelError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The model could not be reached (DNS, connection refused, TLS).
    case unreachable(String)
    /// The model answered with an HTTP error; its own message, if it sent one.
    case httpStatus(Int, String?)
    /// The model did not start its answer within the timeout.
    case noAnswer(after: Duration)
    /// The model went silent mid-answer for longer than the timeout.
    case silent(for: Duration)
    /// The answer ended without `data: [DONE]`: the connection was cut.
    case cutOff
    /// The model sent a line this client cannot read.
    case malformed(String)
    /// The model reported an error inside its stream.
    case reported(String)

    public var description: String {
        switch self {
        case .unreachable(let reason): "The model could not be reached: \(reason)"
        case .httpStatus(let status, let message?): "The model answered HTTP \(status): \(message)"
        case .httpStatus(let status, nil): "The model answered HTTP \(status)"
        case .noAnswer(let timeout): "The model did not answer within \(timeout)"
        case .silent(let timeout): "The model went silent for \(timeout) mid-answer"
        case .cutOff: "The model's answer was cut off"
        case .malformed(let line): "The model sent a line that is not an answer chunk: \(line)"
        case .reported(let message): "The model reported an error: \(message)"
        }
    }
}
