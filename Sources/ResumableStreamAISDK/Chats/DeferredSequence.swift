/// A sequence made by `make` when its first element is asked for, so that an error of `make` (the model's
/// request failed) reaches the encoder like an error of the sequence, and becomes an `error` chunk.
struct DeferredSequence<Base: AsyncSequence>: AsyncSequence {
    typealias Element = Base.Element
    typealias Failure = any Error

    let make: @Sendable () async throws -> Base

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(make: make)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let make: @Sendable () async throws -> Base
        var base: Base.AsyncIterator?

        mutating func next() async throws -> Base.Element? {
            if base == nil { base = try await make().makeAsyncIterator() }
            return try await base?.next()
        }
    }
}
