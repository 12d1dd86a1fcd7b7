#!/usr/bin/env python3
"""A stand-in OpenTelemetry collector for the example scripts (scripts/lib.sh).

otlp-sink.py PORT FILE       accepts OTLP/HTTP exports (JSON) on 127.0.0.1:PORT, appends each body to FILE as
                             one line, and answers 200 with an empty export response
otlp-sink.py --spans-of ID FILE
                             prints the spans in FILE whose resumable_stream.id is ID, one a line: service,
                             name, outcome, and `in <HTTP span name>` when its parent is a server span that
                             FILE also holds (else `at the root`)
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(port, path):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = b""
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    chunk = self.rfile.read(size + 2)[:size]
                    if size == 0:
                        break
                    body += chunk
            else:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with open(path, "ab") as out:
                out.write(body.replace(b"\n", b" ") + b"\n")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def do_GET(self):  # a readiness probe
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def field(message, name):
    """A field in OTLP's JSON, lowerCamelCase or as the proto names it."""
    snake = "".join("_" + c.lower() if c.isupper() else c for c in name)
    return message.get(name, message.get(snake))


def attributes(message):
    values = {}
    for attribute in field(message, "attributes") or []:
        value = attribute.get("value", {})
        values[attribute["key"]] = next(iter(value.values()), None) if value else None
    return values


def spans_of(stream_id, path):
    spans = []
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        if not line.strip():
            continue
        for resource_spans in field(json.loads(line), "resourceSpans") or []:
            service = attributes(resource_spans.get("resource", {})).get("service.name")
            for scope_spans in field(resource_spans, "scopeSpans") or []:
                for span in scope_spans.get("spans", []):
                    spans.append((service, span))
    by_id = {field(span, "spanId"): span for _, span in spans}
    for service, span in spans:
        values = attributes(span)
        if values.get("resumable_stream.id") != stream_id:
            continue
        parent = by_id.get(field(span, "parentSpanId"))
        server = parent is not None and str(parent.get("kind")) in ("2", "SPAN_KIND_SERVER")
        place = f"in {parent['name']}" if server else "at the root"
        print(service, span["name"], values.get("resumable_stream.outcome"), place)


if __name__ == "__main__":
    if sys.argv[1] == "--spans-of":
        spans_of(sys.argv[2], sys.argv[3])
    else:
        serve(int(sys.argv[1]), sys.argv[2])
