import DemoSupport
import Vapor

/// Turns "cannot serve now" into `503 Service Unavailable` with a one-line body and a log line, instead of
/// Vapor's 500: Redis unreachable, refusing or too slow, or the server shutting down
/// (``DemoReply/unavailable(for:)``).
struct UnavailableMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch {
            guard let (reply, reason) = DemoReply.unavailable(for: error) else { throw error }
            request.logger.error("answering 503", metadata: ["http.path": "\(request.url.path)", "reason": "\(reason)"])
            return Response(reply)
        }
    }
}
