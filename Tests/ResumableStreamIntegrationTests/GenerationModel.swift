import Foundation

@testable import ResumableStream

// The model behind `GenerationModelTests`: the operations (a list derived from a seed, replayable and
// shrinkable), the text of each generation of a stream id, and the checks of what every reader got.

/// Where a follower asks to start, resolved when the operation runs against the text the model wrote so far
/// for the id's newest generation.
enum ModelSkip: Sendable, Hashable, CustomStringConvertible {
    /// No `skipCharacters`.
    case none
    case zero
    /// This many thousandths of the text.
    case middle(permille: Int)
    /// Exactly the end of what was written.
    case end
    case pastEnd(by: Int)
    /// From the end (JavaScript `slice`).
    case negative(Int)
    /// The low half of a surrogate pair, this many thousandths into the text's pairs.
    case insidePair(permille: Int)

    var description: String {
        switch self {
        case .none: "nil"
        case .zero: "0"
        case .middle(let permille): "mid:\(permille)"
        case .end: "end"
        case .pastEnd(let by): "past:\(by)"
        case .negative(let count): "neg:\(count)"
        case .insidePair(let permille): "pair:\(permille)"
        }
    }

    init?(_ text: Substring) {
        let parts = text.split(separator: ":", maxSplits: 1)
        let number = parts.count == 2 ? Int(parts[1]) : nil
        switch (parts.first, number) {
        case ("nil", _): self = .none
        case ("0", _): self = .zero
        case ("end", _): self = .end
        case ("mid", let value?): self = .middle(permille: value)
        case ("past", let value?): self = .pastEnd(by: value)
        case ("neg", let value?): self = .negative(value)
        case ("pair", let value?): self = .insidePair(permille: value)
        default: return nil
        }
    }

    /// The `skipCharacters` for a stream whose text so far is `written` (UTF-16 code units).
    func resolve(against written: [UInt16]) -> Int? {
        let count = written.count
        switch self {
        case .none: return nil
        case .zero: return 0
        case .middle(let permille): return count * permille / 1000
        case .end: return count
        case .pastEnd(let by): return count + by
        case .negative(let by): return -by
        case .insidePair(let permille):
            let lowHalves = written.indices.filter { UTF16.isTrailSurrogate(written[$0]) }
            guard !lowHalves.isEmpty else { return count * permille / 1000 }
            return lowHalves[min(lowHalves.count - 1, lowHalves.count * permille / 1000)]
        }
    }
}

/// One step of a model run. Instances are 0 and 1; `id` is a slot (one stream id, or with
/// ``ModelProfile/reusesIDs`` off a fresh id for each new stream); `pick` chooses among the id's generations
/// whose source is still open, newest first.
enum ModelOperation: Sendable, Hashable, CustomStringConvertible {
    /// `resumableStream` with a fresh source: creates a generation, or follows (or finds finished) the one that runs.
    case resumable(instance: Int, id: Int, skip: ModelSkip)
    /// `createNewResumableStream`: a new generation, replacing whatever runs.
    case createNew(instance: Int, id: Int)
    /// `resumeExistingStream`.
    case resume(instance: Int, id: Int, skip: ModelSkip)
    /// Writes `scalars` characters of the generation's alphabet to its source (`pattern` picks which).
    case append(id: Int, pick: Int, scalars: Int, pattern: UInt64)
    /// Ends the generation's source.
    case finish(id: Int, pick: Int)
    /// Makes the generation's source throw.
    case fail(id: Int, pick: Int)
    case stop(instance: Int, id: Int)
    /// The instance's proxy stops (its connections are cut, nothing is cleaned up) and a fresh context with a
    /// fresh proxy takes its place.
    case crash(instance: Int)
    /// Every connection of the instance is dropped; it reconnects.
    case dropConnections(instance: Int)
    /// Sleeps past the running TTL.
    case expire
    /// Restarts redis-server (without persistence: every key is gone).
    case restartRedis
    case pause(milliseconds: Int)

