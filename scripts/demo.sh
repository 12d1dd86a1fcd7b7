#!/usr/bin/env bash
# The main job for a newcomer: a throwaway Redis, two instances of the example server sharing it, and a
# scripted session with curl that cuts a stream half way on instance A, resumes it on instance B (with
# ?resumeAt and with Last-Event-ID), follows it live from a second client, and checks that every client
# received exactly the producer's text; a client that drops near the end comes back after the stream finished,
# on the other instance, and still gets the rest; a third instance is killed (SIGKILL) mid-stream and the
# stream is resumed from its durable log; the AI SDK's chat routes resume an answer of a stand-in model across
# instances, regenerate, stop it and turn the model's failures into error chunks; instance A exports its spans
# (OpenTelemetry) to a stand-in collector.
# Everything it starts is stopped on exit, Ctrl-C or failure (scripts/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh curl python3 nodejs

name=demo
source scripts/lib.sh

build_example Examples/StreamServer StreamServer
start_redis
start_otlp_sink
start_model_standin
port_a=$(free_port); port_b=$(free_port); port_c=$(free_port)
export TOKEN_DELAY_MS=80 LOG_SECONDS=600
env $(otlp_env stream-server-a) "$server" --port "$port_a" >"$work/a.log" 2>&1 & pids+=($!)
"$server" --port "$port_b" >"$work/b.log" 2>&1 & pid_b=$!; pids+=($pid_b)
"$server" --port "$port_c" >"$work/c.log" 2>&1 & pid_c=$!; pids+=($pid_c)
a="http://127.0.0.1:$port_a"; b="http://127.0.0.1:$port_b"; c="http://127.0.0.1:$port_c"
wait_for "$a/streams/none/status"; wait_for "$b/streams/none/status"; wait_for "$c/streams/none/status"
echo "== Redis on port $redis_port, instances A on $port_a, B on $port_b and C on $port_c (each with a durable log);"
echo "   A exports its spans to a stand-in OpenTelemetry collector at $otlp_endpoint; the chats' model is a stand-in at $standin"

id="demo-$RANDOM"
echo "== client 1 starts stream $id on A and loses its connection after 1.2 s"
timeout 1.2 curl -sN "$a/streams/$id" >"$work/client1.sse" || true
cut_at=$(last_id "$work/client1.sse")
echo "   received $(grep -c '^id: ' "$work/client1.sse") events, last id $cut_at: \"$(sse_text "$work/client1.sse")\""

echo "== client 2 follows the stream live on B from the start"
curl -sN "$b/streams/$id" >"$work/follower.sse" & follower=$!
echo "== client 1 resumes on B with ?resumeAt=$cut_at, and again with Last-Event-ID: $cut_at"
curl -sN "$b/streams/$id?resumeAt=$cut_at" >"$work/resume-query.sse" & query=$!
curl -sN -H "Last-Event-ID: $cut_at" "$b/explicit/streams/$id" >"$work/resume-header.sse" & header=$!
wait "$follower" "$query" "$header"

late=$(curl -s -o /dev/null -w '%{http_code}' "$b/streams/$id")
echo "== a resume after the end answers $late ($(curl -s "$b/streams/$id"))"

echo "== stream $id-2 starts on A; B stops it after 0.6 s (DELETE), and the client's stream ends cleanly"
curl -sN "$a/streams/$id-2" >"$work/stopped.sse" & stopped=$!
sleep 0.6
echo "   DELETE on B: $(curl -s -X DELETE "$b/streams/$id-2")"
wait "$stopped"
echo "   the client got $(grep -c '^id: ' "$work/stopped.sse") events, then $(grep '^event: ' "$work/stopped.sse" | tail -1); status now: $(curl -s "$b/streams/$id-2/status")"
echo "== metrics of instance A (excerpt)"
curl -s "$a/metrics" | grep -E '^resumable_stream_streams|^resumable_stream_producers' | sed 's/^/   /'

full=$(sse_text "$work/follower.sse")
first=$(sse_text "$work/client1.sse")
by_query="$first$(sse_text "$work/resume-query.sse")"
by_header="$first$(sse_text "$work/resume-header.sse")"
echo
echo "== transcript"
echo "   producer's text (client 2, followed live): $full"
echo "   client 1 + resume with ?resumeAt:          $by_query"
echo "   client 1 + resume with Last-Event-ID:      $by_header"
echo
if [ -z "$full" ] || [ "$full" != "$by_query" ] || [ "$full" != "$by_header" ] || [ "$late" != 422 ]; then
    echo "demo: FAILED: the texts differ (logs in $work are removed on exit)" >&2
    exit 1
fi

