#!/usr/bin/env python3
"""Reads an AI SDK UI message stream (a response body saved to FILE) as the AI SDK's client does, and checks it.

Every event must be `data: <one JSON chunk>` (or a `:` comment), each chunk of a type the AI SDK knows with only
the fields its schema accepts, text deltas inside their text part, and the stream must end with `data: [DONE]`.
Prints one JSON object: {"text": the text deltas joined, "end": "finish" | "abort" | "error: <errorText>" |
"none", "done": whether [DONE] came, "problems": [...]}; exits with 1 if there is a problem.

Usage: ui-message-stream.py FILE
"""
import json
import sys

FIELDS = {
    "start": {"messageId", "messageMetadata"}, "start-step": set(), "text-start": {"id", "providerMetadata"},
    "text-delta": {"id", "delta", "providerMetadata"}, "text-end": {"id", "providerMetadata"},
    "finish-step": set(), "finish": {"messageMetadata"}, "error": {"errorText"}, "abort": set(),
    "message-metadata": {"messageMetadata"},
}


def read(body):
    text, end, done, problems, open_parts = "", "none", False, [], set()
    for event in body.split("\n\n"):
        if not event or event.startswith(":"):
            continue
        if done:
            problems.append("an event after [DONE]: %r" % event[:80])
            continue
        if not event.startswith("data: ") or "\n" in event:
            problems.append("not one data line: %r" % event[:80])
            continue
        data = event[6:]
        if data == "[DONE]":
            done = True
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            problems.append("not JSON: %r" % data[:80])
            continue
        kind = chunk.get("type")
        if kind not in FIELDS:
            problems.append("unknown chunk type %r" % kind)
            continue
        extra = set(chunk) - FIELDS[kind] - {"type"}
        if extra:
            problems.append("%s has fields the AI SDK rejects: %s" % (kind, sorted(extra)))
        if kind == "text-start":
            open_parts.add(chunk["id"])
        elif kind == "text-delta":
            if chunk.get("id") not in open_parts:
                problems.append("a text-delta outside its text part")
            text += chunk["delta"]
        elif kind == "text-end":
            open_parts.discard(chunk.get("id"))
        elif kind in ("finish", "abort"):
            end = kind
        elif kind == "error":
            end = "error: " + chunk["errorText"]
    if not done:
        problems.append("no [DONE] at the end")
    return {"text": text, "end": end, "done": done, "problems": problems}


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        result = read(file.read())
    print(json.dumps(result, ensure_ascii=False))
    sys.exit(1 if result["problems"] else 0)


if __name__ == "__main__":
    main()