    var description: String {
        switch self {
        case .resumable(let instance, let id, let skip): "resumable i\(instance) id\(id) skip=\(skip)"
        case .createNew(let instance, let id): "createNew i\(instance) id\(id)"
        case .resume(let instance, let id, let skip): "resume i\(instance) id\(id) skip=\(skip)"
        case .append(let id, let pick, let scalars, let pattern): "append id\(id) #\(pick) n=\(scalars) p=\(pattern)"
        case .finish(let id, let pick): "finish id\(id) #\(pick)"
        case .fail(let id, let pick): "fail id\(id) #\(pick)"
        case .stop(let instance, let id): "stop i\(instance) id\(id)"
        case .crash(let instance): "crash i\(instance)"
        case .dropConnections(let instance): "drop i\(instance)"
        case .expire: "expire"
        case .restartRedis: "restartRedis"
        case .pause(let milliseconds): "pause \(milliseconds)"
        }
    }

    /// Parses a ``description``.
    init?(_ line: Substring) {
        let words = line.split(separator: " ")
        guard let name = words.first else { return nil }
        func value(_ prefix: String) -> Int? {
            words.dropFirst().first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) }
        }
        func skip() -> ModelSkip? {
            words.dropFirst().first { $0.hasPrefix("skip=") }.flatMap { ModelSkip($0.dropFirst(5)) }
        }
        let instance = value("i")
        let id = value("id")
        switch (name, instance, id) {
        case ("resumable", let instance?, let id?): self = .resumable(instance: instance, id: id, skip: skip() ?? .none)
        case ("createNew", let instance?, let id?): self = .createNew(instance: instance, id: id)
        case ("resume", let instance?, let id?): self = .resume(instance: instance, id: id, skip: skip() ?? .none)
        case ("append", _, let id?):
            let pattern = words.dropFirst().first { $0.hasPrefix("p=") }.flatMap { UInt64($0.dropFirst(2)) } ?? 0
            self = .append(id: id, pick: value("#") ?? 0, scalars: value("n=") ?? 1, pattern: pattern)
        case ("finish", _, let id?): self = .finish(id: id, pick: value("#") ?? 0)
        case ("fail", _, let id?): self = .fail(id: id, pick: value("#") ?? 0)
        case ("stop", let instance?, let id?): self = .stop(instance: instance, id: id)
        case ("crash", let instance?, _): self = .crash(instance: instance)
        case ("drop", let instance?, _): self = .dropConnections(instance: instance)
        case ("expire", _, _): self = .expire
        case ("restartRedis", _, _): self = .restartRedis
        case ("pause", _, _): self = .pause(milliseconds: words.count > 1 ? Int(words[1]) ?? 10 : 10)
        default: return nil
        }
    }

    /// A list written by ``description``s, one per line or separated by `;`.
    static func parseList(_ text: String) -> [ModelOperation] {
        text.split(whereSeparator: { $0 == "\n" || $0 == ";" }).compactMap { line in
            // An operation list printed by a failed run has its index first: "  12: append id1 #0 n=3 p=5".
            let body =
                line.split(separator: ":", maxSplits: 1).count == 2 && line.trimmingCharacters(in: .whitespaces).first?.isNumber == true
                ? line.split(separator: ":", maxSplits: 1)[1] : line
            return ModelOperation(Substring(body.trimmingCharacters(in: .whitespaces)))
        }
    }

    /// `count` operations drawn from `seed`.
    static func randomList(count: Int, seed: UInt64, profile: ModelProfile) -> [ModelOperation] {
        var generator = SplitMix64(state: seed)
        return (0..<count).map { _ in random(using: &generator, profile: profile) }
    }

    private static func random(using generator: inout SplitMix64, profile: ModelProfile) -> ModelOperation {
        let instance = Int.random(in: 0...1, using: &generator)
        let id = Int.random(in: 0..<profile.ids, using: &generator)
        // Mostly the newest generation whose source is open; sometimes an older one that still runs.
        let pick = Int.random(in: 0..<10, using: &generator) < 7 ? 0 : Int.random(in: 1...3, using: &generator)
        var roll = Int.random(in: 0..<1000, using: &generator)
        for (weight, make) in profile.weights {
            if roll < weight { return make(instance, id, pick, &generator) }
            roll -= weight
        }
        return .pause(milliseconds: Int.random(in: 2...30, using: &generator))
    }

    fileprivate static func randomSkip(using generator: inout SplitMix64) -> ModelSkip {
        switch Int.random(in: 0..<8, using: &generator) {
        case 0: .none
        case 1: .zero
        case 2, 3: .middle(permille: Int.random(in: 1...999, using: &generator))
        case 4: .end
        case 5: .pastEnd(by: Int.random(in: 1...20, using: &generator))
        case 6: .negative(Int.random(in: 1...30, using: &generator))
        default: .insidePair(permille: Int.random(in: 0...999, using: &generator))
        }
    }
}

