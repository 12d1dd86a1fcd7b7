import CHiredis

// Trampolines from hiredis: `privdata` and `ac->data` hold the connection unretained; it stays alive until
// `ev.cleanup`, which comes after hiredis delivered every callback (the supervisor holds it until then).

func hiredisConnectTrampoline(_ context: UnsafePointer<redisAsyncContext>?, _ status: Int32) {
    guard let context, let data = context.pointee.data else { return }
    let reason = status == REDIS_OK ? "" : String(cString: chiredis_context_errstr(context))
    Unmanaged<HiredisConnection>.fromOpaque(data).takeUnretainedValue().didConnect(status: status, reason: reason)
}

func hiredisReplyTrampoline(
    _ context: UnsafeMutablePointer<redisAsyncContext>?, _ reply: UnsafeMutableRawPointer?, _ privdata: UnsafeMutableRawPointer?
) {
    guard let privdata else { return }
    Unmanaged<HiredisConnection>.fromOpaque(privdata).takeUnretainedValue()
        .didReceiveReply(reply?.assumingMemoryBound(to: redisReply.self))
}
