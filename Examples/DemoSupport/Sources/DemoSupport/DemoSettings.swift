import Foundation
import RedisBridge
import ResumableStream

/// What an example server is told at start: `--port N` (8080) on the command line; Redis from `REDIS_URL`
/// (then `KV_URL`); `TOKEN_DELAY_MS` (120) between the demo's tokens; finished streams stay resumable for
/// `RETAIN_SECONDS` (600; 0 turns it off); with `LOG_SECONDS` set, each stream also has a durable log, so that
/// another instance resumes a stream whose producer died; the chat's model from `OPENAI_BASE_URL`, `OPENAI_API_KEY`,
/// `MODEL` and `MODEL_TIMEOUT_SECONDS` (``ChatModel/Upstream``), the demo's tokens without them.
public struct DemoSettings: Sendable {
    /// The loopback port to listen on.
    public var port: Int
    /// The pause before each of the demo's tokens.
    public var tokenDelay: Duration
    /// Where Redis is.
    public var redis: RedisConfiguration
    /// The context's tunables: retention of finished streams and the durable log.
    public var streams: ResumableStreamConfiguration
    /// The chat's model, if one is configured.
    public var model: ChatModel.Upstream?

    /// The settings from the process's arguments and environment. A bad one ends the process with one line on
    /// standard error (prefixed with `program`) and exit code 2, not a backtrace.
    public static func fromProcess(program: String) -> DemoSettings {
        do {
            return try parse(arguments: ProcessInfo.processInfo.arguments, environment: ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("\(program): \(error)\n".utf8))
            exit(2)
        }
    }

    /// The settings from `arguments` (the first is the program) and `environment`.
    public static func parse(arguments: [String], environment: [String: String]) throws -> DemoSettings {
        var port = 8080
        if let flag = arguments.firstIndex(of: "--port") {
            guard flag + 1 < arguments.endIndex, let number = Int(arguments[flag + 1]), (0...65535).contains(number) else {
                throw SettingsError("--port takes a port number (0 to 65535)")
            }
            port = number
        }
        let tokenDelay = max(0, Int(environment["TOKEN_DELAY_MS"] ?? "") ?? 120)
        let retention = Int(environment["RETAIN_SECONDS"] ?? "") ?? 600
        let logRetention = Int(environment["LOG_SECONDS"] ?? "") ?? 0
        // A client that drops near the end and comes back after it still gets the rest, from either instance.
        let streams = ResumableStreamConfiguration(
            finishedStreamRetention: retention > 0 ? .seconds(retention) : nil,
            durableLog: logRetention > 0 ? .init(retention: .seconds(logRetention)) : nil)
        return DemoSettings(
            port: port, tokenDelay: .milliseconds(tokenDelay), redis: try .fromEnvironment(environment), streams: streams,
            model: try ChatModel.Upstream.fromEnvironment(environment))
    }
}

/// A setting that cannot be used, said in one line.
struct SettingsError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