/// Which operations a run draws, and how ids are used.
struct ModelProfile: Sendable, CustomStringConvertible {
    typealias Make = @Sendable (_ instance: Int, _ id: Int, _ pick: Int, _ generator: inout SplitMix64) -> ModelOperation
    /// Stream ids (slots).
    var ids = 3
    /// Whether a new stream reuses its slot's id (the point of the test); off, every new stream gets a fresh
    /// id and nothing ever produces an id twice: what the library handles today.
    var reusesIDs = true
    var restarts = true
    var crashes = true
    /// Whether instance 1 retains finished streams' text too; by default it does not, so that the finished
    /// streams it produced are served from their durable logs.
    var retainsEverywhere = false
    var name = "reuse"

    /// `MODEL_PROFILE`: `reuse` (default); `noreuse`: fresh ids, no Redis restarts (no id ever has two
    /// producers), and finished text retained by both instances (what the library handles today);
    /// `noreuse-log`: the same, but instance 1 keeps no finished text, so its finished streams are served from
    /// their durable logs.
    init(_ name: String?) {
        if name == "noreuse" || name == "noreuse-log" {
            reusesIDs = false
            restarts = false
            retainsEverywhere = name == "noreuse"
            self.name = name ?? ""
        }
    }

    var description: String { name }

    /// Per thousand; the rest are short pauses.
    var weights: [(Int, Make)] {
        [
            (110, { instance, id, _, generator in .resumable(instance: instance, id: id, skip: ModelOperation.randomSkip(using: &generator)) }),
            (80, { instance, id, _, _ in .createNew(instance: instance, id: id) }),
            (140, { instance, id, _, generator in .resume(instance: instance, id: id, skip: ModelOperation.randomSkip(using: &generator)) }),
            (
                330,
                { _, id, pick, generator in
                    let scalars = Int.random(in: 0..<20, using: &generator) == 0 ? 80 : Int.random(in: 1...8, using: &generator)
                    return .append(id: id, pick: pick, scalars: scalars, pattern: generator.next())
                }
            ),
            (90, { _, id, pick, _ in .finish(id: id, pick: pick) }),
            (20, { _, id, pick, _ in .fail(id: id, pick: pick) }),
            (60, { instance, id, _, _ in .stop(instance: instance, id: id) }),
            (crashes ? 8 : 0, { instance, _, _, _ in .crash(instance: instance) }),
            (12, { instance, _, _, _ in .dropConnections(instance: instance) }),
            (4, { _, _, _, _ in .expire }),
            (restarts ? 2 : 0, { _, _, _, _ in .restartRedis }),
        ]
    }
}

/// The text of generations: each has two characters of its own, one in the BMP and one a surrogate pair, so
/// that any character a reader gets says which generation it comes from, and offsets can fall inside pairs.
enum ModelText {
    static let period = 20_000

