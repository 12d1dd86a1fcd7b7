/// A message on a subscribed connection.
enum PushMessage {
    case message(channel: String, payload: [UInt8])
    case subscribed(channel: String)
    case unsubscribed(channel: String)
}
