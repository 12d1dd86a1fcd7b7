import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import ResumableStreamAISDK

/// Where the chat's answers come from: any OpenAI-compatible endpoint (OpenAI, a vLLM, llama.cpp or Ollama
/// server), or the demo's tokens without one.
public struct ChatModel: Sendable {
    /// An OpenAI-compatible endpoint, from the environment:
    ///
    /// - `OPENAI_BASE_URL`: the endpoint with its version path, as OpenAI's own clients take it
    ///   (`https://api.openai.com/v1`, `http://localhost:11434/v1` for Ollama);
    /// - `OPENAI_API_KEY`: sent as `Authorization: Bearer …` if set;
    /// - `MODEL`: the model's name (`gpt-4o-mini` if unset);
    /// - `MODEL_TIMEOUT_SECONDS`: how long the answer may take to start, and how long it may go silent
    ///   mid-answer (30).
    public struct Upstream: Sendable {
        /// The endpoint, with its version path and without a trailing slash.
        public var baseURL: String
        /// The API key, if any.
        public var apiKey: String?
        /// The model's name.
        public var model: String
        /// How long the answer may take to start, and go silent mid-answer.
        public var timeout: Duration

        /// The endpoint the environment names; `nil` without `OPENAI_BASE_URL`.
        public static func fromEnvironment(_ environment: [String: String]) throws -> Upstream? {
            guard let base = environment["OPENAI_BASE_URL"], !base.isEmpty else { return nil }
            guard let url = URL(string: base), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw SettingsError("OPENAI_BASE_URL must be an http or https URL with the version path, such as https://api.openai.com/v1")
            }
            let seconds = Int(environment["MODEL_TIMEOUT_SECONDS"] ?? "") ?? 30
            guard seconds > 0 else { throw SettingsError("MODEL_TIMEOUT_SECONDS must be a positive number of seconds") }
            return Upstream(
                baseURL: base.hasSuffix("/") ? String(base.dropLast()) : base,
                apiKey: environment["OPENAI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 },
                model: environment["MODEL"].flatMap { $0.isEmpty ? nil : $0 } ?? "gpt-4o-mini", timeout: .seconds(seconds))
        }
    }

    private enum Source: Sendable {
        case upstream(Upstream, HTTPClient)
        case demo(tokenDelay: Duration)
    }

    private let source: Source

    /// Answers from `upstream`, or without one from the demo's tokens with `tokenDelay` before each. Run the
    /// server inside ``serving(_:)``, which closes the model's connections after it.
    public init(upstream: Upstream?, tokenDelay: Duration) {
        guard let upstream else {
            source = .demo(tokenDelay: tokenDelay)
            return
        }
        // The read timeout is the longest silence mid-answer; each request's deadline covers its start.
        let seconds = TimeAmount.seconds(upstream.timeout.components.seconds)
        let client = HTTPClient(
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: .init(timeout: .init(connect: seconds, read: seconds)))
        source = .upstream(upstream, client)
    }

    /// What answers, for the start-up log: the model and where it runs, or the demo's tokens.
    public var summary: String {
        switch source {
        case .upstream(let upstream, _): "model \(upstream.model) at \(upstream.baseURL)"
        case .demo: "the demo's tokens (set OPENAI_BASE_URL, OPENAI_API_KEY and MODEL for a real model)"
        }
    }

    /// The answer to the chat's `messages`: their text, role by role, goes to the model.
    public func answer(to messages: [AIChatRequest.Message]) -> ChatAnswer {
        switch source {
        case .upstream(let upstream, let client):
            var request = HTTPClientRequest(url: upstream.baseURL + "/chat/completions")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Accept", value: "text/event-stream")
            if let apiKey = upstream.apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
            let body = CompletionRequest(model: upstream.model, messages: messages.map { .init(role: $0.role, content: $0.text) }, stream: true)
            request.body = .bytes(ByteBuffer(bytes: (try? JSONEncoder().encode(body)) ?? Data()))
            return ChatAnswer(.upstream(ChatCompletionDeltas(client: client, request: request, timeout: upstream.timeout)))
        case .demo(let tokenDelay):
            let said = messages.last { $0.role == "user" }?.text ?? ""
            return ChatAnswer(.demo(prefix: "You said: “\(said)”. ", tokens: DemoTokens(delay: tokenDelay)))
        }
    }

    /// Runs `server` until it stops, then closes the HTTP client's connections, whether it returned or threw.
    public func serving(isolation: isolated (any Actor)? = #isolation, _ server: () async throws -> Void) async throws {
        do {
            try await server()
        } catch {
            await shutdown()
            throw error
        }
        await shutdown()
    }

    private func shutdown() async {
        if case .upstream(_, let client) = source { try? await client.shutdown() }
    }

    /// The body of a chat completions request.
    private struct CompletionRequest: Encodable {
        struct Message: Encodable {
            let role: String
            let content: String
        }
        let model: String
        let messages: [Message]
        let stream: Bool
    }
}

/// One answer's text, from the model or the demo's tokens.
public struct ChatAnswer: AsyncSequence, Sendable {
    public typealias Element = String
    public typealias Failure = any Error

    enum Source: Sendable {
        case upstream(ChatCompletionDeltas)
        case demo(prefix: String, tokens: DemoTokens)
    }

    let source: Source

    init(_ source: Source) {
        self.source = source
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch source {
        case .upstream(let deltas): AsyncIterator(upstream: deltas.makeAsyncIterator(), prefix: nil, demo: nil)
        case .demo(let prefix, let tokens): AsyncIterator(upstream: nil, prefix: prefix, demo: tokens.makeAsyncIterator())
        }
    }

    /// The answer's pieces.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var upstream: ChatCompletionDeltas.AsyncIterator?
        var prefix: String?
        var demo: DemoTokens.Iterator?

        public mutating func next() async throws -> String? {
            if let text = prefix {
                prefix = nil
                return text
            }
            if upstream != nil { return try await upstream?.next() }
            return try await demo?.next()
        }
    }
}