    /// The characters of generation `number`.
    static func alphabet(of number: Int) -> (bmp: Unicode.Scalar, pair: Unicode.Scalar) {
        let residue = number % period
        return (Unicode.Scalar(UInt32(0x4E00 + residue))!, Unicode.Scalar(UInt32(0x20000 + residue))!)
    }

    /// The generation residue (number modulo the period) a character belongs to, `nil` for any other.
    static func residue(of scalar: Unicode.Scalar) -> Int? {
        let value = Int(scalar.value)
        if (0x4E00..<0x4E00 + period).contains(value) { return value - 0x4E00 }
        if (0x20000..<0x20000 + period).contains(value) { return value - 0x20000 }
        return nil
    }

    static func matches(_ number: Int, residue: Int) -> Bool { number % period == residue }

    /// A chunk of `scalars` characters of generation `number`; `pattern`'s bits choose pairs.
    static func chunk(of number: Int, scalars: Int, pattern: UInt64) -> String {
        let (bmp, pair) = alphabet(of: number)
        var text = String.UnicodeScalarView()
        for index in 0..<max(1, scalars) {
            text.append(pattern >> UInt64(index % 64) & 1 == 1 ? pair : bmp)
        }
        return String(text)
    }

    /// JavaScript's `text.slice(start)` in UTF-16 code units; a start on a pair's low half gives U+FFFD for it.
    static func slice(_ text: [UInt16], from start: Int) -> [UInt16] {
        let offset = sliceOffset(start, count: text.count)
        guard offset < text.count else { return [] }
        if offset > 0, UTF16.isTrailSurrogate(text[offset]) { return [0xFFFD] + text[(offset + 1)...] }
        return Array(text[offset...])
    }

    /// Where `slice(start)` starts in a text of `count` code units.
    static func sliceOffset(_ start: Int, count: Int) -> Int {
        start < 0 ? max(0, count + max(start, -count)) : min(start, count)
    }

    /// The first generation residue in `text` (U+FFFD, half a pair, says nothing).
    static func firstResidue(_ text: [UInt16]) -> Int? {
        for scalar in String(decoding: text, as: UTF16.self).unicodeScalars where scalar != "\u{FFFD}" {
            return residue(of: scalar) ?? -1
        }
        return nil
    }
}

// MARK: what a run records

/// How the model ended a generation's source.
enum ModelSourceEnd: Sendable, Equatable {
    case finished
    case failed
    /// Its instance crashed while it ran.
    case crashed
}

/// One life of a stream id: a producer that `createNewResumableStream` or `resumableStream` started.
struct ModelGeneration: Sendable {
    let number: Int
    let id: String
    let instance: Int
    let life: Int
    /// The operation that started it.
    let operation: Int
    /// Everything the model wrote to its source, in UTF-16 code units.
    var written: [UInt16] = []
    var sourceEnd: ModelSourceEnd?
    var ownReader = -1
    /// When its instance crashed, if that came before its own reader ended.
    var crashedAt: ContinuousClock.Instant?
    /// When the model saw it end: its own reader ended, or its instance crashed.
    var endedAt: ContinuousClock.Instant?
    /// The stops that were aimed at it (indices into ``ModelState/stops``).
    var stops: [Int] = []
}

/// How a reader ended.
enum ModelEnding: Sendable, Equatable {
    case clean
    /// A producer's own reader got its source's error (``ModelSourceFailure``).
    case sourceFailed(generation: Int)
    case error(ResumableStreamError?, String)

    /// A follower's `producerFailed`, with the failed generation its message names.
    var producerFailure: Int? {
        guard case .error(let error?, _) = self, error.code == .producerFailed, let message = error.producerMessage else { return nil }
        let digits = message.split(separator: " ").first { $0.hasPrefix("g") && Int($0.dropFirst()) != nil }
        return digits.flatMap { Int($0.dropFirst()) } ?? -1
    }

