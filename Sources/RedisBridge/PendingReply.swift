/// What to do with the reply of one command sent on a ``HiredisConnection``. hiredis answers commands in
/// order, so the connection keeps these in a FIFO and matches each reply to the oldest one.
enum PendingReply {
    /// Nobody waits: errors are logged at debug level.
    case discard
    /// An awaiting caller.
    case continuation(CheckedContinuation<RedisValue, any Error>)
    /// A closure that runs on the connection's queue.
    case callback((Result<RedisValue, RedisError>) -> Void)
    /// One command of a pipeline: its result goes to `index` of the batch.
    case pipelined(PipelineResults, index: Int)

    func complete(_ result: Result<RedisValue, RedisError>) {
        switch self {
        case .discard: break
        case .continuation(let continuation): continuation.resume(with: result.mapError { $0 })
        case .callback(let callback): callback(result)
        case .pipelined(let batch, let index): batch.store(result, at: index)
        }
    }
}

/// The results of one ``RedisCommandConnection/pipeline(_:)`` call, filled in as replies arrive (on the
/// connection's queue); the caller resumes when the last one is in.
final class PipelineResults {
    private var results: [Result<RedisValue, RedisError>]
    private var remaining: Int
    private let continuation: CheckedContinuation<[Result<RedisValue, RedisError>], any Error>

    init(count: Int, continuation: CheckedContinuation<[Result<RedisValue, RedisError>], any Error>) {
        results = Array(repeating: .failure(.closed), count: count)
        remaining = count
        self.continuation = continuation
    }

    func store(_ result: Result<RedisValue, RedisError>, at index: Int) {
        results[index] = result
        remaining -= 1
        if remaining == 0 { continuation.resume(returning: results) }
    }
}
