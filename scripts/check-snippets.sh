#!/usr/bin/env bash
# Every ```swift block of README.md, of the DocC articles (Sources/*/*.docc) and of the doc comments (`///`) of
# Sources/**/*.swift must be code that `make demo` or the tests compile: a whole file under Examples/*/Sources, or
# the text of a region of one or of a test (Tests/**), the lines between `// snippet: begin` and `// snippet: end`
# without their common indentation.
# A block of manifest lines only (`.package(`, `.product(`) is skipped. A region that is no block's text is an
# error too, so that no snippet is compiled for a block that is gone. On a mismatch it prints where the block is
# and its difference from the closest file or region, and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PYTHON'
import difflib, glob, re, sys, textwrap

OPEN = re.compile(r"^([ \t]*)```swift[ \t]*$")
CLOSE = re.compile(r"^[ \t]*```[ \t]*$")
DOC_COMMENT = re.compile(r"^[ \t]*/// ?")
BEGIN = re.compile(r"^[ \t]*// snippet: begin[ \t]*$")
END = re.compile(r"^[ \t]*// snippet: end[ \t]*$")
errors = []


def fenced_blocks(path, lines):
    """(line of the opening fence, text) of each ```swift block; a line that is None ends any block."""
    blocks, start, indent, body = [], None, "", []
    for number, line in enumerate(lines, 1):
        if start is None:
            match = line is not None and OPEN.match(line)
            if match:
                start, indent, body = number, match.group(1), []
        elif line is None:
            errors.append(f"{path}:{start}: the ```swift block is not closed")
            start = None
        elif CLOSE.match(line):
            blocks.append((start, "".join(body)))
            start = None
        else:
            body.append((line[len(indent):] if line.startswith(indent) else line.lstrip()) + "\n")
    if start is not None:
        errors.append(f"{path}:{start}: the ```swift block is not closed")
    return blocks


def is_manifest_fragment(text):
    code = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("//")]
    return bool(code) and all(line.startswith((".package(", ".product(")) for line in code)


def read_lines(path):
    with open(path, encoding="utf-8") as file:
        return file.read().split("\n")


# The blocks, from the Markdown files and from the doc comments.
blocks = []
for path in ["README.md"] + sorted(glob.glob("Sources/*/*.docc/**/*.md", recursive=True)):
    blocks += [(path, start, text) for start, text in fenced_blocks(path, read_lines(path))]
for path in sorted(glob.glob("Sources/**/*.swift", recursive=True)):
    doc_lines = [DOC_COMMENT.sub("", line) if DOC_COMMENT.match(line) else None for line in read_lines(path)]
    blocks += [(path, start, text) for start, text in fenced_blocks(path, doc_lines)]

# The code they may be: whole files and their regions, each with the line where its text starts.
candidates = {}  # text -> [(path, line)]
regions = []  # (path, line, text)
examples = sorted(glob.glob("Examples/*/Sources/**/*.swift", recursive=True))
for path in examples + sorted(glob.glob("Tests/**/*.swift", recursive=True)):
    lines = read_lines(path)
    if path in examples:
        candidates.setdefault("\n".join(lines), []).append((path, 1))
    begin = None
    for number, line in enumerate(lines, 1):
        if BEGIN.match(line):
            if begin is not None:
                errors.append(f"{path}:{number}: // snippet: begin inside the region that begins on line {begin}")
            begin = number
        elif END.match(line):
            if begin is None:
                errors.append(f"{path}:{number}: // snippet: end without a // snippet: begin")
                continue
            text = textwrap.dedent("".join(body + "\n" for body in lines[begin:number - 1]))
            regions.append((path, begin + 1, text))
            candidates.setdefault(text, []).append((path, begin + 1))
            begin = None
    if begin is not None:
        errors.append(f"{path}:{begin}: // snippet: begin without a // snippet: end")


def closest(text):
    """The candidate most like the block, as (path, line, text)."""
    best = max(candidates, key=lambda candidate: difflib.SequenceMatcher(None, candidate, text, autojunk=False).ratio())
    return (*candidates[best][0], best)


matched, checked = set(), 0
for path, start, text in blocks:
    if is_manifest_fragment(text):
        continue
    checked += 1
    if text in candidates:
        matched.add(text)
        continue
    where, line, code = closest(text)
    matched.add(code)  # reported here, not again as a region of no block
    diff = difflib.unified_diff(code.splitlines(), text.splitlines(), f"{where}:{line}", f"{path}:{start + 1}", n=1, lineterm="")
    diff = list(diff)
    shown = diff[:24] + ([f"... ({len(diff) - 24} more lines)"] if len(diff) > 24 else [])
    errors.append(f"{path}:{start}: this ```swift block is no file under Examples/*/Sources or // snippet: region; "
                  f"the closest is {where}:{line}:\n" + "\n".join("    " + line for line in shown))
for path, line, text in regions:
    if text not in matched:
        errors.append(f"{path}:{line - 1}: this // snippet: region is the text of no ```swift block of the docs")

if checked == 0:
    errors.append("no ```swift block found: is this the repository's root?")
for error in errors:
    print(f"check-snippets: {error}", file=sys.stderr)
if errors:
    sys.exit(1)
print(f"check-snippets: {checked} swift blocks of the README, the DocC articles and the doc comments are compiled code")
PYTHON