echo "== client 3 starts stream $id-late on A and loses its connection near the end, after 1.8 s"
timeout 1.8 curl -sN "$a/streams/$id-late" >"$work/late1.sse" || true
late_cut=$(last_id "$work/late1.sse")
for _ in $(seq 1 100); do [ "$(curl -s "$b/streams/$id-late/status")" = done ] && break; sleep 0.1; done
echo "   it had $late_cut characters; the stream is now $(curl -s "$b/streams/$id-late/status")"
echo "== client 3 comes back after the end, on B, with Last-Event-ID: $late_cut (the finished text is retained)"
late_status=$(curl -sN -o "$work/late2.sse" -w '%{http_code}' -H "Last-Event-ID: $late_cut" "$b/streams/$id-late")
late_text="$(sse_text "$work/late1.sse")$(sse_text "$work/late2.sse")"
ended=$(grep -c '^event: end' "$work/late2.sse" || true)
echo "   $late_status, $(grep -c '^id: ' "$work/late2.sse") events, then the end event ($ended): $late_text"
if [ "$late_status" != 200 ] || [ "$late_text" != "$full" ] || [ "$ended" != 1 ]; then
    echo "demo: FAILED: the late client did not get exactly the rest of the finished stream" >&2
    exit 1
fi

check_chat "$a" "$b"

echo "== client 4 starts stream $id-crash on C and loses its connection after 0.5 s; C is killed (SIGKILL) at 1.5 s"
timeout 0.5 curl -sN "$c/streams/$id-crash" >"$work/crash1.sse" || true
crash_cut=$(last_id "$work/crash1.sse")
sleep 1.0
kill -KILL "$pid_c"; wait "$pid_c" 2>/dev/null || true
echo "== client 4 comes back on B with Last-Event-ID: $crash_cut; nobody answers, so B serves C's durable log"
curl -sN -H "Last-Event-ID: $crash_cut" "$b/streams/$id-crash" >"$work/crash2.sse" || true
crash_rest=$(sse_text "$work/crash2.sse")
crash_text="$(sse_text "$work/crash1.sse")$crash_rest"
failed=$(grep -A1 '^event: failed' "$work/crash2.sse" | tail -1)
echo "   $(grep -c '^id: ' "$work/crash2.sse") events (${#crash_rest} characters from the log), then the failed event ($failed):"
echo "   $crash_text"
if [ -z "$crash_rest" ] || [ "${full#"$crash_text"}" = "$full" ] || [ "$failed" != 'data: "producerUnreachable"' ]; then
    echo "demo: FAILED: the crashed producer's stream was not resumed from its log" >&2
    exit 1
fi

echo "== Redis goes away while B serves a follower: the instances answer 503 with a one-line reason and log it,"
echo "   and B still stops within its bound when asked to (SIGTERM)"
curl -sN "$a/streams/$id-3" >/dev/null & producer_client=$!
sleep 0.5
curl -sN "$b/streams/$id-3" >"$work/orphan.sse" & orphan=$!
sleep 0.3
redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
outage=$(curl -s -o "$work/outage.txt" -w '%{http_code}' "$a/streams/$id-4")
echo "   GET on A: $outage $(cat "$work/outage.txt")"
logged=$(grep -c 'answering 503' "$work/a.log" || true)
term_seconds=$(terminate "$pid_b")
echo "   B exited $term_seconds s after SIGTERM; its follower got $(grep -c '^id: ' "$work/orphan.sse" || true) events"
wait "$orphan" "$producer_client" 2>/dev/null || true
echo "== a bad REDIS_URL is one line and exit code 2"
bad_status=0
REDIS_URL="bogus://nowhere" "$server" --port "$(free_port)" >"$work/bad.out" 2>"$work/bad.err" || bad_status=$?
echo "   exit $bad_status: $(cat "$work/bad.err")"
if [ "$term_seconds" = never ] || [ "${term_seconds%.*}" -ge 15 ]; then
    echo "demo: FAILED: instance B did not stop within 15 s of SIGTERM with Redis gone" >&2
    exit 1
fi
if [ "$outage" != 503 ] || [ "$logged" -lt 1 ] || [ "$bad_status" -ne 2 ] || [ "$(wc -l <"$work/bad.err")" -ne 1 ]; then
    echo "demo: FAILED: the outage was not a logged 503, or the bad configuration was not one line and exit 2" >&2
    exit 1
fi
echo "== the spans A exported for stream $id, as the stand-in OpenTelemetry collector received them"
spans=$(spans_of "$id")
echo "$spans" | sed 's/^/   /'
grep -q '^stream-server-a resumableStream created in ' <<<"$spans" ||
    fail "instance A did not export the span of the stream it created, inside its HTTP server span"
echo "demo: OK: every client received exactly the producer's text (${#full} characters), across instances, after the end and after a crash; the chat resumed across instances"
