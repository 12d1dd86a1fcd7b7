import ResumableStream

/// GettingStarted.md, "Let producers finish".
func letProducersFinish(_ streams: ResumableStreamContext) async {
    // snippet: begin
    await streams.shutdown(gracePeriod: .seconds(30))
    // snippet: end
}
