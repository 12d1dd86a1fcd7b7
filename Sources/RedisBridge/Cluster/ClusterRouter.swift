import Dispatch
import Logging

/// Routes the commands of one ``RedisCommandConnection`` through a Redis Cluster: a command with a key goes
/// to the primary that serves the key's slot, one without a key (`PUBLISH`, `PUBSUB`) to the seed node, which
/// is where the subscriber connection listens too, so receiver counts stay exact.
///
/// The slot map comes from `CLUSTER SLOTS` and is corrected by redirects: `MOVED` is learned and the map
/// refreshed; `ASK` (a slot being migrated) sends `ASKING` and the command to the node named, once;
/// `TRYAGAIN` is retried shortly. A redirected command was not run, so sending it again is safe. A node that
/// fails makes the map refresh, so a promoted replica takes over its slots; commands in flight on it fail, as
/// on any dropped connection. There is one connection per primary, all on the command connection's executor.
///
/// - Important: Confined to the command connection's executor, like the supervisors it owns.
final class ClusterRouter {
    /// How many redirects one command may follow before its last error is returned.
    private static let maximumRedirects = 5

    private let configuration: RedisConfiguration
    private let logger: Logger
    /// The seed node's connection: commands without a key, `CLUSTER SLOTS`, and commands whose slot's owner
    /// is not known yet (its `MOVED` teaches it).
    private let seed: ConnectionSupervisor
    private var nodes: [RedisAddress: ConnectionSupervisor] = [:]
    private var slots = SlotMap()
    private var isRefreshing = false
    /// Set by ``close(_:)``: every later command fails with ``RedisError/closed`` and no node is connected again.
    private var isClosed = false

    init(seed: ConnectionSupervisor, configuration: RedisConfiguration, logger: Logger) {
        self.seed = seed
        self.configuration = configuration
        self.logger = logger
    }

    /// Sends `command` to the node that serves it; `reply` gets the reply once redirects are followed.
    func send(_ command: [RESPArgument], _ reply: PendingReply) {
        guard let key = CommandKey.of(command) else { return send(command, reply, on: seed, asking: false) }
        route(command, reply, slot: HashSlot.of(bytes: key), redirects: 0, askingAt: nil)
    }

    /// Closes every node's connection and the seed's; `completion` runs when all are closed. Later commands
    /// fail with ``RedisError/closed``.
    func close(_ completion: @escaping () -> Void) {
        isClosed = true
        let all = Array(nodes.values) + [seed]
        nodes = [:]
        ConnectionSupervisor.close(all, then: completion)
    }

    // MARK: private

    private func route(_ command: [RESPArgument], _ reply: PendingReply, slot: Int, redirects: Int, askingAt asked: RedisAddress?) {
        // Also for a redirect or a TRYAGAIN that arrives after close(): node(at:) would connect again.
        guard !isClosed else { return reply.complete(.failure(.closed)) }
        let target = asked.map(node(at:)) ?? slots.owner(of: slot).map(node(at:)) ?? seed
        let retry = { [self] (asking: RedisAddress?) in route(command, reply, slot: slot, redirects: redirects + 1, askingAt: asking) }
        send(command, on: target, asking: asked != nil) { [self] result in
            guard case .failure(let error) = result else { return reply.complete(result) }
            guard error.code == .server, redirects < Self.maximumRedirects else {
                switch error.code {
                // A node that failed: its slots may have a new owner (a promoted replica).
                case .connectionLost, .connectionFailed, .connectTimeout: refresh()
                default: break
                }
                return reply.complete(result)
            }
            switch ClusterRedirect(error.reason) {
            case .moved(let movedSlot, let owner):
                logger.trace("redis cluster MOVED", metadata: ["redis.slot": "\(movedSlot)", "redis.node": "\(owner)"])
                slots.assign(movedSlot, to: owner)
                refresh()
                retry(nil)
            case .ask(_, let owner):
                retry(owner)
            case nil where error.reason.hasPrefix("TRYAGAIN"):
                // A multi-key command during a migration: the keys are split between two nodes for a moment.
                let timer = DispatchSource.makeTimerSource(queue: seed.executor.queue)
                timer.schedule(deadline: .now() + .milliseconds(20))
                timer.setEventHandler {
                    timer.setEventHandler(handler: nil)
                    retry(asked)
                }
                timer.resume()
            case nil:
                reply.complete(result)
            }
        }
    }

    /// Sends `command` on `supervisor`'s connection (after `ASKING` if `asking`), once it has one.
    private func send(
        _ command: [RESPArgument], on supervisor: ConnectionSupervisor, asking: Bool,
        _ completion: @escaping (Result<RedisValue, RedisError>) -> Void
    ) {
        send(command, .callback(completion), on: supervisor, asking: asking)
    }

    private func send(_ command: [RESPArgument], _ reply: PendingReply, on supervisor: ConnectionSupervisor, asking: Bool) {
        supervisor.withConnection { result in
            switch result {
            case .success(let connection):
                if asking { connection.send(["ASKING"], .discard) }
                connection.send(command, reply)
            case .failure(let error):
                reply.complete(.failure(error))
            }
        }
    }

    /// Asks the seed for `CLUSTER SLOTS` (one question at a time) and closes the connections of nodes that
    /// serve no slot any more (a failed primary, a node that gave its slots away).
    private func refresh() {
        guard !isRefreshing else { return }
        isRefreshing = true
        send(["CLUSTER", "SLOTS"], on: seed, asking: false) { [self] result in
            isRefreshing = false
            guard case .success(let reply) = result, slots.replace(withClusterSlots: reply, answeredBy: seedAddress) else {
                logger.debug("redis cluster: could not refresh the slot map", metadata: ["redis.reply": "\(result)"])
                return
            }
            let serving = slots.primaries
            for (address, supervisor) in nodes where !serving.contains(address) {
                nodes[address] = nil
                supervisor.close {}
            }
        }
    }

    /// The first seed: what an empty host in `CLUSTER SLOTS` means (the node that answered).
    private var seedAddress: RedisAddress {
        guard case .cluster(let seeds) = configuration.endpoint, let first = seeds.first else { return RedisAddress(host: "", port: 0) }
        return first
    }

    private func node(at address: RedisAddress) -> ConnectionSupervisor {
        if let existing = nodes[address] { return existing }
        var node = configuration
        node.endpoint = .tcp(host: address.host, port: address.port)
        let supervisor = ConnectionSupervisor(role: "commands", configuration: node, logger: logger, executor: seed.executor)
        nodes[address] = supervisor
        return supervisor
    }
}

// Confined to the command connection's serial queue, like the supervisors it owns and their callbacks: the
// actor calls it on its executor, and every completion it schedules runs on that queue.
extension ClusterRouter: @unchecked Sendable {}
