import ResumableStream

/// The doc comment of `InMemoryBackend`: a context without Redis.
func inMemoryContext() -> ResumableStreamContext {
    // snippet: begin
    let backend = InMemoryBackend()
    let context = ResumableStreamContext(publisher: backend, subscriber: backend)
    // snippet: end
    return context
}