    /// Whether it says the source failed.
    var saysFailed: Bool {
        if case .sourceFailed = self { return true }
        return producerFailure != nil
    }
}

/// A stream the library handed out: a producer's own output, or a follower's.
struct ModelReader: Sendable {
    let number: Int
    let operation: Int
    /// `createNew`, `resumableStream` or `resumeExistingStream`, and its result.
    let call: String
    let id: String
    let instance: Int
    let life: Int
    /// A producer's own reader: its generation.
    let generation: Int?
    /// A follower: the id's newest generation when it asked (`nil`: the id had none).
    let named: Int?
    let skip: Int?
    let startOffset: Int?
    let startedAt: ContinuousClock.Instant
    var received: [UInt16] = []
    var ending: ModelEnding?
    var endedAt: ContinuousClock.Instant?
    /// The operation that ran when it ended.
    var endedDuring: Int?
    /// A producer's own reader: whether the model had ended its source when the reader ended.
    var sourceEndedFirst = false
    /// When its instance crashed, if that came before it ended.
    var crashedAt: ContinuousClock.Instant?

    var isOwn: Bool { generation != nil }

    /// Where its text starts in its generation's text.
    var start: Int? {
        if let startOffset { return startOffset }
        if isOwn { return 0 }
        guard let skip else { return 0 }
        return skip >= 0 ? skip : nil
    }
}

/// A stop the model asked for, and the generation it was aimed at: the newest generation of the id that the
/// model had not seen end; for an id that never had one, the first generation it gets (a producer that is
/// not listening yet finds a stored stop when it starts).
struct ModelStop: Sendable {
    let operation: Int
    let id: String
    let instance: Int
    var target: Int?
    /// Aimed at the id's first generation, which did not exist yet.
    let isAheadOfTheStream: Bool
    var result = "pending"
}

/// Everything a run records, under one lock.
struct ModelState: Sendable {
    var generations: [ModelGeneration] = []
    var readers: [ModelReader] = []
    var stops: [ModelStop] = []
    var outcomes: [String: Int] = [:]
    /// The operation running now (the list's length once the run ends every source).
    var operation = 0
    /// When each instance crashed (instance, life that ended, when).
    var crashes: [(instance: Int, life: Int, at: ContinuousClock.Instant)] = []
    /// When Redis restarted.
    var restarts: [ContinuousClock.Instant] = []

    /// The newest generation of `id`.
    func newest(of id: String) -> ModelGeneration? {
        byID[id]?.last.map { generations[$0] }
    }

    /// The generations of each id, oldest first.
    var byID: [String: [Int]] = [:]
    /// Stops asked for before their id had a generation, by id.
    var aheadOfTheStream: [String: [Int]] = [:]

    /// The generations of each id whose source is open, oldest first.
    var openByID: [String: [Int]] = [:]

    /// The model ends generation `number`'s source (or its instance crashed).
    mutating func endSource(of number: Int, as end: ModelSourceEnd) {
        if generations[number].sourceEnd == nil { generations[number].sourceEnd = end }
        openByID[generations[number].id]?.removeAll { $0 == number }
    }

    /// The generations whose characters have `residue`.
    func generations(withResidue residue: Int) -> [ModelGeneration] {
        stride(from: residue, to: generations.count, by: ModelText.period).map { generations[$0] }
    }
}

// MARK: the checks

/// A broken invariant.
struct ModelViolation: Sendable, CustomStringConvertible {
    enum Kind: String, Sendable, CaseIterable {
        /// A live follower (or a producer's own reader) got text of two generations, or of another id.
        case mixedGenerations = "mixed generations live"
        /// A stream served from Redis (retained text, durable log) had text of two generations.
        case mixedStored = "mixed generations from Redis"
        /// A reader's text is not its generation's text at its offset.
        case notASlice = "not a slice at its offset"
        /// A follower got a generation other than the one the id named when it asked.
        case otherGeneration = "another generation than the id's"
        /// A reader ended cleanly before the end of its generation.
        case incomplete = "clean end before the end"
        /// A reader got another ending than its generation's.
        case wrongEnding = "wrong ending"
        /// A producer's own reader failed although its source did not.
        case ownReaderFailed = "own reader failed"
        /// A generation was stopped that no stop was aimed at.
        case unaimedStop = "stopped without a stop aimed at it"
        /// A reader did not end within the bound after its generation ended or its instance crashed.
        case hang = "hang"
    }

