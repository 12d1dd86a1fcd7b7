import ArgumentParser
import Foundation
import RedisBridge
import ResumableStream

/// The `rstream` tool: produces, follows, inspects and stops resumable streams of text in Redis, with the
/// wire protocol of the TypeScript package `resumable-stream`.
@main
struct RStream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rstream",
        abstract: "Produce, resume, inspect and stop resumable text streams stored in Redis.",
        discussion: """
            Streams are compatible with the TypeScript package `resumable-stream`. The Redis URL comes from \
            --redis, else the REDIS_URL or KV_URL environment variable, else redis://127.0.0.1:6379.

            Exit codes:
              0  success
              3  the stream is already done
              4  there is no such stream
              5  the stream's producer is unreachable
              1  any other failure (with a one-line message on standard error)
            """,
        version: resumableStreamVersion,
        subcommands: [Produce.self, Resume.self, Status.self, Stop.self]
    )

    /// The tool is the host, so it decides the signal disposition: a reader of its output that goes away (a
    /// closed pipe) must give a write error, not end a producer that its followers still read.
    static func main() async {
        signal(SIGPIPE, SIG_IGN)
        await main(nil)
    }
}

/// The options every subcommand shares: where Redis is and under which key prefix the streams live.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .customLong("redis"),
        help: ArgumentHelp(
            "The Redis URL (default: $REDIS_URL, then $KV_URL, then redis://127.0.0.1:6379).", valueName: "URL"))
    var redisURL: String?

    @Option(help: ArgumentHelp("The key prefix of the streams.", valueName: "P"))
    var prefix = "resumable-stream"

    /// Runs `body` with a context, shuts the context down in every case, and turns every error but an
    /// ``ExitCode`` into a one-line message on standard error and exit code 1, or 5 for a producer that
    /// became unreachable mid-stream (the one place errors end).
    func withContext(
        configure: (inout ResumableStreamConfiguration) -> Void = { _ in },
        _ body: (ResumableStreamContext) async throws -> Void
    ) async throws {
        do {
            let redis =
                try redisURL.map { try RedisConfiguration(url: $0) }
                ?? RedisConfiguration.fromEnvironment(defaultURL: "redis://127.0.0.1:6379")
            var configuration = ResumableStreamConfiguration(keyPrefix: prefix)
            configure(&configuration)
            let context = ResumableStreamContext(redis: redis, configuration: configuration)
            var failure: (any Error)?
            do { try await body(context) } catch { failure = error }
            await context.shutdown(gracePeriod: .seconds(30))
            if let failure { throw failure }
        } catch let code as ExitCode {
            throw code
        } catch {
            let code =
                (error as? RStreamError)?.exitCode
                ?? (error as? ResumableStreamError == .producerUnreachable ? ExitCode.producerUnreachable : .failure)
            let message = String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
            try? FileHandle.standardError.write(contentsOf: Data("rstream: \(message)\n".utf8))
            throw code
        }
    }
}

/// Produces a stream from standard input, one chunk per line, and writes it to standard output.
struct Produce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Produce a stream from standard input (one chunk per line) and echo it to standard output.",
        discussion: "If another producer already runs the stream, follows it instead, as `resume` does."
    )

    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The stream id.") var id: String
    @Option(
        help: ArgumentHelp(
            "The stream's expiry while it runs, refreshed by the producer: the id is free again this long after the producer died.",
            valueName: "seconds"))
    var runningTTL: Double = 300
    @Option(
        help: ArgumentHelp(
            "Keep the whole text in Redis this long after the stream finished, so that `resume --skip N` still gets the rest.",
            valueName: "seconds"))
    var retain: Double?
    @Option(
        help: ArgumentHelp(
            "Also append the text to a durable log in Redis, kept this long after the end: if this process dies, `resume` still gets what was logged.",
            valueName: "seconds"))
    var log: Double?

    func validate() throws {
        guard runningTTL >= 0.01 else { throw ValidationError("--running-ttl must be at least 0.01 seconds") }
        if let retain, retain < 0.001 { throw ValidationError("--retain must be at least 0.001 seconds") }
        if let log, log < 0.001 { throw ValidationError("--log must be at least 0.001 seconds") }
    }

    func run() async throws {
        try await options.withContext(configure: { configuration in
            configuration.runningTTL = .milliseconds(Int(runningTTL * 1000))
            configuration.finishedStreamRetention = retain.map { .milliseconds(Int($0 * 1000)) }
            configuration.durableLog = log.map { .init(retention: .milliseconds(Int($0 * 1000))) }
        }) { context in
            let result = try await context.resumableStream(id) { standardInputLines() }
            if case .created(let own) = result {
                // The producer outlives its reader: with standard output closed, it goes on for its followers.
                try await writeToStandardOutput(own, thenDrain: true)
            } else {
                try await writeToStandardOutput(stream(of: result))
            }
            if case .created = result {
                guard await context.drain(timeout: .seconds(30)) else {
                    throw RStreamError(description: "the producer did not finish within 30 seconds")
                }
            }
        }
    }
}

