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
