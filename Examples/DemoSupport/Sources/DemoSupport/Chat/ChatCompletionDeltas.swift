import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The text of one streamed answer of an OpenAI-compatible endpoint (`POST {base}/chat/completions` with
/// `"stream": true`), piece by piece: each element is one chunk's `choices[0].delta.content`.
///
/// The request goes out at the first `next()`, in the reader's task: cancelling that task (a stopped answer)
/// cancels the request. Every failure ends the sequence with a ``ChatModelError``: an HTTP error, a connection
/// that could not be made or was cut before `data: [DONE]`, a line that is not a chunk, an `error` the endpoint
/// reports in its stream, no answer within the timeout, or a silence that long mid-answer (the client's read
/// timeout).
public struct ChatCompletionDeltas: AsyncSequence, Sendable {
    public typealias Element = String
    public typealias Failure = any Error

    let client: HTTPClient
    let request: HTTPClientRequest
    let timeout: Duration

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(client: client, request: request, timeout: timeout)
    }

    /// Reads the answer's lines as they come.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let client: HTTPClient
        let request: HTTPClientRequest
        let timeout: Duration
        private var body: HTTPClientResponse.Body.AsyncIterator?
        private var pending: [UInt8] = []
        private var isDone = false
        /// Whether a chunk said why the answer finished: a body that ends after it is complete, `[DONE]` or not
        /// (some servers leave it out).
        private var hasFinishReason = false

        init(client: HTTPClient, request: HTTPClientRequest, timeout: Duration) {
            self.client = client
            self.request = request
            self.timeout = timeout
        }

        /// The longest line read: a chunk is a few hundred bytes; anything near this is not an answer.
        private static let maximumLineLength = 1 << 20

        /// The next piece of text, `nil` after `data: [DONE]`.
        public mutating func next() async throws -> String? {
            while !isDone {
                guard let line = try await nextLine() else {
                    if hasFinishReason { return nil }
                    throw ChatModelError.cutOff
                }
                let read = try Line(line)
                if read.hasFinishReason { hasFinishReason = true }
                switch read {
                case .text(let text, _): return text
                case .nothing: continue
                case .done: isDone = true
                }
            }
            return nil
        }

        /// The next line of the body, without its line break; `nil` if the body ended first.
        private mutating func nextLine() async throws -> String? {
            while true {
                if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    var line = pending[..<newline]
                    if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                    let text = String(decoding: line, as: UTF8.self)
                    pending.removeSubrange(...newline)
                    return text
                }
                guard pending.count < Self.maximumLineLength else { throw ChatModelError.malformed("a line longer than 1 MiB") }
                guard let bytes = try await nextBytes() else { return nil }
                pending += bytes.readableBytesView
            }
        }

        /// The next bytes of the body, sending the request first; `nil` at its end.
        private mutating func nextBytes() async throws -> ByteBuffer? {
            guard let body else {
                do {
                    body = try await start()
                } catch {
                    throw modelError(error, isAnswering: false)
                }
                return try await nextBytes()
            }
            do {
                var iterator = body
                defer { self.body = iterator }
                return try await iterator.next()
            } catch {
                throw modelError(error, isAnswering: true)
            }
        }

        /// What `error` means for the answer: before it started, the model could not be reached; once it
        /// answers, the answer was cut off (a connection closed mid-chunk fails as a parser error).
        private func modelError(_ error: any Error, isAnswering: Bool) -> any Error {
            switch error {
            case let error as ChatModelError: error
            case is CancellationError: error
            case let error as HTTPClientError where error == .readTimeout: ChatModelError.silent(for: timeout)
            case let error as HTTPClientError where error == .deadlineExceeded: ChatModelError.noAnswer(after: timeout)
            case let error as HTTPClientError where error == .cancelled: CancellationError()
            default: isAnswering ? ChatModelError.cutOff : ChatModelError.unreachable(String(describing: error))
            }
        }

        /// Sends the request and checks the answer's status.
        private func start() async throws -> HTTPClientResponse.Body.AsyncIterator {
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
            guard response.status == .ok else {
                // The endpoint's own message, if it sent one: `{"error":{"message":…}}` (OpenAI, vLLM, Ollama).
                // Not for 401 and 403, whose message may quote part of the key.
                let status = Int(response.status.code)
                guard status != 401, status != 403 else { throw ChatModelError.httpStatus(status, "the API key was refused") }
                let body = try? await response.body.collect(upTo: 64 * 1024)
                let message = body.flatMap { try? JSONDecoder().decode(Chunk.self, from: Data($0.readableBytesView)) }?.error?.message
                throw ChatModelError.httpStatus(status, message.map { String($0.prefix(300)) })
            }
            return response.body.makeAsyncIterator()
        }
    }

    /// What one line of the answer says.
    private enum Line {
        /// A piece of the answer's text, and whether its chunk says why the answer finished.
        case text(String, finished: Bool)
        /// Nothing: a comment, a blank line, another field, or a chunk without content (`finished`: one that
        /// says why the answer finished).
        case nothing(finished: Bool)
        /// `data: [DONE]`: the answer is complete.
        case done

        /// Reads `line`; a `data:` line that is not a chunk, or a chunk that reports an error, throws.
        init(_ line: String) throws {
            guard line.hasPrefix("data:") else {
                self = .nothing(finished: false)
                return
            }
            let payload = line.dropFirst(5).drop { $0 == " " }
            guard payload != "[DONE]" else {
                self = .done
                return
            }
            guard let chunk = try? JSONDecoder().decode(Chunk.self, from: Data(payload.utf8)) else {
                throw ChatModelError.malformed(String(payload.prefix(120)))
            }
            if let error = chunk.error { throw ChatModelError.reported(error.message ?? "no message") }
            let finished = chunk.choices?.first?.finishReason != nil
            guard let content = chunk.choices?.first?.delta?.content, !content.isEmpty else {
                self = .nothing(finished: finished)
                return
            }
            self = .text(content, finished: finished)
        }

        var hasFinishReason: Bool {
            switch self {
            case .text(_, let finished), .nothing(let finished): finished
            case .done: false
            }
        }
    }

    /// The fields of a streamed chunk this client reads.
    private struct Chunk: Decodable {
        struct Choice: Decodable {
            struct Delta: Decodable { let content: String? }
            let delta: Delta?
            let finishReason: String?

            private enum CodingKeys: String, CodingKey {
                case delta
                case finishReason = "finish_reason"
            }
        }
        struct Failure: Decodable { let message: String? }
        let choices: [Choice]?
        let error: Failure?
    }
}
