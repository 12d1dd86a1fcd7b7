/// A command that changes a subscriber connection's subscriptions: classic pub/sub, or sharded pub/sub (Redis
/// 7, on a cluster: the channel lives in its hash slot, on the node that serves it).
enum SubscriptionCommand: Equatable, Sendable {
    case subscribe
    case unsubscribe
    case shardSubscribe
    case shardUnsubscribe

    /// The command's name, which is also the kind of the push that confirms it, in lower case.
    var name: String {
        switch self {
        case .subscribe: "SUBSCRIBE"
        case .unsubscribe: "UNSUBSCRIBE"
        case .shardSubscribe: "SSUBSCRIBE"
        case .shardUnsubscribe: "SUNSUBSCRIBE"
        }
    }

    /// Whether it subscribes (rather than unsubscribes).
    var subscribes: Bool { self == .subscribe || self == .shardSubscribe }
}
