#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H

// OpenSSL 1.1.1 or 3.x (Debian bookworm ships 3.0): the client side of TLS over memory BIOs.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/// `SSL_set_tlsext_host_name` is a macro, which Swift cannot import: sends `name` as SNI.
static inline int copenssl_set_server_name_indication(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

/// `SSL_CTX_set_min_proto_version` is a macro: TLS 1.2 is the oldest version offered.
static inline int copenssl_require_tls12(SSL_CTX *context) {
    return (int)SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

/// `SSL_CTX_set_mode` is a macro: partial writes let one `SSL_write` take what fits, and a retried write may
/// come from another buffer address (Swift arrays move).
static inline void copenssl_allow_partial_writes(SSL_CTX *context) {
    SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

#endif
