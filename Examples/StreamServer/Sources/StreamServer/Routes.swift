import Hummingbird
import ResumableStream

/// The HTTP surface: both patterns of the seed, stop, the page and the metrics.
struct Routes: Sendable {
    let streams: ResumableStreamContext
    let tokenDelay: Duration
    let metricsText: @Sendable () -> String

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        // The idempotent API: creates the stream, or resumes it (`?resumeAt=N` or `Last-Event-ID`).
        router.get("/streams/:id") { request, context in
            let id = try context.parameters.require("id")
            let skip = skipCharacters(request)
            let result = try await streams.resumableStream(id, skipCharacters: skip) { DemoTokens(delay: tokenDelay) }
            return respond(result, skip: skip)
        }
        // The split API: POST creates, GET on /explicit resumes.
        router.post("/explicit/streams/:id") { _, context in
            let id = try context.parameters.require("id")
            let stream = try await streams.createNewResumableStream(id) { DemoTokens(delay: tokenDelay) }
            return respond(.created(stream), skip: nil)
        }
        router.get("/explicit/streams/:id") { request, context in
            let id = try context.parameters.require("id")
            let skip = skipCharacters(request)
            return respond(try await streams.resumeExistingStream(id, skipCharacters: skip), skip: skip)
        }
        // Stops a stream, whichever instance produces it.
        router.delete("/streams/:id") { _, context in
            let id = try context.parameters.require("id")
            let outcome =
                switch try await streams.stop(id) {
                case .stopping: "stopping"
                case .stored: "stored"
                case .alreadyDone: "already done"
                }
            return Response(status: .accepted, body: .init(byteBuffer: ByteBuffer(string: outcome + "\n")))
        }
        router.get("/streams/:id/status") { _, context in
            let id = try context.parameters.require("id")
            let state =
                switch try await streams.hasExistingStream(id) {
                case .none: "none"
                case .inProgress: "in progress"
                case .done: "done"
                }
            return state + "\n"
        }
        router.get("/metrics") { _, _ in metricsText() }
    }

    private func skipCharacters(_ request: Request) -> Int? {
        ServerSentEvents.skipCharacters(
            lastEventID: request.headers[.init("Last-Event-ID")!],
            resumeAt: request.uri.queryParameters.get("resumeAt")
        )
    }

    /// Maps an outcome to a response: a stream (live, or the rest of a finished one) as `text/event-stream`,
    /// the others to 422, 404 and 503.
    private func respond(_ result: ResumableStreamResult, skip: Int?) -> Response {
        switch result {
        case .created(let stream), .resumed(let stream), .finished(let stream):
            // The ids count from where the stream really starts (a new producer starts at 0 whatever the client
            // asked, as in TypeScript); `skip` only counts for a TypeScript producer, which does not say.
            let events = stream.serverSentEvents(startingAt: skip ?? 0)
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    for try await event in events { try await writer.write(ByteBuffer(string: event)) }
                    try await writer.finish(nil)
                }
            )
        case .alreadyDone: return text(.unprocessableContent, "Stream is already done")
        case .notFound: return text(.notFound, "No such stream")
        case .producerUnreachable: return text(.serviceUnavailable, "The stream's producer is unreachable")
        }
    }

    private func text(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}

private let page = """
    <!doctype html>
    <meta charset="utf-8">
    <title>swift-resumable-stream</title>
    <style>body{font:16px system-ui;max-width:46em;margin:2em auto} #out{white-space:pre-wrap;border:1px solid #ccc;padding:1em;min-height:6em} #log{white-space:pre-wrap;color:#666;font-size:13px}</style>
    <h1>Resumable stream</h1>
    <p>Stream id <input id="id" value="demo"> <button onclick="start()">Stream</button>
    <button onclick="es && es.close(); log('closed by you: press Stream to resume')">Drop connection</button>
    <button onclick="fetch('/streams/'+encodeURIComponent(id.value),{method:'DELETE'})">Stop</button></p>
    <div id="out"></div><div id="log"></div>
    <script>
    let es, received = 0, streamId = null;
    const logBox = document.getElementById('log');
    function log(m){ logBox.textContent += m + '\\n' }
    function start(){
      if (es) es.close();
      // Another stream starts from nothing; the same one resumes where it stopped.
      if (id.value !== streamId) { streamId = id.value; received = 0; out.textContent = ''; logBox.textContent = '' }
      const url = '/streams/' + encodeURIComponent(streamId) + '?resumeAt=' + received;
      es = new EventSource(url);
      es.onopen = () => log('connected (resuming at ' + received + ')');
      es.onmessage = e => { out.textContent += JSON.parse(e.data); received = Number(e.lastEventId) };
      es.addEventListener('end', () => { es.close(); log('done: the stream ended (' + received + ' characters)') });
      es.addEventListener('failed', e => { es.close(); log('failed (' + JSON.parse(e.data) + ') after ' + received + ' characters') });
      es.onerror = () => {
        if (es.readyState === EventSource.CLOSED) log('closed: the server answered with an error (already done without a retained text, or no such stream)');
        else log('connection lost: the browser reconnects with Last-Event-ID ' + received);
      };
    }
    </script>
    """
