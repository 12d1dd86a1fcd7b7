import DemoSupport
import Hummingbird

/// Turns "cannot serve now" into `503 Service Unavailable` with a one-line body and a log line, instead of an
/// empty 500: Redis unreachable, refusing or too slow, or the server shutting down
/// (``DemoReply/unavailable(for:)``).
struct UnavailableMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            guard let (reply, reason) = DemoReply.unavailable(for: error) else { throw error }
            context.logger.error("answering 503", metadata: ["http.path": "\(request.uri.path)", "reason": "\(reason)"])
            return Response(reply)
        }
    }
}
