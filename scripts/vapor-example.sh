#!/usr/bin/env bash
# The Vapor example server (Examples/VaporStreamServer) against a throwaway Redis, as scripts/demo.sh does for
# the Hummingbird one: a client starts a stream on instance A and loses its connection after 1.2 s, resumes
# it on instance B with Last-Event-ID and with ?resumeAt, while a second client follows it live on B, and
# every client must have received exactly the producer's text, with no gap and no duplicate. Then a stop from
# the other instance, the answers after the end and to hostile numbers, the spans both instances exported
# (OpenTelemetry, to a stand-in collector), the AI SDK's chat routes against a stand-in model (as in the demo),
# and SIGTERM while a stream runs: its client still gets all of it
# and both servers exit within 15 s. Everything it starts is stopped on exit, Ctrl-C or failure (scripts/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh curl python3 nodejs

name=example-vapor
source scripts/lib.sh

build_example Examples/VaporStreamServer VaporStreamServer
start_redis
start_otlp_sink
start_model_standin
port_a=$(free_port); port_b=$(free_port)
export TOKEN_DELAY_MS=80 LOG_SECONDS=600
env $(otlp_env vapor-a) "$server" --port "$port_a" >"$work/a.log" 2>&1 & pid_a=$!; pids+=($pid_a)
env $(otlp_env vapor-b) "$server" --port "$port_b" >"$work/b.log" 2>&1 & pid_b=$!; pids+=($pid_b)
a="http://127.0.0.1:$port_a"; b="http://127.0.0.1:$port_b"
wait_for "$a/streams/none/status"; wait_for "$b/streams/none/status"
echo "== Redis on port $redis_port, Vapor instances A on $port_a and B on $port_b, spans to $otlp_endpoint"

id="vapor-$RANDOM"
echo "== client 1 starts stream $id on A and loses its connection after 1.2 s"
timeout 1.2 curl -sN "$a/streams/$id" >"$work/client1.sse" || true
cut_at=$(last_id "$work/client1.sse")
[ -n "$cut_at" ] || fail "client 1 received no event in 1.2 s"
echo "   received $(grep -c '^id: ' "$work/client1.sse") events, last id $cut_at: \"$(sse_text "$work/client1.sse")\""

echo "== client 2 follows the stream live on B from the start"
curl -sN "$b/streams/$id" >"$work/follower.sse" & follower=$!
echo "== client 1 resumes on B with Last-Event-ID: $cut_at, and again with ?resumeAt=$cut_at"
curl -sN -H "Last-Event-ID: $cut_at" "$b/explicit/streams/$id" >"$work/resume-header.sse" & header=$!
curl -sN "$b/streams/$id?resumeAt=$cut_at" >"$work/resume-query.sse" & query=$!
wait "$follower" "$header" "$query"

full=$(sse_text "$work/follower.sse")
first=$(sse_text "$work/client1.sse")
by_header="$first$(sse_text "$work/resume-header.sse")"
by_query="$first$(sse_text "$work/resume-query.sse")"
echo "   producer's text (client 2, followed live): $full"
echo "   client 1 + resume with Last-Event-ID:      $by_header"
echo "   client 1 + resume with ?resumeAt:          $by_query"
[ -n "$full" ] && [ "$full" = "$by_header" ] && [ "$full" = "$by_query" ] || fail "the texts differ"
# The ids go up with the text: the resume's first id is past the cut, its last the text's length in UTF-16.
first_resumed=$(grep '^id: ' "$work/resume-header.sse" | head -1 | cut -c5-)
length=$(python3 -c 'import sys; print(len(sys.argv[1].encode("utf-16-le")) // 2)' "$full")
[ "$first_resumed" -gt "$cut_at" ] && [ "$(last_id "$work/resume-header.sse")" = "$length" ] ||
    fail "the resumed ids do not continue from $cut_at to $length"
grep -q '^event: end' "$work/resume-header.sse" || fail "the resumed stream did not end with the end event"

status=$(curl -s "$a/streams/$id/status")
late=$(curl -s -o "$work/late.txt" -w '%{http_code}' "$b/streams/$id")
echo "== the stream is now \"$status\"; a resume after the end without an offset answers $late ($(cat "$work/late.txt"))"
[ "$status" = done ] && [ "$late" = 422 ] || fail "expected done and 422"

echo "== the spans of stream $id, as the stand-in OpenTelemetry collector received them"
sleep 0.5  # the exporters send every 0.2 s
spans=$(spans_of "$id")
echo "$spans" | sed 's/^/   /'
grep -q '^vapor-a resumableStream created in ' <<<"$spans" || fail "A did not export the producer's span inside its HTTP span"
grep -q '^vapor-b resumeExistingStream resumed in ' <<<"$spans" || fail "B did not export the resume's span inside its HTTP span"

echo "== stream $id-2 starts on A; B stops it after 0.6 s (DELETE), and the client's stream ends cleanly"
curl -sN "$a/streams/$id-2" >"$work/stopped.sse" & stopped=$!
sleep 0.6
stop_status=$(curl -s -o "$work/stop.txt" -w '%{http_code}' -X DELETE "$b/streams/$id-2")
wait "$stopped"
echo "   DELETE on B: $stop_status $(cat "$work/stop.txt"); the client got $(grep -c '^id: ' "$work/stopped.sse") events"
[ "$stop_status" = 202 ] && grep -q '^event: stopped' "$work/stopped.sse" || fail "the stop was not 202 and a stopped event"

echo "== hostile numbers and unknown streams"
codes=""
for query in "resumeAt=-5" "resumeAt=99999999999999999999999" "resumeAt=9223372036854775807" "resumeAt=1e3"; do
    codes+="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$b/streams/$id?$query") "
done
codes+="$(curl -s -o "$work/huge.sse" -w '%{http_code}' --max-time 10 -H 'Last-Event-ID: 9223372036854775807' "$b/explicit/streams/$id") "
codes+="$(curl -s -o /dev/null -w '%{http_code}' "$b/explicit/streams/nobody-$RANDOM")"
echo "   ?resumeAt=-5, =10^23, =Int.max, =1e3: $codes (the last two: Last-Event-ID Int.max, an unknown stream)"
[ "$codes" = "422 422 200 422 200 404" ] || fail "unexpected answers: $codes"

check_chat "$a" "$b"

echo "== stream $id-3 starts on A, followed on B; after 0.5 s both servers get SIGTERM"
curl -sN "$a/streams/$id-3" >"$work/term.sse" & term_client=$!
sleep 0.3
curl -sN "$b/streams/$id-3" >"$work/term-follower.sse" & term_follower=$!
sleep 0.2
term_seconds=$(terminate "$pid_a" "$pid_b")
wait "$term_client" "$term_follower" || true
term_text=$(sse_text "$work/term.sse")
echo "   both exited $term_seconds s after SIGTERM; the client on A got \"$term_text\""
echo "   and the follower on B $(grep -c '^id: ' "$work/term-follower.sse" || true) events"
if [ "$term_seconds" = never ] || [ "${term_seconds%.*}" -ge 15 ]; then fail "the servers did not exit within 15 s of SIGTERM"; fi
[ "$term_text" = "$full" ] && grep -q '^event: end' "$work/term.sse" ||
    fail "the stream running at SIGTERM did not finish for its client"
grep -q '^event: end' "$work/term-follower.sse" || fail "the follower on B did not get to the end of the stream"
echo "example-vapor: OK: every client received exactly the producer's text (${#full} characters), across instances; the chat resumed across instances"
