/// JSON text as JavaScript's `JSON.stringify` writes it, so that the bytes match a TypeScript server's.
enum JSONText {
    /// `text` as a JSON string literal: `"` and `\` escaped, the control characters below U+0020 as
    /// `JSON.stringify` writes them (`\b`, `\t`, `\n`, `\f`, `\r`, else `\u00XX` in lowercase hex), and, unlike
    /// `JSON.stringify`, U+2028 and U+2029 as `\u2028` and `\u2029`, so that the text is also safe inside
    /// JavaScript source and HTML. Everything else is written as it is (UTF-8). A Swift string holds no lone
    /// surrogate, so none needs the `\udXXX` form.
    static func quoted(_ text: String) -> String {
        var escaped = "\""
        escaped.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\u{08}": escaped += "\\b"
            case "\t": escaped += "\\t"
            case "\n": escaped += "\\n"
            case "\u{0C}": escaped += "\\f"
            case "\r": escaped += "\\r"
            case "\u{2028}": escaped += "\\u2028"
            case "\u{2029}": escaped += "\\u2029"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }

    /// `number` as `JSON.stringify` writes it: integers without a fraction (`3`, not `3.0`), exponents without
    /// a leading zero (`1e-7`), and `null` for a number that is not finite.
    static func number(_ number: Double) -> String {
        guard number.isFinite else { return "null" }
        if number == number.rounded(), abs(number) < 1e21 {
            return number == 0 ? "0" : String(Int64(number))
        }
        var text = "\(number)"
        for (written, javaScript) in [("e-0", "e-"), ("e+0", "e+")] {
            if let range = text.range(of: written) { text.replaceSubrange(range, with: javaScript) }
        }
        return text
    }
}
