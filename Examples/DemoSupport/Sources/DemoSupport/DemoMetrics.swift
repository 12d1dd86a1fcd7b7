import Metrics
import Prometheus

/// The process's metrics in a Prometheus registry, which `/metrics` shows: the library's stream and producer
/// counts, and anything else that reports through swift-metrics.
public struct DemoMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry

    /// Bootstraps `MetricsSystem` with a new registry; call it once per process, before the context is made
    /// (the context takes its metrics factory when it is created).
    public static func bootstrap() -> DemoMetrics {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return DemoMetrics(registry: registry)
    }

    /// The registry in the Prometheus text format.
    public func text() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
