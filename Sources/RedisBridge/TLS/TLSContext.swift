import COpenSSL

/// An OpenSSL `SSL_CTX` built once from a ``RedisTLSConfiguration`` (loading a trust store takes milliseconds)
/// and shared by every (re)connection of one logical connection.
final class TLSContext {
    let configuration: RedisTLSConfiguration
    private let context: OpaquePointer

    /// Loads the trust roots and the client certificate; the error names the file that could not be used and
    /// OpenSSL's reason.
    init(_ configuration: RedisTLSConfiguration) throws(RedisError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .tls("could not create a TLS context: \(TLSContext.lastError())") }
        self.configuration = configuration
        self.context = context
        guard copenssl_require_tls12(context) == 1 else { throw .tls("could not require TLS 1.2: \(TLSContext.lastError())") }
        copenssl_allow_partial_writes(context)
        switch configuration.verification {
        case .full: SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        case .insecureNoVerification: SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }
        switch configuration.trustRoots {
        case .system:
            guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                throw .tls("could not load the system's trust store: \(TLSContext.lastError())")
            }
        case .file(let path):
            guard SSL_CTX_load_verify_locations(context, path, nil) == 1 else {
                throw .tls("could not load the CA file \(path): \(TLSContext.lastError())")
            }
        }
        if let certificate = configuration.certificateChainFile {
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
                throw .tls("could not load the client certificate \(certificate): \(TLSContext.lastError())")
            }
            guard let key = configuration.privateKeyFile else { throw .tls("a client certificate needs its private key file") }
            // The error names the file, never its content.
            guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1, SSL_CTX_check_private_key(context) == 1 else {
                throw .tls("could not use the private key \(key) with the client certificate: \(TLSContext.lastError())")
            }
        }
    }

    deinit {
        SSL_CTX_free(context)
    }

    /// A client session for `host` (a name or an IP literal): SNI for a name, and the name or address that the
    /// certificate must show when verifying.
    func makeSession(host: String) throws(RedisError) -> OpaquePointer {
        guard let session = SSL_new(context) else { throw .tls("could not create a TLS session: \(TLSContext.lastError())") }
        let name = configuration.serverName ?? host
        let isAddress = HostResolver.isIPLiteral(name)
        if !isAddress, copenssl_set_server_name_indication(session, name) != 1 {
            SSL_free(session)
            throw .tls("could not set the server name \(name): \(TLSContext.lastError())")
        }
        if configuration.verification == .full {
            let checked = isAddress ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(session), name) : SSL_set1_host(session, name)
            guard checked == 1 else {
                SSL_free(session)
                throw .tls("could not check the server name \(name): \(TLSContext.lastError())")
            }
        }
        SSL_set_connect_state(session)
        return session
    }

    /// The oldest error on this thread's OpenSSL error queue, which is then cleared.
    static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        // "error:0A000086:SSL routines::certificate verify failed": the part after the codes reads best.
        return text.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? text
    }
}

// An SSL_CTX may be shared by threads once configured (OpenSSL 1.1+ locks its internals); it is only read after
// `init`, and sessions made from it are each confined to one connection's queue.
extension TLSContext: @unchecked Sendable {}
