#!/usr/bin/env python3
"""A stand-in OpenAI-compatible model for the demo and its checks.

POST /v1/chat/completions with "stream": true answers in OpenAI's streaming format (server-sent events of
chat.completion.chunk objects, then `data: [DONE]`), chunked, one piece every DELAY_MS. What it answers
depends on the last user message:

  "[fail]"       five pieces, then the connection is cut (no [DONE], no last chunk)
  "[malformed]"  three pieces, then a data line that is not JSON
  "[error]"      HTTP 500 with an OpenAI error body
  "[hang]"       nothing at all, not even a status line
  "[silent]"     three pieces, then silence
  "[no-done]"    answer_for(prompt), its last chunk with finish_reason "stop", and no [DONE] (as some servers)
  anything else  answer_for(prompt), piece by piece

GET /events lists what happened to each answer, one JSON object per line: {"prompt", "outcome"} with outcome
"complete", "client-gone" (the client closed the connection: a stopped answer) or the failure served.

Usage: openai-standin.py PORT [DELAY_MS]     serve on 127.0.0.1:PORT (DELAY_MS 50)
       openai-standin.py --answer-for TEXT   print the answer to TEXT, without a newline
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ("Resumable answers survive a reload. Ein Strom, der weiterläuft: 流は途切れない 🌊. "
         "Any instance serves the resume, because the producer answers over Redis pub/sub. Fin. ✅")


def answer_for(prompt):
    return "Answer to “" + prompt + "”: " + WORDS


def pieces(text):
    out, current = [], ""
    for character in text:
        current += character
        if character == " ":
            out.append(current)
            current = ""
    return out + ([current] if current else [])


def chunk(content, finish_reason=None):
    return {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": 0, "model": "standin",
            "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish_reason}]}


events, events_lock = [], threading.Lock()


def record(prompt, outcome):
    with events_lock:
        events.append({"prompt": prompt, "outcome": outcome})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay = 0.05

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path != "/events":
            return self.send_error(404)
        with events_lock:
            body = "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in events).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            return self.send_error(404)
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        users = [m["content"] for m in request.get("messages", []) if m.get("role") == "user"]
        prompt = users[-1] if users else ""
        if "[hang]" in prompt:
            record(prompt, "hang")
            time.sleep(3600)
            return
        if "[error]" in prompt:
            record(prompt, "error")
            body = json.dumps({"error": {"message": "the stand-in refuses", "type": "server_error"}}).encode()
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        text = answer_for(prompt)
        limit = {"[fail]": 5, "[malformed]": 3, "[silent]": 3}
        cut = next((n for marker, n in limit.items() if marker in prompt), None)
        try:
            for index, piece in enumerate(pieces(text)):
                if cut is not None and index == cut:
                    break
                time.sleep(self.delay)
                self.send_chunk("data: " + json.dumps(chunk(piece), ensure_ascii=False) + "\n\n")
            if "[fail]" in prompt:
                record(prompt, "fail")
                self.close_connection = True
                return
            if "[malformed]" in prompt:
                record(prompt, "malformed")
                self.send_chunk("data: {not json\n\n")
                self.send_chunk("")
                return
            if "[silent]" in prompt:
                record(prompt, "silent")
                time.sleep(3600)
                return
            if "[no-done]" in prompt:
                self.send_chunk("data: " + json.dumps(chunk("", "stop")) + "\n\n")
                self.send_chunk("")
                record(prompt, "complete without [DONE]")
                return
            self.send_chunk("data: [DONE]\n\n")
            self.send_chunk("")
            record(prompt, "complete")
        except (BrokenPipeError, ConnectionResetError):
            record(prompt, "client-gone")

    def send_chunk(self, text):
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


def main():
    if sys.argv[1:2] == ["--answer-for"]:
        print(answer_for(sys.argv[2]), end="")
        return
    Handler.delay = (int(sys.argv[2]) if len(sys.argv) > 2 else 50) / 1000
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
