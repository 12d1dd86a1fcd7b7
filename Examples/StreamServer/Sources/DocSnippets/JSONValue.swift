import ResumableStreamAISDK

/// The doc comment of `JSONValue`: a value written with literals.
func metadataLiteral() -> JSONValue {
    // snippet: begin
    let metadata: JSONValue = ["model": "gpt-5-mini", "totalTokens": 1_234, "cached": false]
    // snippet: end
    return metadata
}
