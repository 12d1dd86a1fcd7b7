/// A follower's request for ``ChunkFrame``s (our addition to the request; TypeScript producers ignore it).
struct FrameRequest: Equatable, Sendable {
    /// The most text (UTF-16 code units) the producer may send beyond what the follower confirmed receiving;
    /// `nil` for no limit.
    var window: Int?
}
