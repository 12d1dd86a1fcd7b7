/// The silent-follower check the context runs over its relays every watchdog interval.
enum FollowerWatchdog {
    /// One round over a context's relays. A relay that received nothing for a watchdog interval has its
    /// producer checked (does anyone still listen on the stream's request channel? asked once per stream, for
    /// all streams at once); two failed checks in a row end it, with the stream's real ending if only the DONE
    /// message was lost.
    static func checkSilentFollowers(_ relays: [Relay]) async {
        let silent = relays.filter { $0.isSilent() }
        guard !silent.isEmpty else { return }
        var consumers: [String: Consumer] = [:]
        for relay in silent { consumers[relay.consumer.keys.requests] = relay.consumer }
        let listening = await withTaskGroup(of: (String, Bool).self) { group in
            for (requests, consumer) in consumers {
                group.addTask { (requests, await consumer.producerIsListening()) }
            }
            return await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
        }
        for relay in silent where relay.producerChecked(listening: listening[relay.consumer.keys.requests] ?? true) {
            // Its own task: the probe may take up to an interval, and the next round must not wait for it.
            relay.consumer.work.start { await relay.concludeSilence() }
        }
    }
}