    let kind: Kind
    let message: String
    /// The operations involved (indices into the list).
    let operations: [Int]

    var description: String { "[\(kind.rawValue)] \(message)" }
}

enum ModelChecks {
    /// Every check over a finished run: `bound` is how long a reader may take to end after its generation
    /// ended or its instance crashed.
    static func violations(in state: ModelState, bound: Duration) -> [ModelViolation] {
        var violations: [ModelViolation] = []
        for reader in state.readers {
            violations += check(reader, in: state, bound: bound)
        }
        for generation in state.generations {
            if let violation = checkStop(of: generation, in: state) { violations.append(violation) }
        }
        return violations
    }

    static func label(_ generation: ModelGeneration) -> String {
        "g\(generation.number) (\(generation.id), op \(generation.operation), i\(generation.instance))"
    }

    /// A generation and how it ended, for the messages.
    static func details(_ generation: ModelGeneration, in state: ModelState) -> String {
        let own = generation.ownReader >= 0 ? state.readers[generation.ownReader] : nil
        let crashed = generation.crashedAt != nil ? ", its instance crashed" : ""
        let end = own.map {
            "its own reader got \($0.received.count) units and ended \(describe($0.ending))\($0.endedDuring.map { " during op \($0)" } ?? "")"
        }
        return "\(label(generation)): \(generation.written.count) units written, source \(generation.sourceEnd.map { "\($0)" } ?? "open")\(crashed); "
            + (end ?? "no own reader")
    }

    static func label(_ reader: ModelReader) -> String {
        let skip = reader.skip.map(String.init) ?? "nil"
        let during = reader.endedDuring.map { " during op \($0)" } ?? ""
        return "reader r\(reader.number) (op \(reader.operation) \(reader.call) on i\(reader.instance), \(reader.id), skip \(skip), "
            + "start \(reader.startOffset.map(String.init) ?? "nil"), \(reader.received.count) units, ended \(describe(reader.ending))\(during))"
    }

    static func describe(_ ending: ModelEnding?) -> String {
        switch ending {
        case nil: "never"
        case .clean?: "cleanly"
        case .sourceFailed(let generation)?: "with the failure of g\(generation)'s source"
        case .error(_, let text)?: "with \(text)"
        }
    }

    /// The generation whose text `reader` got, by its characters: among its id's generations first.
    private static func attribute(_ reader: ModelReader, in state: ModelState) -> (generation: ModelGeneration?, foreign: Bool) {
        if let own = reader.generation { return (state.generations[own], false) }
        guard let residue = ModelText.firstResidue(reader.received) else {
            return (reader.named.map { state.generations[$0] }, false)
        }
        let candidates = state.generations(withResidue: residue)
        if let sameID = candidates.last(where: { $0.id == reader.id && isSlice(reader, of: $0) }) ?? candidates.last(where: { $0.id == reader.id }) {
            return (sameID, false)
        }
        return (candidates.last, true)
    }

    private static func isSlice(_ reader: ModelReader, of generation: ModelGeneration) -> Bool {
        guard let start = reader.start else { return true }
        return ModelText.slice(generation.written, from: start).starts(with: reader.received)
    }

    /// Which generation the character at `index` of `reader`'s text belongs to.
    private static func owner(of reader: ModelReader, at index: Int, in state: ModelState) -> ModelGeneration? {
        guard let residue = ModelText.firstResidue(Array(reader.received[index...])) else { return nil }
        let candidates = state.generations(withResidue: residue)
        return candidates.last(where: { $0.id == reader.id }) ?? candidates.last
    }

