import Hummingbird
import RedisBridge
import ResumableStream

/// Turns "cannot serve now" into `503 Service Unavailable` with a one-line body and a log line, instead of an
/// empty 500: Redis unreachable, refusing or too slow (``RedisError``), or the server shutting down.
struct UnavailableMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as RedisError {
            return unavailable("Redis is unavailable: \(error)", request, context)
        } catch ResumableStreamError.shuttingDown {
            return unavailable("The server is shutting down", request, context)
        }
    }

    private func unavailable(_ message: String, _ request: Request, _ context: Context) -> Response {
        context.logger.error("answering 503", metadata: ["http.path": "\(request.uri.path)", "reason": "\(message)"])
        return Response(
            status: .serviceUnavailable,
            headers: [.contentType: "text/plain; charset=utf-8", .retryAfter: "1"],
            body: .init(byteBuffer: ByteBuffer(string: message + "\n"))
        )
    }
}
