#!/usr/bin/env bash
# The README's Swift must be code that `make demo` compiles. A ```swift block right after a
# `<!-- quick-start: PATH ... -->` line must be the file PATH, byte for byte; one after a
# `<!-- excerpt: PATH ... -->` line must be the lines of PATH between `// README: begin` and `// README: end`,
# without their common indentation.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PYTHON'
import re, sys, textwrap
readme = open("README.md", encoding="utf-8").read()
blocks = re.findall(r"<!-- (quick-start|excerpt): (\S+)[^\n]*-->\n```swift\n(.*?)```\n", readme, re.S)
if not any(kind == "quick-start" for kind, _, _ in blocks):
    sys.exit("check-quick-start: no quick-start marker in README.md")
failed = False
for kind, path, snippet in blocks:
    text = open(path, encoding="utf-8").read()
    if kind == "excerpt":
        match = re.search(r"^[ \t]*// README: begin\n(.*?)^[ \t]*// README: end\n", text, re.S | re.M)
        if not match:
            print(f"check-quick-start: {path} has no // README: begin ... // README: end", file=sys.stderr)
            failed = True
            continue
        text = textwrap.dedent(match.group(1))
    if snippet != text:
        print(f"check-quick-start: README.md's {kind} of {path} differs from the file", file=sys.stderr)
        failed = True
sys.exit(1 if failed else 0)
PYTHON
