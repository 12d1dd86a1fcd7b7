// The ```swift blocks of the DocC articles (the chat article's are in ChatDocSnippets) and of the library's doc
// comments, compiled by `make demo`; `make lint` (scripts/check-snippets.sh) checks that each block is the text of
// a `// snippet: begin` ... `// snippet: end` region here. A block that starts with imports can only be top-level
// code, in main.swift: running it builds a context, which connects to nothing before its first call, and returns.

// snippet: begin
import RedisBridge
import ResumableStream

let streams = ResumableStreamContext(redis: try RedisConfiguration.fromEnvironment())
// snippet: end
