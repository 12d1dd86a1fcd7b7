/// This package's version, the one `CHANGELOG.md` names; `rstream --version` prints it.
public let resumableStreamVersion = "0.2.0-dev"
