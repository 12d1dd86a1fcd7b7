import Foundation
import Logging
import OTel
import ServiceLifecycle

/// OpenTelemetry export of the library's spans (and the HTTP server's), with swift-otel, when the environment
/// asks for it: `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set (OTLP over HTTP,
/// protobuf by default, `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` for JSON; not gRPC), or `OTEL_TRACES_EXPORTER`
/// set to an exporter (`console` prints spans). `OTEL_SDK_DISABLED=true` turns it off, and the other standard
/// variables (`OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, `OTEL_BSP_SCHEDULE_DELAY`, headers, timeouts, ...)
/// apply as swift-otel reads them. Only traces: the logs stay on standard error and the metrics at `/metrics`.
public enum TraceExport {
    /// Bootstraps `InstrumentationSystem` with swift-otel's tracer if the environment asks for export, and
    /// returns the service that exports the spans (run it in the server's service group, so that it sends
    /// what is left on shutdown); `nil`, with nothing bootstrapped, if it does not ask. A configuration that
    /// cannot be used ends the process with one line on standard error (prefixed with `serviceName`) and exit
    /// code 2.
    public static func bootstrapIfConfigured(
        serviceName: String, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> (any Service)? {
        guard isRequested(by: environment) else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName  // OTEL_SERVICE_NAME overrides it
        configuration.diagnosticLogLevel = .warning  // not a line per variable read (OTEL_LOG_LEVEL overrides it)
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        // swift-otel reads OTEL_SDK_DISABLED=false as "enable every signal", which would bootstrap its metrics
        // over the Prometheus registry (a second bootstrap traps): that variable was read above.
        let otelEnvironment = environment.filter { $0.key != "OTEL_SDK_DISABLED" }
        do {
            // Without the OTLPGRPC trait (see Package.swift), swift-otel traps on gRPC rather than throwing.
            let protocolName = environment["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] ?? environment["OTEL_EXPORTER_OTLP_PROTOCOL"]
            if protocolName?.trimmingCharacters(in: .whitespaces).lowercased() == "grpc" {
                throw SettingsError("the examples export over OTLP/HTTP only: set OTEL_EXPORTER_OTLP_PROTOCOL to http/protobuf or http/json")
            }
            let service = try OTel.bootstrap(configuration: configuration, environment: otelEnvironment)
            let destination =
                environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] ?? environment["OTEL_EXPORTER_OTLP_ENDPOINT"]
                ?? environment["OTEL_TRACES_EXPORTER"] ?? ""
            logger.info("exporting spans with OpenTelemetry", metadata: ["to": "\(destination)"])
            return service
        } catch {
            FileHandle.standardError.write(Data("\(serviceName): trace export: \(error)\n".utf8))
            exit(2)
        }
    }

    /// Whether `environment` names somewhere (or some way) to export spans, and does not disable the SDK.
    static func isRequested(by environment: [String: String]) -> Bool {
        func isSet(_ name: String) -> Bool { !(environment[name] ?? "").trimmingCharacters(in: .whitespaces).isEmpty }
        if environment["OTEL_SDK_DISABLED"]?.trimmingCharacters(in: .whitespaces).lowercased() == "true" { return false }
        if isSet("OTEL_TRACES_EXPORTER") { return environment["OTEL_TRACES_EXPORTER"]?.lowercased() != "none" }
        return isSet("OTEL_EXPORTER_OTLP_ENDPOINT") || isSet("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    }
}
