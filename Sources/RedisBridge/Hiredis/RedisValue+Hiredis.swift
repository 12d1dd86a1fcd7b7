import CHiredis

extension RedisValue {
    /// Copies a hiredis reply, which is only valid during its callback.
    init(copying reply: UnsafePointer<redisReply>) {
        let pointee = reply.pointee
        switch pointee.type {
        case REDIS_REPLY_STRING:
            self = .bulkString(Self.bytes(of: pointee))
        case REDIS_REPLY_STATUS:
            self = .simpleString(Self.text(of: pointee))
        case REDIS_REPLY_ERROR:
            self = .error(Self.text(of: pointee))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int(pointee.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(pointee.elements)
            for index in 0..<pointee.elements {
                if let element = pointee.element[index] {
                    elements.append(RedisValue(copying: element))
                } else {
                    elements.append(.null)
                }
            }
            self = .array(elements)
        default:
            self = .null
        }
    }

    static func bytes(of reply: redisReply) -> [UInt8] {
        guard let str = reply.str, reply.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: str, count: reply.len))
    }

    static func text(of reply: redisReply) -> String {
        guard let str = reply.str, reply.len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: str, count: reply.len), as: UTF8.self)
    }
}