/// Follows an existing stream and writes it to standard output.
struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Follow an existing stream and write it to standard output.")

    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The stream id.") var id: String
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Skip the first N characters (UTF-16 code units; negative counts from the end).", valueName: "N"))
    var skip: Int?

    func run() async throws {
        try await options.withContext { context in
            try await writeToStandardOutput(stream(of: context.resumeExistingStream(id, skipCharacters: skip)))
        }
    }
}

/// Prints whether a stream exists and whether it finished.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the state of a stream: none (exit 4), in-progress or done.")

    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The stream id.") var id: String

    func run() async throws {
        try await options.withContext { context in
            switch try await context.hasExistingStream(id) {
            case .none:
                print("none")
                throw ExitCode.notFound
            case .inProgress: print("in-progress")
            case .done: print("done")
            }
        }
    }
}

/// Asks a stream's producer, wherever it runs, to stop.
struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a stream's producer to stop: prints stopping, awaiting-producer, already-done (exit 3) or not-found (exit 4).")

    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The stream id.") var id: String

    func run() async throws {
        try await options.withContext { context in
            switch try await context.stop(id) {
            case .stopping: print("stopping")
            case .awaitingProducer: print("awaiting-producer")
            case .alreadyDone:
                print("already-done")
                throw ExitCode.alreadyDone
            case .notFound:
                print("not-found")
                throw ExitCode.notFound
            }
        }
    }
}

/// A failure of the tool itself, or an outcome without a stream: its one-line message and exit code.
struct RStreamError: Error, CustomStringConvertible {
    let description: String
    var exitCode = ExitCode.failure
}

extension ExitCode {
    /// The stream is already done.
    static let alreadyDone = ExitCode(3)
    /// There is no such stream.
    static let notFound = ExitCode(4)
    /// The stream's producer did not answer.
    static let producerUnreachable = ExitCode(5)
}

/// The stream of `result`; for an outcome without a stream, throws its message and exit code.
func stream(of result: ResumableStreamResult) throws -> ResumableTextStream {
    switch result {
    case .created(let stream), .resumed(let stream), .finished(let stream): return stream
    case .alreadyDone: throw RStreamError(description: "the stream is already done", exitCode: .alreadyDone)
    case .notFound: throw RStreamError(description: "there is no such stream", exitCode: .notFound)
    case .producerUnreachable:
        throw RStreamError(
            description: "the stream's producer did not answer (it may have crashed: the id is free again once its running TTL passes)",
            exitCode: .producerUnreachable)
    }
}

/// Writes `stream` to standard output as it arrives: a chunk shows at once, and what arrived during a write
/// comes merged in the next one (a fast stream costs a write per batch, not per chunk: 20,000 chunks relayed
/// through Redis took 250 to 800 writes here). If standard output closes, throws its write error, or with
/// `thenDrain` reads the rest of the stream without writing it.
func writeToStandardOutput(_ stream: ResumableTextStream, thenDrain: Bool = false) async throws {
    var outputClosed = false
    for try await chunk in stream where !outputClosed {
        do {
            try FileHandle.standardOutput.write(contentsOf: Data(chunk.utf8))
        } catch  where thenDrain {
            outputClosed = true
            FileHandle.standardError.write(Data("rstream: standard output closed; producing on for followers\n".utf8))
        }
    }
}

/// Standard input as chunks, one per line with its line break (the last line as is), read on a thread of
/// its own so that the blocking reads never hold an executor thread.
func standardInputLines() -> AsyncStream<String> {
    let (lines, continuation) = AsyncStream<String>.makeStream()
    Thread {
        while let line = readLine(strippingNewline: false) {
            if case .terminated = continuation.yield(line) { break }
        }
        continuation.finish()
    }.start()
    return lines
}
