import Metrics

/// The metrics of a context (swift-metrics, OpenTelemetry-style dotted names). They go to whatever backend
/// the application bootstrapped `MetricsSystem` with before creating the context.
struct StreamMetrics: Sendable {
    /// `resumable_stream.streams`, one counter per event: created, resumed, completed, failed, stopped.
    let created = Counter(label: "resumable_stream.streams", dimensions: [("event", "created")])
    let resumed = Counter(label: "resumable_stream.streams", dimensions: [("event", "resumed")])
    let completed = Counter(label: "resumable_stream.streams", dimensions: [("event", "completed")])
    let failed = Counter(label: "resumable_stream.streams", dimensions: [("event", "failed")])
    let stopped = Counter(label: "resumable_stream.streams", dimensions: [("event", "stopped")])
    /// `resumable_stream.producers.active`: producers running in this process.
    let activeProducers = Gauge(label: "resumable_stream.producers.active")
    /// `resumable_stream.follower.chunks` and `.bytes`: what followers in this process received.
    let relayedChunks = Counter(label: "resumable_stream.follower.chunks")
    let relayedBytes = Counter(label: "resumable_stream.follower.bytes")
    /// `resumable_stream.follower.too_slow`: followers dropped because their reader fell too far behind.
    let slowFollowers = Counter(label: "resumable_stream.follower.too_slow")
    /// `resumable_stream.resume.duration`: from a resume call to the producer's acknowledgement.
    let resumeLatency = Timer(label: "resumable_stream.resume.duration")

    func record(_ ending: StreamEnding) {
        switch ending {
        case .completed: completed.increment()
        case .stopped: stopped.increment()
        case .failed: failed.increment()
        }
    }
}
