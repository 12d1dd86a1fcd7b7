import Foundation
import RedisBridge

/// One line of the results table: a figure next to its baseline from the same run.
struct Row: Codable {
    let scenario: String
    let figure: String
    let measured: String
    let baseline: String
    let ratio: Double?
    let target: String
    /// `nil` when the row has no target of its own.
    let met: Bool?
    /// A fast wrong answer is a failure: false when the bytes received differ from the bytes produced.
    var correct = true

    var verdict: String {
        guard correct else { return "FAILED: wrong bytes" }
        guard let met else { return "" }
        return met ? "met" : "MISSED"
    }
}

enum Measure {
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func microseconds(_ duration: Duration) -> Double { seconds(duration) * 1e6 }

    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }

    /// Runs `redis-benchmark --csv` against the server; returns (requests per second, p50 in µs).
    static func redisBenchmark(port: Int, _ arguments: [String]) throws -> (rps: Double, p50: Double) {
        let output = try run("redis-benchmark", ["-h", "127.0.0.1", "-p", String(port), "--csv"] + arguments)
        guard let row = output.split(separator: "\n").last?.split(separator: ",")
            .map({ $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }),
            row.count >= 5, let rps = Double(row[1]), let p50 = Double(row[4])
        else { throw RedisError.unexpectedReply("redis-benchmark printed: \(output)") }
        return (rps, p50 * 1000)
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Calls per command from `INFO commandstats`.
    static func commandCalls(_ commands: RedisCommandConnection) async throws -> [String: Int] {
        var calls: [String: Int] = [:]
        for line in try await info(commands, "commandstats") where line.hasPrefix("cmdstat_") {
            let name = line.dropFirst(8).prefix { $0 != ":" }
            if let range = line.range(of: "calls="), let value = Int(line[range.upperBound...].prefix { $0.isNumber }) {
                calls[String(name)] = value
            }
        }
        return calls
    }

    static func infoField(_ commands: RedisCommandConnection, _ section: String, _ field: String) async throws -> Int {
        let line = try await info(commands, section).first { $0.hasPrefix("\(field):") } ?? ""
        return Int(line.dropFirst(field.count + 1)) ?? -1
    }

    static func info(_ commands: RedisCommandConnection, _ section: String) async throws -> [Substring] {
        (try await commands.send(["INFO", .string(section)]).string ?? "").split(separator: "\r\n")
    }

    /// A field of /proc/self/status in bytes (`VmRSS`, `VmHWM`).
    static func memory(_ field: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("\(field):") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// Resets VmHWM to the current RSS (Linux 4.0+), so a peak can be measured for one phase.
    static func resetPeakMemory() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    static func machine() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let memory = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?
            .split(separator: "\n").first?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores (\(model)), \(memory / 1024 / 1024) GiB, \(ProcessInfo.processInfo.operatingSystemVersionString)"
    }
}

/// A synchronous source of `count` chunks of `length` characters (the last character the chunk's index
/// modulo 10, so that a wrong order shows in a byte comparison): it costs nothing itself, so what is
/// measured is the library.
struct ChunkSource: AsyncSequence, Sendable {
    typealias Element = String
    let count: Int
    let length: Int

    func makeAsyncIterator() -> Iterator { Iterator(count: count, body: String(repeating: "x", count: length - 1)) }

    /// The concatenation of all chunks, to compare what a reader received.
    var text: String {
        let body = String(repeating: "x", count: length - 1)
        var text = ""
        text.reserveCapacity(count * length)
        for index in 0..<count { text += body + String(index % 10) }
        return text
    }

    struct Iterator: AsyncIteratorProtocol {
        let count: Int
        let body: String
        var index = 0

        init(count: Int, body: String) {
            self.count = count
            self.body = body
        }

        mutating func next() async -> String? {
            guard index < count else { return nil }
            defer { index += 1 }
            return body + String(index % 10)
        }
    }
}