    private static func check(_ reader: ModelReader, in state: ModelState, bound: Duration) -> [ModelViolation] {
        var violations: [ModelViolation] = []
        let (attributed, foreign) = attribute(reader, in: state)
        func add(_ kind: ModelViolation.Kind, _ message: String, _ generations: [ModelGeneration?] = []) {
            let operations = [reader.operation] + generations.compactMap { $0?.operation }
            let involved = generations.compactMap { $0 }.map { "\n      " + details($0, in: state) }.joined()
            violations.append(ModelViolation(kind: kind, message: "\(label(reader)): \(message)\(involved)", operations: operations.sorted()))
        }
        // Nothing hangs: a reader ends within the bound after its generation ended or its instance crashed (at
        // the end of a run every source is ended, so every reader must end).
        let followed = reader.isOwn || !reader.received.isEmpty ? attributed : reader.named.map { state.generations[$0] }
        if let since = [reader.crashedAt, followed?.endedAt].compactMap({ $0 }).min() {
            let from = max(since, reader.startedAt)
            if let endedAt = reader.endedAt, endedAt - from > bound {
                add(.hang, "it ended \(endedAt - from) after its generation ended or its instance crashed", [followed])
            }
        }
        if reader.endedAt == nil {
            add(.hang, "it never ended (it followed \(followed.map(label) ?? "an unknown generation"))", [followed])
        }
        guard let generation = attributed else {
            if !reader.received.isEmpty { add(.mixedGenerations, "its text belongs to no generation") }
            return violations
        }
        if foreign {
            add(.mixedGenerations, "it got text of \(label(generation)), another id", [generation])
            return violations
        }
        let named = reader.named.map { state.generations[$0] }
        // Followers get the generation the id named when they asked: not an older or dead one.
        if !reader.isOwn, !reader.received.isEmpty, reader.named != generation.number {
            let naming = named.map { "the id named \(label($0))" } ?? "the id had no generation"
            add(.otherGeneration, "it got text of \(label(generation)), but \(naming) when it asked", [generation, named])
        }
        if let start = reader.start {
            let expected = ModelText.slice(generation.written, from: start)
            if !expected.starts(with: reader.received) {
                let divergence = zip(expected, reader.received).prefix { $0 == $1 }.count
                if divergence < reader.received.count, ModelText.firstResidue(Array(reader.received[divergence...])) != nil,
                    !ModelText.matches(generation.number, residue: ModelText.firstResidue(Array(reader.received[divergence...])) ?? -1)
                {
                    let second = owner(of: reader, at: divergence, in: state)
                    add(
                        reader.call.hasSuffix("→ finished") ? .mixedStored : .mixedGenerations,
                        "text of \(label(generation)) from offset \(start), then from offset \(start + divergence) on text of "
                            + (second.map(label) ?? "no generation"),
                        [generation, second])
                } else {
                    let unit = divergence < reader.received.count ? reader.received[divergence] : 0
                    let what = unit == 0xFFFD ? " (U+FFFD there: half of a surrogate pair that this text does not have)" : ""
                    add(
                        .notASlice,
                        "its text differs from \(label(generation))'s at offset \(start + divergence)\(what)",
                        [generation])
                }
                return violations
            }
        }
        // The rest of a generation that had ended when the reader asked, served from Redis (retained text or
        // durable log): all of it and its real ending, unless a crash or a restart came near that end.
        if reader.call.hasSuffix("→ finished"), reader.named == generation.number, let ownNumber = generation.ownReader as Int?, ownNumber >= 0,
            generation.crashedAt == nil, let ended = state.readers[ownNumber].endedAt, ended < reader.startedAt,
            let ownEnding = state.readers[ownNumber].ending, let start = reader.start, let ending = reader.ending,
            !state.crashes.contains(where: { $0.instance == generation.instance && $0.life == generation.life && $0.at < ended + .seconds(3) }),
            !state.restarts.contains(where: { $0 > ended - .seconds(3) && $0 < reader.startedAt })
        {
            let length = state.readers[ownNumber].received.count
            let end = start + reader.received.count
            let expected = ownEnding.saysFailed ? "failed" : "cleanly"
            let got = ending.saysFailed ? "failed" : ending == .clean ? "cleanly" : "with an error"
            if expected != got || (end != length && length > start) {
                add(
                    .incomplete,
                    "served from Redis after its generation ended (\(ModelChecks.describe(ownEnding)) at \(length) units), it ended \(got) at offset \(end)",
                    [generation])
            }
        }
        // Endings: only where neither the reader's instance nor the generation's crashed.
        let own = generation.ownReader >= 0 ? state.readers[generation.ownReader] : nil
        if let ending = reader.ending, reader.crashedAt == nil, generation.crashedAt == nil, let start = reader.start {
            let end = start + reader.received.count
            if reader.isOwn {
                switch ending {
                case .clean: break  // checkStop
                case .sourceFailed(let failed) where failed == generation.number && generation.sourceEnd == .failed:
                    if reader.received != generation.written {
                        add(.incomplete, "its source failed after \(generation.written.count) units, but it got \(reader.received.count)")
                    }
                case .sourceFailed, .error:
                    let source = generation.sourceEnd.map { "\($0)" } ?? "left open"
                    add(.ownReaderFailed, "it failed (\(describe(ending))); the model's last word on its source: \(source)")
                }
            } else if let own, let ownEnding = own.ending, own.crashedAt == nil {
                let length = own.received.count
                switch ending {
                case .clean where ownEnding.saysFailed:
                    add(.wrongEnding, "it ended cleanly, but \(label(generation)) failed", [generation])
                case .clean where end != length:
                    add(.incomplete, "it ended cleanly at offset \(end), but \(label(generation)) ended at \(length)", [generation])
                case .error where ending.producerFailure != nil:
                    if ending.producerFailure != generation.number || !ownEnding.saysFailed {
                        add(.wrongEnding, "it failed with \(describe(ending)), but \(label(generation)) ended \(describe(ownEnding))", [generation])
                    } else if end != length {
                        add(
                            .incomplete, "it failed with its generation's failure at offset \(end), but that generation failed at \(length)",
                            [generation])
                    }
                default: break
                }
            }
        }
        return violations
    }

