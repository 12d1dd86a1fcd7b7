# Shared by scripts/demo.sh and scripts/vapor-example.sh (sourced, not run): a work folder and a list of
# processes that are removed and stopped on exit, Ctrl-C or failure, and the helpers both scripts use.
# The sourcing script sets `name` first (it prefixes the messages) and runs from the repository's root.

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -n "${redis_port:-}" ] && redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

fail() { echo "$name: FAILED: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "$name: $1 did not come up" >&2; exit 1; }
# The text of an SSE response: the data of each message event (no `event:` field) is a JSON string.
sse_text() { python3 -c 'import json,sys
events = [e.split("\n") for e in open(sys.argv[1], encoding="utf-8").read().split("\n\n")]
print("".join(json.loads(l[6:]) for e in events if not any(l.startswith("event:") for l in e)
              for l in e if l.startswith("data: ")), end="")' "$1"; }
last_id() { grep '^id: ' "$1" | tail -1 | cut -c5- ; }

# Builds the example package in folder $1 (every product of it: the Hummingbird one also builds the README's quick
# start) and sets `server` to its executable, $2. Shows the errors, the warnings in Swift code (the packages it
# depends on are built without theirs) and what was compiled of the example's own code; fails if anything did not
# build.
build_example() {
    echo "== building the example server ($1)"
    local status=0
    (cd "$1" && swift build >"$work/build.log" 2>&1) || status=$?
    grep -E "error|\.swift:[0-9]+:[0-9]+: warning:|Compiling ($2|[A-Za-z]*QuickStart|[A-Za-z]*DocSnippets|DemoSupport)|Build complete" "$work/build.log" || true
    server=$1/.build/debug/$2
    [ "$status" = 0 ] && [ -x "$server" ] || { echo "$name: the example package did not build" >&2; exit 1; }
}

# A throwaway redis-server on a free loopback port, in `work`; sets `redis_port` and exports REDIS_URL.
start_redis() {
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
        --logfile "$work/redis.log" --dir "$work" >/dev/null
    export REDIS_URL="redis://127.0.0.1:$redis_port"
}

# A stand-in OpenTelemetry collector (scripts/otlp-sink.py) on a free loopback port, writing what it receives
# to $work/spans.jsonl; sets `otlp_endpoint`. Servers started with OTEL_EXPORTER_OTLP_ENDPOINT set to it export
# their spans there as JSON, within 0.2 s.
start_otlp_sink() {
    local port
    port=$(free_port)
    python3 scripts/otlp-sink.py "$port" "$work/spans.jsonl" & pids+=($!)
    otlp_endpoint="http://127.0.0.1:$port"
    for _ in $(seq 1 50); do curl -s -o /dev/null "$otlp_endpoint" && break; sleep 0.1; done
}
# The environment (for `env`) that exports a server's spans to the sink under service name $1.
otlp_env() { echo "OTEL_EXPORTER_OTLP_ENDPOINT=$otlp_endpoint OTEL_EXPORTER_OTLP_PROTOCOL=http/json OTEL_BSP_SCHEDULE_DELAY=200 OTEL_SERVICE_NAME=$1"; }
# The spans the sink received for stream $1, one line each: service, span name, outcome, and whether the
# span sits inside an HTTP server span of the same service.
spans_of() { python3 scripts/otlp-sink.py --spans-of "$1" "$work/spans.jsonl"; }

# Sends SIGTERM to the processes given and prints how many seconds it took until all exited (waiting up to
# 20 s), or `never`.
terminate() {
    local started pid alive
    started=$(date +%s.%N)
    kill -TERM "$@"
    for _ in $(seq 1 200); do
        alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && { echo never; return; }; done
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$started" "$(date +%s.%N)"
}

# A stand-in OpenAI-compatible model (scripts/openai-standin.py) on a free loopback port, answering a piece every
# 40 ms; exports OPENAI_BASE_URL (and a 2 s MODEL_TIMEOUT_SECONDS) for the servers started after it.
start_model_standin() {
    local port
    port=$(free_port)
    python3 scripts/openai-standin.py "$port" 40 & pids+=($!)
    standin="http://127.0.0.1:$port"
    export OPENAI_BASE_URL="$standin/v1" OPENAI_API_KEY=standin-key MODEL=standin MODEL_TIMEOUT_SECONDS=2
    for _ in $(seq 1 50); do curl -s -o /dev/null "$standin/events" && break; sleep 0.1; done
}

# The AI SDK's chat body for chat $1 with one user message $2.
chat_body() { python3 -c 'import json,sys; print(json.dumps({"id": sys.argv[1], "trigger": "submit-message",
    "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": sys.argv[2]}]}]}))' "$1" "$2"; }
