import Dispatch
import Logging

/// Sharded pub/sub (`SSUBSCRIBE`, Redis 7) for a subscriber connection: on a cluster each channel is subscribed on
/// the primary that serves its hash slot, over one connection per such primary, so that pub/sub spreads over the
/// primaries as the keys do; elsewhere, over one connection to the configured server.
///
/// A channel follows its slot: a node that refuses it with `MOVED` names its owner, and one that unsubscribes it
/// on its own (the slot was migrated, or the node is no longer a primary) or fails makes the slot map refresh
/// (`CLUSTER SLOTS`, on a connection of its own). Its subscribers move with it; those that were confirmed get
/// ``RedisSubscriptionEvent/resubscribed`` once the new node confirms it, since messages may have been lost
/// during the move.
///
/// - Important: Confined to the subscriber connection's executor, like the registries and supervisors it owns.
final class ShardedSubscriptions {
    /// Where a registry's connection goes.
    private enum Node: Hashable, Sendable {
        /// The configured endpoint (not a cluster).
        case configured
        /// A cluster node.
        case address(RedisAddress)
    }

    /// How many moves a channel may make before a node confirms it, before its subscribers end: a cluster whose
    /// nodes keep naming each other is not followed for ever. While a slot changes owner, the nodes may name
    /// each other for a moment (each learns the new owner in its turn): moves after the second wait, from 50 ms
    /// doubling to 1 s, about 6 s in all.
    private static let maximumMoves = 10

    private let configuration: RedisConfiguration
    private let logger: Logger
    private let executor: ConnectionExecutor
    /// Where the registries hand their batches over: the subscriber connection's.
    private let delivery: SubscriberDelivery
    private var registries: [Node: SubscriptionRegistry] = [:]
    /// The channels moving from node to node, with how many moves each made since a node last confirmed it.
    private var moves: [String: Int] = [:]
    /// The members of channels whose move waits (see ``maximumMoves``).
    private var waitingToMove: [String: [SubscriptionRegistry.Member]] = [:]
    private var slots = SlotMap()
    /// For a cluster: the connection that asks for the slot map (a subscribed connection cannot).
    private var slotsConnection: ConnectionSupervisor?
    private var isRefreshing = false
    private var isRefreshDue = false
    private var isClosed = false

    init(configuration: RedisConfiguration, logger: Logger, executor: ConnectionExecutor, delivery: SubscriberDelivery) {
        self.configuration = configuration
        self.logger = logger
        self.executor = executor
        self.delivery = delivery
    }

    /// The number of channels subscribed or being subscribed, over every node.
    var channelCount: Int { registries.values.reduce(0) { $0 + $1.channelCount } }

    /// Adds `subscriber` to `channel` on the node that serves it.
    func add(_ subscriber: SubscriptionRegistry.Subscriber, id: Int, to channel: String) {
        guard !isClosed else { return subscriber.end(throwing: RedisError.closed) }
        // A channel waiting to move takes its new subscriber along: it is never on two nodes.
        guard waitingToMove[channel] == nil else {
            waitingToMove[channel]?.append(SubscriptionRegistry.Member(id: id, subscriber: subscriber))
            return
        }
        (registry(holding: channel) ?? registry(for: owner(of: channel))).add(subscriber, id: id, to: channel)
    }

    /// Removes a subscriber from `channel`.
    func remove(subscriberID: Int, from channel: String, reason: any Error) {
        if let waiting = waitingToMove[channel], let index = waiting.firstIndex(where: { $0.id == subscriberID }) {
            waitingToMove[channel]?.remove(at: index)
            return waiting[index].subscriber.end(throwing: reason)
        }
        for registry in registries.values where registry.hasChannel(channel) {
            registry.remove(subscriberID: subscriberID, from: channel, reason: reason)
        }
    }

    /// Ends every subscription and closes every connection; `completion` runs when all are closed.
    func close(_ completion: @escaping () -> Void) {
        isClosed = true
        let supervisors = registries.values.map(\.supervisor) + (slotsConnection.map { [$0] } ?? [])
        for registry in registries.values { registry.closeAll() }
        for member in waitingToMove.values.joined() { member.subscriber.end(throwing: RedisError.closed) }
        (registries, moves, waitingToMove, slotsConnection) = ([:], [:], [:], nil)
        ConnectionSupervisor.close(supervisors, then: completion)
    }

    // MARK: private

    /// The node that serves `channel`'s slot, as far as the slot map knows: the first seed until it does (which
    /// answers `MOVED` if another node serves it).
    private func owner(of channel: String) -> Node {
        guard case .cluster(let seeds) = configuration.endpoint else { return .configured }
        if let owner = slots.owner(of: HashSlot.of(bytes: Array(channel.utf8))) { return .address(owner) }
        refreshSlots()
        return seeds.first.map(Node.address) ?? .configured
    }

