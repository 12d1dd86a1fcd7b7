#ifndef CHIREDIS_SHIM_H
#define CHIREDIS_SHIM_H

// hiredis async API, 0.14.1 subset (Debian bookworm); 1.x also provides everything used here.
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <pthread.h>
#include <time.h>

/// `errstr` is a `char[128]`, which Swift imports as a tuple: expose it as a C string.
static inline const char *chiredis_context_errstr(const redisAsyncContext *ac) {
    return ac->c.errstr;
}

/// The error code of the underlying `redisContext` (`REDIS_ERR_IO`, `REDIS_ERR_EOF`, ...), 0 when none.
static inline int chiredis_context_err(const redisAsyncContext *ac) {
    return ac->c.err;
}

/// Whether the context finished its TCP or unix-socket connect.
static inline int chiredis_context_is_connected(const redisAsyncContext *ac) {
    return (ac->c.flags & REDIS_CONNECTED) != 0;
}

/// The socket of the context.
static inline int chiredis_context_fd(const redisAsyncContext *ac) {
    return ac->c.fd;
}

/// Bytes readable on `fd` without blocking (`FIONREAD`; `ioctl` is variadic, which Swift cannot import).
static inline int chiredis_bytes_available(int fd) {
    int available = 0;
    if (ioctl(fd, FIONREAD, &available) != 0) return 0;
    return available;
}

/// Enables TCP keepalive with hiredis's interval; returns REDIS_OK or REDIS_ERR.
static inline int chiredis_enable_keepalive(redisAsyncContext *ac) {
    return redisEnableKeepAlive(&ac->c);
}

/// `redisAsyncHandleWrite` that never raises SIGPIPE. hiredis writes with write(2), which raises SIGPIPE on a
/// socket the server closed, and that signal's default action ends the process. As libpq does, SIGPIPE is
/// blocked in this thread for the call only, and a SIGPIPE the write raised (one that was not pending before) is
/// consumed before the mask is restored: the host's signal disposition is neither relied on nor changed, and
/// hiredis sees the write's EPIPE as an ordinary connection error.
static inline void chiredis_async_handle_write(redisAsyncContext *ac) {
    sigset_t sigpipe, previous, pending;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &sigpipe, &previous) != 0) {
        redisAsyncHandleWrite(ac);
        return;
    }
    int was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    redisAsyncHandleWrite(ac);
    if (!was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        const struct timespec no_wait = {0, 0};
        sigtimedwait(&sigpipe, NULL, &no_wait);
    }
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
}

/// For a connection that reads its replies itself (a subscriber: hiredis 0.14's async dispatch knows only
/// classic pub/sub, and ends the process on a push it does not know): moves what the socket holds into the
/// context's reader. REDIS_ERR on EOF or a read error, with the context's `err` and `errstr` set.
static inline int chiredis_buffer_read(redisAsyncContext *ac) {
    return redisBufferRead(&ac->c);
}

/// The next complete reply in the context's reader, or NULL in `*reply` if none is complete yet; the caller
/// frees it with `freeReplyObject`. REDIS_ERR on a protocol error.
static inline int chiredis_next_reply(redisAsyncContext *ac, void **reply) {
    return redisGetReply(&ac->c, reply);
}

/// Appends a formatted command to the context's output buffer without a callback: its replies are read with
/// `chiredis_next_reply`, not dispatched by hiredis.
static inline int chiredis_append_formatted_command(redisAsyncContext *ac, const char *command, size_t length) {
    return redisAppendFormattedCommand(&ac->c, command, length);
}

#endif