# POSTs message $3 in chat $2 to instance $1, saving the UI message stream in $work/$4.sse (at most $5 seconds).
chat_post() { timeout "${5:-20}" curl -sN -X POST -H 'Content-Type: application/json' -d "$(chat_body "$2" "$3")" "$1/api/chat" >"$work/$4.sse" || true; }
# The checked reading of $work/$1.sse (scripts/ui-message-stream.py): field $2 of it.
chat_field() { python3 scripts/ui-message-stream.py "$work/$1.sse" | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"; }
# Fails unless $work/$1.sse is a valid UI message stream with the text $2 and the end $3.
expect_answer() {
    python3 scripts/ui-message-stream.py "$work/$1.sse" >"$work/$1.json" || fail "$1: not what the AI SDK parses: $(cat "$work/$1.json")"
    [ "$(chat_field "$1" text)" = "$2" ] || fail "$1: the text differs: $(chat_field "$1" text) (expected: $2)"
    [ "$(chat_field "$1" end)" = "$3" ] || fail "$1: it ended with $(chat_field "$1" end), not $3"
}

# The chat routes of instances $1 and $2, as the AI SDK's transport uses them, answered by the stand-in model
# (start_model_standin): a drop and a resume on the other instance, 204s, a regenerate, a stop from the other
# instance, and each failure of the model as an error chunk within its bound.
check_chat() {
    local a=$1 b=$2 chat="chat-$RANDOM" started status
    echo "== chat $chat: a message to A; the client drops after 0.5 s and resumes on B (GET /api/chat/$chat/stream)"
    chat_post "$a" "$chat" "Hello, wörld" dropped 0.5
    status=$(curl -sN -D "$work/resumed.headers" -o "$work/resumed.sse" -w '%{http_code}' "$b/api/chat/$chat/stream")
    expect_answer resumed "$(python3 scripts/openai-standin.py --answer-for 'Hello, wörld')" finish
    grep -qi '^x-vercel-ai-ui-message-stream: v1' "$work/resumed.headers" || fail "the resume lacks the UI message stream header"
    echo "   $status: the whole answer from its start ($(grep -c '"text-delta"' "$work/resumed.sse") deltas), finish, [DONE]"
    status=$(curl -s -o /dev/null -w '%{http_code}' "$b/api/chat/$chat/stream")
    [ "$status" = 204 ] || fail "a resume after the end answered $status, not 204"
    status=$(curl -s -o /dev/null -w '%{http_code}' "$a/api/chat/chat-unknown-$RANDOM/stream")
    [ "$status" = 204 ] || fail "a resume of an unknown chat answered $status, not 204"
    echo "   a resume after the end: 204; of an unknown chat: 204"

    echo "== the example page's chat, run in Node (scripts/page-chat.mjs): a message on A, a reload after 0.5 s on B"
    local page
    page=$(node scripts/page-chat.mjs "$a" "$b" "Hello from the page" 500)
    python3 -c 'import json, sys; page = json.loads(sys.argv[1]); sys.exit(page["log"] != "answer complete" or page["answer"] != sys.argv[2])' \
        "$page" "$(python3 scripts/openai-standin.py --answer-for 'Hello from the page')" ||
        fail "the reloaded page did not resume the answer: $page"
    echo "   the reloaded page resumed the answer from B: $(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["answer"][:60])' "$page")…"

    echo "== a regenerate on B while a reader of the first answer resumes it: each gets its own answer"
    chat_post "$a" "$chat" "first question" first & local first=$!
    sleep 0.4
    curl -sN "$b/api/chat/$chat/stream" >"$work/first-resumed.sse" & local reader=$!
    sleep 0.2
    chat_post "$b" "$chat" "second question" second
    wait "$first" "$reader"
    expect_answer first "$(python3 scripts/openai-standin.py --answer-for 'first question')" finish
    expect_answer first-resumed "$(python3 scripts/openai-standin.py --answer-for 'first question')" finish
    expect_answer second "$(python3 scripts/openai-standin.py --answer-for 'second question')" finish
    echo "   the first answer's two readers and the regenerated answer's reader: each its own text"

    echo "== B stops the answer A runs (POST /api/chat/$chat/stop): it ends with abort, and the model's request ends"
    chat_post "$a" "$chat" "stop me" stopped & local stopped=$!
    sleep 0.5
    status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$b/api/chat/$chat/stop")
    wait "$stopped"
    [ "$status" = 200 ] || fail "the stop answered $status"
    [ "$(chat_field stopped end)" = abort ] || fail "the stopped answer ended with $(chat_field stopped end)"
    for _ in $(seq 1 30); do curl -s "$standin/events" | grep -q '"stop me", "outcome": "client-gone"' && break; sleep 0.1; done
    curl -s "$standin/events" | grep -q '"stop me", "outcome": "client-gone"' || fail "the model's request went on after the stop"
    echo "   abort after $(grep -c '"text-delta"' "$work/stopped.sse") deltas; the stand-in saw its request cancelled"

    echo "== a model that ends its answer with finish_reason and no [DONE] (as some servers do): a whole answer"
    chat_post "$a" "chat-no-done-$RANDOM" "[no-done] please" no-done
    expect_answer no-done "$(python3 scripts/openai-standin.py --answer-for '[no-done] please')" finish

    echo "== the model's failures: each answer ends with an error chunk, within its bound (MODEL_TIMEOUT_SECONDS=2)"
    for failure in fail malformed error hang silent; do
        started=$(date +%s.%N)
        chat_post "$a" "chat-$failure-$RANDOM" "[$failure] please" "failure-$failure" 10
        python3 scripts/ui-message-stream.py "$work/failure-$failure.sse" >/dev/null ||
            fail "[$failure]: not what the AI SDK parses: $(python3 scripts/ui-message-stream.py "$work/failure-$failure.sse")"
        local end
        end=$(chat_field "failure-$failure" end)
        [ "${end#error: }" != "$end" ] || fail "[$failure]: the answer ended with $end, not an error"
        echo "   [$failure] after $(python3 -c 'import sys, time; print("%.1f s" % (time.time() - float(sys.argv[1])))' "$started"): $end"
    done
}
