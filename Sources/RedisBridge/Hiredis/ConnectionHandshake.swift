/// The commands a new connection sends before it is ready: `AUTH` when the configuration has a password (with
/// the user name for an ACL user), `SELECT` when it names a database other than 0. hiredis 0.14 connects
/// without either.
struct ConnectionHandshake {
    struct Step {
        let command: [RESPArgument]
        /// Whether an error reply means the credentials were refused.
        let isAuthentication: Bool
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
            steps.append(Step(command: ["SELECT", RESPArgument(configuration.database)], isAuthentication: false))
        }
        self.steps = steps
    }

    /// The error that ends the connection when `step` gets `error`.
    static func failure(of step: Step, _ error: RedisError) -> RedisError {
        guard case .server(let message) = error else { return error }
        return step.isAuthentication ? .authenticationFailed(message) : .server(message)
    }
}
