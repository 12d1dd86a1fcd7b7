import Foundation
import RedisTestSupport
import Testing

/// Runs the built `rstream` tool, which SwiftPM puts next to the test bundle.
private func rstream(_ arguments: [String], input: String = "", prefix: String) async throws -> (status: Int32, output: String, error: String) {
    let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let tool = [directory, directory.deletingLastPathComponent()]
        .map { $0.appendingPathComponent("rstream") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    guard let tool else { throw CocoaError(.fileNoSuchFile) }
    let redis = try sharedConfiguration().description
    return try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            do {
                let process = Process()
                process.executableURL = tool
                process.arguments = arguments + (arguments.contains("--redis") ? [] : ["--redis", redis]) + ["--prefix", prefix]
                let (stdin, stdout, stderr) = (Pipe(), Pipe(), Pipe())
                process.standardInput = stdin
                process.standardOutput = stdout
                process.standardError = stderr
                try process.run()
                stdin.fileHandleForWriting.write(Data(input.utf8))
                try stdin.fileHandleForWriting.close()
                let output = stdout.fileHandleForReading.readDataToEndOfFile()
                let error = stderr.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self)))
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

        let missing = try await rstream(["resume", "nothing-here"], prefix: prefix)
        #expect(missing.status == 4)
        #expect(try await rstream(["status", "nothing-here"], prefix: prefix).output == "none\n")
    }

    @Test func aFailureIsOneLineOnStandardErrorWithExitCodeOne() async throws {
        let result = try await rstream(["status", "x", "--redis", "rediss://example:6380"], prefix: testPrefix())
        #expect(result.status == 1)
        #expect(result.error.hasPrefix("rstream: ") && result.error.contains("TLS"))
        #expect(result.error.split(separator: "\n").count == 1)
    }
}
