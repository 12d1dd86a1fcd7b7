import Foundation

/// How a finished stream ended, stored in `P:meta:<id>` (TypeScript peers never read it).
enum StreamEnding: Equatable, Sendable {
    case completed
    case stopped
    case failed(String)

    private struct Fields: Codable {
        let state: String
        let error: String?
    }

    /// What a reader of the stream gets at its end: ``ResumableStreamError/producerFailed(_:)`` for a failed
    /// stream, nothing (a clean end) otherwise.
    var readerError: ResumableStreamError? {
        if case .failed(let message) = self { .producerFailed(message) } else { nil }
    }

    var json: String {
        let fields =
            switch self {
            case .completed: Fields(state: "completed", error: nil)
            case .stopped: Fields(state: "stopped", error: nil)
            case .failed(let message): Fields(state: "failed", error: message)
            }
        let data = (try? JSONEncoder().encode(fields)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    init?(json: String) {
        guard let fields = try? JSONDecoder().decode(Fields.self, from: Data(json.utf8)) else { return nil }
        switch fields.state {
        case "completed": self = .completed
        case "stopped": self = .stopped
        case "failed": self = .failed(fields.error ?? "the producer failed")
        default: return nil
        }
    }
}