    /// A generation whose own reader ended early and cleanly was stopped: a stop must have been aimed at it.
    private static func checkStop(of generation: ModelGeneration, in state: ModelState) -> ModelViolation? {
        guard generation.crashedAt == nil, generation.ownReader >= 0 else { return nil }
        let own = state.readers[generation.ownReader]
        guard own.ending == .clean, own.crashedAt == nil else { return nil }
        let completed = generation.sourceEnd == .finished && own.sourceEndedFirst && own.received == generation.written
        guard !completed, generation.stops.isEmpty else { return nil }
        let stops = state.stops.filter { $0.id == generation.id }
        let list = stops.map { stop in
            let ahead = stop.isAheadOfTheStream ? " (the id's first)" : ""
            return "op \(stop.operation) (i\(stop.instance), aimed at \(stop.target.map { "g\($0)" } ?? "nothing")\(ahead), \(stop.result))"
        }
        let cut =
            own.received.count < generation.written.count
            ? "after \(own.received.count) of \(generation.written.count) units" : "before its source ended"
        return ModelViolation(
            kind: .unaimedStop,
            message: "\(label(generation)) was stopped (its own reader ended cleanly \(cut)), but no stop was aimed at it; "
                + "stops of \(generation.id): \(list.isEmpty ? "none" : list.joined(separator: ", "))\n      \(details(generation, in: state))",
            operations: ([generation.operation] + stops.map(\.operation)).sorted())
    }
}
