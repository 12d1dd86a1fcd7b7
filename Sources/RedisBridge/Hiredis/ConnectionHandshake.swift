/// The commands a new connection sends before it is ready: `AUTH` when the configuration has a password (with
/// the user name for an ACL user), `SELECT` when it names a database other than 0, and `ROLE` when Sentinel
/// named the server (it must still be the primary: a failover may have happened since). hiredis 0.14 connects
/// without any of them.
struct ConnectionHandshake {
    struct Step {
        let command: [RESPArgument]
        /// Whether an error reply means the credentials were refused.
        var isAuthentication = false
        /// Whether the reply must say the server is a primary (`ROLE`).
        var expectsPrimary = false
    }

    let steps: [Step]

    init(_ configuration: RedisConfiguration) {
        var steps: [Step] = []
        if let password = configuration.password {
            let command: [RESPArgument] =
                if let username = configuration.username {
                    ["AUTH", .string(username), .string(password)]
                } else {
                    ["AUTH", .string(password)]
                }
            steps.append(Step(command: command, isAuthentication: true))
        }
        if configuration.database != 0 {
            steps.append(Step(command: ["SELECT", RESPArgument(configuration.database)]))
        }
        if case .sentinel = configuration.endpoint {
            steps.append(Step(command: ["ROLE"], expectsPrimary: true))
        }
        self.steps = steps
    }

    /// The error that ends the connection when `step` got `reply` (not an error reply), if any.
    static func refusal(of step: Step, _ reply: RedisValue) -> RedisError? {
        guard step.expectsPrimary else { return nil }
        guard case .array(let fields) = reply, let role = fields.first?.string else { return .unexpectedReply("ROLE") }
        return role == "master" ? nil : .connectionFailed("Sentinel named a server that is a \(role), not the primary (a failover under way)")
    }

    /// The error that ends the connection when `step` gets `error`.
    static func failure(of step: Step, _ error: RedisError) -> RedisError {
        guard error.code == .server else { return error }
        return step.isAuthentication ? .authenticationFailed(error.reason) : error
    }
}
