import Metrics

/// The metrics of a context (swift-metrics, OpenTelemetry-style dotted names). They go to whatever backend
/// the application bootstrapped `MetricsSystem` with before creating the context. One object per context, which
/// every producer refers to.
final class StreamMetrics: Sendable {
    /// `resumable_stream.streams`, one counter per event: created, resumed, completed, failed, stopped.
    let created: Counter
    let resumed: Counter
    let completed: Counter
    let failed: Counter
    let stopped: Counter
    /// `resumable_stream.producers.active`: producers running in this process.
    let activeProducers: Gauge
    /// `resumable_stream.follower.chunks` and `.bytes`: what followers in this process received.
    let relayedChunks: Counter
    let relayedBytes: Counter
    /// `resumable_stream.follower.too_slow`: followers dropped because their reader fell too far behind.
    let slowFollowers: Counter
    /// `resumable_stream.follower.recovered`: followers that missed text (a publish or a subscription lost in a
    /// reconnect) and asked their producer again from their offset, without an error.
    let recoveries: Counter
    /// `resumable_stream.resume.duration`: from a resume call to the producer's acknowledgement.
    let resumeLatency: Timer
    /// `resumable_stream.producer.deferred_generation_checks`: announcements of another generation that came
    /// faster than a producer checks them (forged ones, most likely); the check is made before the next
    /// request is answered.
    let deferredGenerationChecks: Counter

    init(factory: any MetricsFactory) {
        func streams(_ event: String) -> Counter {
            Counter(label: "resumable_stream.streams", dimensions: [("event", event)], factory: factory)
        }
        created = streams("created")
        resumed = streams("resumed")
        completed = streams("completed")
        failed = streams("failed")
        stopped = streams("stopped")
        activeProducers = Gauge(label: "resumable_stream.producers.active", factory: factory)
        relayedChunks = Counter(label: "resumable_stream.follower.chunks", factory: factory)
        relayedBytes = Counter(label: "resumable_stream.follower.bytes", factory: factory)
        slowFollowers = Counter(label: "resumable_stream.follower.too_slow", factory: factory)
        recoveries = Counter(label: "resumable_stream.follower.recovered", factory: factory)
        resumeLatency = Timer(label: "resumable_stream.resume.duration", factory: factory)
        deferredGenerationChecks = Counter(label: "resumable_stream.producer.deferred_generation_checks", factory: factory)
    }

    func record(_ ending: StreamEnding) {
        switch ending {
        case .completed: completed.increment()
        case .stopped: stopped.increment()
        case .failed: failed.increment()
        }
    }
}
