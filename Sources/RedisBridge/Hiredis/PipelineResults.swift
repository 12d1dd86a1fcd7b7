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