    /// The connection `channel` is subscribed on, or being subscribed (a few nodes: a look at each is cheap).
    private func registry(holding channel: String) -> SubscriptionRegistry? {
        registries.values.first { $0.hasChannel(channel) }
    }

    private func registry(for node: Node) -> SubscriptionRegistry {
        if let existing = registries[node] { return existing }
        var nodeConfiguration = configuration
        if case .address(let address) = node { nodeConfiguration.endpoint = .tcp(host: address.host, port: address.port) }
        let supervisor = ConnectionSupervisor(
            role: "subscriber", configuration: nodeConfiguration, logger: logger, executor: executor)
        let name = if case .address(let address) = node { "\(address)" } else { "\(configuration)" }
        let registry = SubscriptionRegistry(supervisor: supervisor, delivery: delivery, isSharded: true, node: name)
        if case .address = node {
            registry.onChannelMoved = { [unowned self] channel, members, owner in
                move(channel, members, to: owner.map(Node.address))
            }
            registry.onChannelSubscribed = { [unowned self] channel in moves[channel] = nil }
            registry.onConnectionTrouble = { [unowned self] in refreshSlots() }
        }
        registries[node] = registry
        return registry
    }

    /// Subscribes `members` of `channel` on `node` (the slot's owner if `nil`, once the slot map says).
    private func move(_ channel: String, _ members: [SubscriptionRegistry.Member], to node: Node?) {
        guard !isClosed, !members.isEmpty else {
            moves[channel] = nil
            return
        }
        let count = (moves[channel] ?? 0) + 1
        guard count <= Self.maximumMoves else {
            moves[channel] = nil
            logger.debug("redis sharded channel moved too often: its subscribers end", metadata: ["redis.channel": "\(channel)"])
            for member in members {
                member.subscriber.end(throwing: RedisError.connectionLost("the channel's slot kept moving between cluster nodes"))
            }
            return
        }
        moves[channel] = count
        guard count > 2 else { return adopt(members, of: channel, on: node) }
        waitingToMove[channel, default: []] += members
        let delay = DispatchTimeInterval.milliseconds(min(50 << (count - 3), 1000))
        executor.queue.asyncAfter(deadline: .now() + delay) { [self] in
            guard let members = waitingToMove.removeValue(forKey: channel) else { return }
            adopt(members, of: channel, on: node)
        }
    }

    private func adopt(_ members: [SubscriptionRegistry.Member], of channel: String, on node: Node?) {
        let target = node ?? owner(of: channel)
        logger.debug("redis sharded channel moves", metadata: ["redis.channel": "\(channel)", "redis.node": "\(target)"])
        registry(for: target).adopt(members, to: channel)
    }

    /// Asks for the slot map (one question at a time; one more after it if asked meanwhile), then moves every
    /// channel whose slot another node serves now.
    private func refreshSlots() {
        guard case .cluster(let seeds) = configuration.endpoint, !isClosed else { return }
        guard !isRefreshing else {
            isRefreshDue = true
            return
        }
        isRefreshing = true
        let supervisor =
            slotsConnection
            ?? ConnectionSupervisor(
                role: "subscriber.slots", configuration: configuration, logger: logger, executor: executor)
        slotsConnection = supervisor
        supervisor.withConnection { [self] result in
            guard case .success(let connection) = result else { return refreshEnded(updated: false) }
            connection.send(
                ["CLUSTER", "SLOTS"],
                .callback { [self] reply in
                    let answeredBy = seeds.first ?? RedisAddress(host: "", port: 0)
                    guard case .success(let map) = reply, slots.replace(withClusterSlots: map, answeredBy: answeredBy) else {
                        return refreshEnded(updated: false)
                    }
                    refreshEnded(updated: true)
                })
        }
    }

    private func refreshEnded(updated: Bool) {
        isRefreshing = false
        guard !isClosed else { return }
        if updated { moveChannelsToTheirOwners() }
        if isRefreshDue {
            isRefreshDue = false
            refreshSlots()
        }
    }

    private func moveChannelsToTheirOwners() {
        for (node, registry) in registries {
            for channel in registry.channelNames {
                guard let owner = slots.owner(of: HashSlot.of(bytes: Array(channel.utf8))), Node.address(owner) != node else { continue }
                move(channel, registry.takeChannel(channel), to: .address(owner))
            }
        }
        // Moves of channels that ended before a node confirmed them (not of those waiting to move).
        moves = moves.filter { waitingToMove[$0.key] != nil || registry(holding: $0.key) != nil }
        // A node that serves no slot and carries no channel (a failed primary): its connection goes.
        let serving = slots.primaries
        for (node, registry) in registries where registry.channelCount == 0 {
            guard case .address(let address) = node, !serving.contains(address) else { continue }
            registries[node] = nil
            registry.closeAll()
            registry.supervisor.close {}
        }
    }
}

// Confined to the subscriber connection's serial queue, like the registries and supervisors it owns and their
// callbacks.
extension ShardedSubscriptions: @unchecked Sendable {}
