import Foundation
import RedisTestSupport
import Testing

@testable import ResumableStream

/// A seeded, model-based test of stream ids that are used again (a chat regenerated under the same id, a client
/// that retries after a crash, `createNewResumableStream` over a running stream): each life of an id is a
/// generation, with text of its own. Random operations from two instances (create, replace, resume at odd
/// offsets, write, finish, fail, stop, crash an instance, let the running TTL pass, restart Redis) run against a
/// real Redis; every stream the library hands out is read in the background, and the model checks that each
/// reader got one generation's text at its offset (all of the rest of it when it ended cleanly), that followers
/// got the generation the id named when they asked, that only stopped generations stop early and only ones a
/// stop was aimed at, and that nothing hangs.
///
/// `MODEL_OPERATIONS` (default 1,000; `make chaos` 100,000), `MODEL_SEED` (default random, printed),
/// `MODEL_PROFILE=noreuse` (every new stream gets a fresh id: no id is ever produced twice),
/// `MODEL_REPLAY` (an operation list, or a file of one, as a failure prints it), `MODEL_SHRINK_SECONDS`
/// (how long a failure is shrunk, default 180; 0 turns shrinking off) and `MODEL_SHRINK_KIND` (which broken
/// invariant to shrink for, by the start of its name, e.g. `mixed`; default the first one found); `MODEL_RESTARTS=0`
/// draws no Redis restarts.
@Suite(
    "Generations of reused stream ids: a seeded model", .enabled(if: !usesExternalRedis, "needs a redis-server and proxies of its own"),
    .timeLimit(.minutes(600)))
struct GenerationModelTests {
    @Test func readersGetOneGenerationAndStopsOnlyTheirTarget() async throws {
        let environment = ProcessInfo.processInfo.environment
        var profile = ModelProfile(environment["MODEL_PROFILE"])
        if environment["MODEL_RESTARTS"] == "0" { profile.restarts = false }
        let seed = UInt64(environment["MODEL_SEED"] ?? "") ?? UInt64.random(in: 0...UInt64.max)
        let count = Int(environment["MODEL_OPERATIONS"] ?? "") ?? 1_000
        let shrinkBudget = Duration.seconds(Int(environment["MODEL_SHRINK_SECONDS"] ?? "") ?? 180)
        let operations: [ModelOperation]
        if let replay = environment["MODEL_REPLAY"], !replay.isEmpty {
            let text = FileManager.default.fileExists(atPath: replay) ? try String(contentsOfFile: replay, encoding: .utf8) : replay
            operations = ModelOperation.parseList(text)
            Swift.print("model: replaying \(operations.count) operations, MODEL_PROFILE=\(profile)")
        } else {
            operations = ModelOperation.randomList(count: count, seed: seed, profile: profile)
            Swift.print("model: \(count) operations, MODEL_SEED=\(seed) MODEL_PROFILE=\(profile)")
        }
        let replaying = environment["MODEL_REPLAY"].map { !$0.isEmpty } ?? false
        let started = ContinuousClock.now
        let report = try await GenerationModelRun.execute(operations, profile: profile)
        Swift.print("model: \(report.summary)\nmodel: ran in \(ContinuousClock.now - started)")
        // The invariant to shrink for: MODEL_SHRINK_KIND (the start of a kind's name, e.g. "mixed"), else the first broken.
        let wanted = environment["MODEL_SHRINK_KIND"].flatMap { name in report.violations.first { $0.kind.rawValue.hasPrefix(name) } }
        guard let first = wanted ?? report.violations.first else { return }

        Self.report(report.violations.filter { $0.kind == first.kind } + report.violations.filter { $0.kind != first.kind }, limit: 20)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("model-operations-\(replaying ? "replay" : "\(seed)").txt")
        try? Self.listing(operations).write(to: file, atomically: true, encoding: .utf8)
        Swift.print("model: the \(operations.count) operations are in \(file.path) (MODEL_REPLAY=\(file.path) runs them again)")
        var shrunk = operations
        if shrinkBudget > .zero {
            shrunk = await Self.shrink(operations, keeping: first.kind, involved: first.operations, profile: profile, budget: shrinkBudget)
            var failures = 0
            var last: [ModelViolation] = []
            for _ in 0..<3 {
                let again = (try? await GenerationModelRun.execute(shrunk, profile: profile))?.violations ?? []
                if again.contains(where: { $0.kind == first.kind }) {
                    failures += 1
                    last = again
                }
            }
            Swift.print("model: shrunk to \(shrunk.count) operations, which fail with [\(first.kind.rawValue)] in \(failures) of 3 runs:")
            Swift.print(Self.listing(shrunk))
            Self.report(last.filter { $0.kind == first.kind }, limit: 3)
            Swift.print("model: replay with MODEL_REPLAY='\(shrunk.map(\.description).joined(separator: "; "))' MODEL_PROFILE=\(profile)")
        }
        Issue.record(
            """
            \(report.violations.count) violations with \(replaying ? "MODEL_REPLAY" : "MODEL_SEED=\(seed)") \
            MODEL_OPERATIONS=\(operations.count) MODEL_PROFILE=\(profile), the first: \(first)
            """)
    }

    private static func listing(_ operations: [ModelOperation]) -> String {
        operations.enumerated().map { "  \($0.offset): \($0.element)" }.joined(separator: "\n")
    }

    private static func report(_ violations: [ModelViolation], limit: Int) {
        for violation in violations.prefix(limit) { Swift.print("model: \(violation)") }
        if violations.count > limit { Swift.print("model: ... and \(violations.count - limit) more") }
    }

    /// A shorter list that still breaks an invariant of `kind`: first the operations up to the last one
    /// involved, then windows around the involved ones, then delta debugging (drop chunks, keep what still
    /// fails), for at most `budget`.
    private static func shrink(
        _ operations: [ModelOperation], keeping kind: ModelViolation.Kind, involved: [Int], profile: ModelProfile, budget: Duration
    ) async -> [ModelOperation] {
        let deadline = ContinuousClock.now + budget
        var trials = 0
        // Failures depend on timing: a short candidate must fail twice in a row, so that the list the
        // shrinking ends with fails reliably.
        func fails(_ candidate: [ModelOperation]) async -> Bool {
            for _ in 0..<(candidate.count <= 60 ? 2 : 1) {
                trials += 1
                let report = try? await GenerationModelRun.execute(candidate, profile: profile)
                guard report?.violations.contains(where: { $0.kind == kind }) == true else { return false }
            }
            return true
        }
        var current = operations
        if let low = involved.min(), let high = involved.max(), high < operations.count {
            let windows = [20, 100, 400, Int.max].map { margin in Array(operations[(margin > low ? 0 : low - margin)...high]) }
            for window in windows where window.count < current.count && ContinuousClock.now < deadline {
                if await fails(window) {
                    current = window
                    break
                }
            }
        }
        var chunks = 2
        while current.count > 1 && ContinuousClock.now < deadline {
            let size = (current.count + chunks - 1) / chunks
            var reduced = false
            for start in stride(from: 0, to: current.count, by: size) where ContinuousClock.now < deadline {
                let candidate = Array(current[..<start] + current[min(current.count, start + size)...])
                if await fails(candidate) {
                    current = candidate
                    chunks = max(chunks - 1, 2)
                    reduced = true
                    break
                }
            }
            if !reduced {
                guard chunks < current.count else { break }
                chunks = min(chunks * 2, current.count)
            }
        }
        Swift.print("model: \(trials) shrinking runs")
        return current
    }
}
