#ifndef CHIREDIS_SHIM_H
#define CHIREDIS_SHIM_H

// hiredis async API, 0.14.1 subset (Debian bookworm); 1.x also provides everything used here.
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <sys/ioctl.h>

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

#endif
