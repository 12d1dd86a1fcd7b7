import Foundation
import RedisBridge
import RedisTestSupport
import ResumableStream
import Testing

/// The built `rstream` tool, which SwiftPM puts next to the test bundle, started with `arguments` on the shared
/// Redis under `prefix`, its standard streams on pipes.
func launchRStream(_ arguments: [String], prefix: String) throws -> (process: Process, stdin: Pipe, stdout: Pipe, stderr: Pipe) {
    let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let tool = [directory, directory.deletingLastPathComponent()]
        .map { $0.appendingPathComponent("rstream") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    guard let tool else { throw CocoaError(.fileNoSuchFile) }
    let redis = try sharedConfiguration().description
    let process = Process()
    process.executableURL = tool
    process.arguments = arguments + (arguments.contains("--redis") ? [] : ["--redis", redis]) + ["--prefix", prefix]
    let (stdin, stdout, stderr) = (Pipe(), Pipe(), Pipe())
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    return (process, stdin, stdout, stderr)
}

/// Runs `rstream` with `input` on its standard input, to the end.
func rstream(_ arguments: [String], input: String = "", prefix: String) async throws -> (status: Int32, output: String, error: String) {
    let (process, stdin, stdout, stderr) = try launchRStream(arguments, prefix: prefix)
    return try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            do {
                stdin.fileHandleForWriting.write(Data(input.utf8))
                try stdin.fileHandleForWriting.close()
                let output = stdout.fileHandleForReading.readDataToEndOfFile()
                let error = stderr.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(
                    returning: (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self)))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

@Suite("The rstream command-line tool", .timeLimit(.minutes(1)))
struct CommandLineToolTests {
    @Test func producesResumesAndReportsWithDocumentedExitCodes() async throws {
        let prefix = testPrefix()
        let input = "first line\nzweite Zeile ✓\nlast without newline"
        let produced = try await rstream(["produce", "cli"], input: input, prefix: prefix)
        #expect(produced.status == 0)
        #expect(produced.output == input)

        let status = try await rstream(["status", "cli"], prefix: prefix)
        #expect(status.status == 0 && status.output == "done\n")
        let resumed = try await rstream(["resume", "cli"], prefix: prefix)
        #expect(resumed.status == 3)
        let stopped = try await rstream(["stop", "cli"], prefix: prefix)
        #expect(stopped.status == 3 && stopped.output == "already-done\n")

        let unknown = try await rstream(["stop", "nothing-here"], prefix: prefix)
        #expect(unknown.status == 4 && unknown.output == "not-found\n")

        let version = try await rstream(["--version"], prefix: prefix)
        #expect(version.status == 0 && version.output == resumableStreamVersion + "\n")

        let missing = try await rstream(["resume", "nothing-here"], prefix: prefix)
        #expect(missing.status == 4 && missing.error == "rstream: there is no such stream\n")
        #expect(resumed.error == "rstream: the stream is already done\n")
        #expect(try await rstream(["status", "nothing-here"], prefix: prefix).output == "none\n")
    }

    @Test func aFailureIsOneLineOnStandardErrorWithExitCodeOne() async throws {
        let result = try await rstream(["status", "x", "--redis", "http://user:pw@example:6380"], prefix: testPrefix())
        #expect(result.status == 1)
        #expect(result.error.hasPrefix("rstream: invalid Redis URL") && !result.error.contains("pw"))
        #expect(result.error.split(separator: "\n").count == 1)
    }

    /// The producer outlives its reader: `rstream produce` whose standard output was closed goes on for its
    /// followers, byte for byte, and exits 0.
    @Test func aProducerWhoseOutputClosedGoesOnForItsFollowers() async throws {
        let prefix = testPrefix()
        let (process, stdin, stdout, stderr) = try launchRStream(["produce", "closed-output"], prefix: prefix)
        try stdout.fileHandleForReading.close()
        let context = ResumableStreamContext(redis: try sharedConfiguration(), configuration: .init(keyPrefix: prefix, ackTimeout: handshakePatience))
        stdin.fileHandleForWriting.write(Data("line 1\n".utf8))
        #expect(await eventually { (try? await context.hasExistingStream("closed-output")) == .inProgress })
        guard case .resumed(let follower) = try await context.resumeExistingStream("closed-output") else {
            Issue.record("could not follow the stream")
            process.terminate()
            return
        }
        for line in 2...50 { stdin.fileHandleForWriting.write(Data("line \(line)\n".utf8)) }
        try stdin.fileHandleForWriting.close()
        #expect(try await follower.collect() == (1...50).map { "line \($0)\n" }.joined())
        let error = await Task.detached { stderr.fileHandleForReading.readDataToEndOfFile() }.value
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        #expect(String(decoding: error, as: UTF8.self).contains("standard output closed"))
        await context.shutdown(gracePeriod: .seconds(1))
    }

    /// `--retain`: a finished stream's rest, after the end. `--log`: a producer killed with SIGKILL mid-stream
    /// is resumed from its log, which ends with exit code 5 and its message.
    @Test func retainedAndLoggedStreamsOutliveTheirProducer() async throws {
        let prefix = testPrefix()
        #expect(try await rstream(["produce", "kept", "--retain", "60"], input: "one\ntwo\n", prefix: prefix).status == 0)
        let rest = try await rstream(["resume", "kept", "--skip", "3"], prefix: prefix)
        #expect(rest.status == 0 && rest.output == "\ntwo\n")

        let (process, stdin, _, _) = try launchRStream(["produce", "killed", "--log", "60"], prefix: prefix)
        let logged = "logged 1\nlogged 2\n"
        stdin.fileHandleForWriting.write(Data(logged.utf8))
        try await withConnections(try sharedConfiguration()) { commands, _ in
            let key = "\(prefix):rs:log:killed"
            #expect(
                await eventually {
                    (try? await commands.logEntries(at: key, after: 0, limit: nil))?.map(\.text).joined() == logged
                })
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let resumed = try await rstream(["resume", "killed", "--skip", "0"], prefix: prefix)
        #expect(resumed.output == logged)
        #expect(resumed.status == 5 && resumed.error.contains("stopped answering"), "\(resumed.status) \(resumed.error)")
    }
}
