#!/usr/bin/env bash
# The README's quick start must be the file it names, byte for byte: the file is what `make demo` compiles.
set -euo pipefail
cd "$(dirname "$0")/.."
marker='<!-- quick-start: '
file=$(grep -o "$marker[^ ]*" README.md | head -1 | cut -c$((${#marker} + 1))-)
[ -n "$file" ] || { echo "check-quick-start: no quick-start marker in README.md" >&2; exit 1; }
snippet=$(awk -v marker="$marker" 'index($0, marker) == 1 { found = 1; next }
    found && /^```swift$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }' README.md)
if [ "$snippet" != "$(cat "$file")" ]; then
    echo "check-quick-start: README.md's quick start differs from $file:" >&2
    diff <(printf '%s\n' "$snippet") "$file" >&2 || true
    exit 1
fi
