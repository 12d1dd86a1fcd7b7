import Foundation
import RedisBridge

/// A Redis Cluster on loopback ports: three primaries and a replica of each (`redis-server --cluster-enabled
/// yes`, joined by `redis-cli --cluster create --cluster-replicas 1`), nodes judged failed after
/// `--cluster-node-timeout 1000`. ``start()`` returns once every node sees every slot served.
public final class ClusterGroup: Sendable {
    /// The six nodes, in the order given to `redis-cli --cluster create`.
    public let nodes: [RedisServer]

    /// `redis-cluster://127.0.0.1:p1,...,127.0.0.1:p6`.
    public var url: String { "redis-cluster://" + nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") }

    private init(nodes: [RedisServer]) {
        self.nodes = nodes
    }

    /// Starts and joins the six nodes.
    public static func start() async throws -> ClusterGroup {
        var nodes: [RedisServer] = []
        for _ in 0..<6 {
            // The bus port is chosen too: the default (port + 10000) may be taken or past 65535.
            let bus = try RedisServer.freePort()
            nodes.append(
                try await RedisServer.start(extraArguments: [
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
                    "--cluster-port", String(bus),
                    // A replica may take over however long ago it last heard from its primary (an idle test cluster
                    // exchanges little, and the default refuses a failover then).
                    "--cluster-replica-validity-factor", "0",
                ]))
        }
        let group = ClusterGroup(nodes: nodes)
        _ = try await nodes[0].cli(["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" } + ["--cluster-replicas", "1", "--cluster-yes"])
        try await group.waitUntilServed()
        return group
    }

    /// Waits until every running node reports the cluster healthy with all 16384 slots served.
    public func waitUntilServed(within limit: Duration = .seconds(20)) async throws {
        let served = await eventually(within: limit, every: .milliseconds(200)) {
            for node in nodes where node.isRunning {
                let info = (try? await node.query(["CLUSTER", "INFO"])) ?? ""
                guard info.contains("cluster_state:ok"), info.contains("cluster_slots_ok:16384") else { return false }
            }
            return true
        }
        guard served else { throw RedisServer.Failure.didNotStart("the cluster did not serve every slot within \(limit)") }
    }

    /// The node that serves `slot` now, as a running node reports it.
    public func owner(of slot: Int) async throws -> RedisServer {
        for line in try await clusterNodes() where line.flags.contains("master") && line.slots.contains(slot) {
            if let node = nodes.first(where: { $0.port == line.port }) { return node }
        }
        throw RedisServer.Failure.command("no node serves slot \(slot)")
    }

    /// The primaries now.
    public func primaries() async throws -> [RedisServer] {
        let ports = try await clusterNodes().filter { $0.flags.contains("master") && !$0.flags.contains("fail") && !$0.slots.isEmpty }
            .map(\.port)
        return nodes.filter { ports.contains($0.port) }
    }

    /// Moves `slot` from its owner to `target` the way `redis-cli --cluster reshard` does, in three steps a test
    /// can interleave with its work: ``beginMigration(of:to:)`` (importing/migrating: a key no longer on the
    /// source gets `ASK`), ``moveKeys(of:to:)`` (`MIGRATE`), ``finishMigration(of:to:)`` (the slot belongs to
    /// the target: `MOVED`).
    public func beginMigration(of slot: Int, to target: RedisServer) async throws {
        let source = try await owner(of: slot)
        _ = try await target.cli(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", try await id(of: source)])
        _ = try await source.cli(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", try await id(of: target)])
    }

    /// Moves every key of `slot` to `target` (after ``beginMigration(of:to:)``).
    public func moveKeys(of slot: Int, to target: RedisServer) async throws {
        let source = try await owner(of: slot)
        let keys = try await source.cli(["CLUSTER", "GETKEYSINSLOT", String(slot), "1000"]).split(separator: "\n").map(String.init)
        guard !keys.isEmpty else { return }
        _ = try await source.cli(["MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS"] + keys)
    }

    /// Gives `slot` to `target` on every node.
    public func finishMigration(of slot: Int, to target: RedisServer) async throws {
        let targetID = try await id(of: target)
        for node in nodes where node.isRunning {
            _ = try await node.cli(["CLUSTER", "SETSLOT", String(slot), "NODE", targetID])
        }
    }

    /// Stops every node.
    public func stop() {
        for node in nodes { try? node.stop() }
    }

    // MARK: private

    private struct NodeLine {
        let id: String
        let port: Int
        let flags: String
        let slots: [ClosedRange<Int>]
    }

    private func clusterNodes() async throws -> [NodeLine] {
        guard let node = nodes.first(where: { $0.isRunning }) else { throw RedisServer.Failure.command("no node runs") }
        return try await node.query(["CLUSTER", "NODES"]).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 8, let address = fields[1].split(separator: "@").first,
                let port = address.split(separator: ":").last.flatMap({ Int($0) })
            else { return nil }
            let slots = fields.dropFirst(8).compactMap { range -> ClosedRange<Int>? in
                let bounds = range.split(separator: "-").compactMap { Int($0) }
                guard let low = bounds.first else { return nil }
                return low...(bounds.last ?? low)
            }
            return NodeLine(id: String(fields[0]), port: port, flags: String(fields[2]), slots: slots)
        }
    }

    private func id(of node: RedisServer) async throws -> String {
        try await node.query(["CLUSTER", "MYID"])
    }
}

extension Array where Element == ClosedRange<Int> {
    fileprivate func contains(_ value: Int) -> Bool { contains { $0.contains(value) } }
}
