#!/usr/bin/env bash
# Measures the logging path against the test Elasticsearch-compatible server:
#  1. throughput: LINES nginx lines forwarded; prints documents per CPU-second
#     of logmeter (user+system from /proc) and per wall second.
#  2. outage: the server is stopped for OUTAGE seconds while RATE lines/s are
#     written; prints logmeter's RSS, the forward buffer gauge and the state
#     directory's size at the end of the outage, then checks every line
#     arrives once the server is back.
#
#   bench/forward.sh                          # LINES=200000 OUTAGE=60 RATE=10000
#   LINES=50000 OUTAGE=10 RATE=2000 bench/forward.sh
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${LINES:-200000}
outage=${OUTAGE:-60}
rate=${RATE:-10000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

es=$(bash scripts/build-esserver.sh)
go build -o "$work/logmeter" ./cmd/logmeter
go build -o "$work/genlog" ./bench/genlog
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
esport=$(free_port)
hz=$(getconf CLK_TCK)
printf admin > "$work/user"; printf 'bench-secret' > "$work/pass"

start_es() {
	"$es" --listen "127.0.0.1:$esport" --data "$work/esdata" --user admin --password bench-secret 2>>"$work/es.log" &
	espid=$!
	for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$esport/_health" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "server did not start" >&2; return 1
}
count() {
	curl -fsS -u admin:bench-secret -XPOST "http://127.0.0.1:$esport/_refresh" >/dev/null
	curl -fsS -u admin:bench-secret "http://127.0.0.1:$esport/logstash-*/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'
}
# metric NAME: the sum of its samples; NAME may include labels (exact match).
metric() {
	curl -fsS "http://127.0.0.1:$port/metrics" | awk -v n="$1" '
		index($1, n) == 1 && (length($1) == length(n) || substr($1, length(n) + 1, 1) == "{") { s += $NF }
		END { printf "%d\n", s }'
}
cpu() { awk -v hz="$hz" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }
wait_metric() {
	local v
	for _ in $(seq 1 3000); do
		v=$(metric "$1" 2>/dev/null | head -n 1) || v=0
		[ "${v:-0}" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "timed out: $1 < $2" >&2; return 1
}

mkdir -p "$work/logs"
cat > "$work/cfg.yaml" <<YAML
server: {listen: "127.0.0.1:$port"}
inputs:
  - {name: nginx, paths: ["$work/logs/*.log"], format: plain, start_at: beginning}
rules: ["$PWD/bench/nginx-4metrics.yaml"]
state_dir: $work/state
forward:
  elasticsearch:
    urls: ["http://127.0.0.1:$esport"]
    auth: {username_file: $work/user, password_file: $work/pass}
    batch: {max_docs: 5000, max_wait: 500ms}
    workers: 2
    gzip: false
YAML

start_es
echo "== throughput: $lines lines"
"$work/genlog" -kind nginx -variant timed -n "$lines" -bad 0.05 -seed 3 -o "$work/logs/access.log"
start=$(date +%s.%N)
"$work/logmeter" run --config "$work/cfg.yaml" --log.level warn &
lpid=$!
wait_metric 'logmeter_forward_docs_total{result="sent"}' "$lines"
end=$(date +%s.%N)
c=$(cpu "$lpid")
awk -v n="$lines" -v c="$c" -v s="$start" -v e="$end" 'BEGIN {
	printf "logmeter CPU %.2f s (metrics and forwarding together): %.0f docs per CPU-second; %.0f docs per wall second\n", c, n / c, n / (e - s) }'
echo "documents in the index: $(count)"

echo "== outage: server stopped for $outage s while $rate lines/s are written"
kill -TERM "$espid"; wait "$espid" 2>/dev/null || true
total=$lines
for s in $(seq 1 "$outage"); do
	"$work/genlog" -kind nginx -variant timed -n "$rate" -bad 0 -seed "$((100 + s))" >> "$work/logs/access.log"
	total=$((total + rate))
	sleep 1
done
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$lpid/status")
echo "after the outage: logmeter RSS $((rss / 1024)) MiB, forward buffer $(metric logmeter_forward_buffer_bytes) bytes (the log file itself), state dir $(du -sk "$work/state" | cut -f1) KiB"
echo "rule metrics meanwhile: lines read $(metric logmeter_lines_read_total) of $total written"
start_es
wait_metric 'logmeter_forward_docs_total{result="sent"}' "$total"
sleep 2
echo "after recovery: documents in the index $(count) of $total lines"
kill -TERM "$lpid"; wait "$lpid" || true
