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
    grep -E "error|\.swift:[0-9]+:[0-9]+: warning:|Compiling ($2|QuickStart|DemoSupport)|Build complete" "$work/build.log" || true
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
