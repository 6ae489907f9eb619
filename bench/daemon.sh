#!/usr/bin/env bash
# Measures the daemon (`logmeter run`) itself:
#  1. follow: one access log growing as fast as a writer can append
#     LINES lines (the four-metric nginx rule of bench/nginx-4metrics.yaml);
#     prints lines per CPU-second of the daemon (user+system, from /proc).
#  2. files: FILES small files followed at once; prints the daemon's RSS
#     once all of them are watched and read.
#
#   bench/daemon.sh                       # LINES=1000000 FILES=1000
#   LINES=200000 FILES=200 bench/daemon.sh
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${LINES:-1000000}
files=${FILES:-1000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/logmeter" ./cmd/logmeter
go build -o "$work/genlog" ./bench/genlog
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hz=$(getconf CLK_TCK)

metric() { # metric NAME: sum of a metric's samples
	curl -fsS "http://127.0.0.1:$port/metrics" | awk -v n="$1" '$1 ~ "^"n"({|$)" { s += $NF } END { printf "%d\n", s }'
}
cpu_seconds() { awk -v hz="$hz" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }
wait_for() { # wait_for NAME VALUE: until the metric reaches VALUE (bounded)
	for _ in $(seq 1 1200); do
		[ "$(metric "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "timed out waiting for $1 >= $2 (now $(metric "$1"))" >&2
	return 1
}
start() { # start CONFIG
	"$work/logmeter" run --config "$1" --log.level warn &
	pid=$!
	for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "logmeter did not become ready" >&2
	return 1
}

echo "== follow one growing file: $lines lines"
mkdir -p "$work/follow"
"$work/genlog" -kind nginx -variant timed -n "$lines" -bad 0.05 -seed 1 -o "$work/lines.log"
: > "$work/follow/access.log"
cat > "$work/follow.yaml" <<YAML
server: {listen: "127.0.0.1:$port"}
inputs:
  - {name: nginx, paths: ["$work/follow/access.log"], format: plain, start_at: beginning}
rules: ["$PWD/bench/nginx-4metrics.yaml"]
state_dir: $work/state-follow
tail: {poll_interval: 100ms}
YAML
start "$work/follow.yaml"
before=$(cpu_seconds "$pid")
# Append in bursts of 10,000 lines, as fast as the disk takes them.
split -l 10000 "$work/lines.log" "$work/chunk."
for c in "$work"/chunk.*; do cat "$c" >> "$work/follow/access.log"; done
wait_for logmeter_lines_read_total "$lines"
after=$(cpu_seconds "$pid")
awk -v n="$lines" -v b="$before" -v a="$after" 'BEGIN {
	c = a - b; if (c <= 0) c = 0.01
	printf "daemon CPU: %.2f s for %d lines = %.0f lines per CPU-second\n", c, n, n / c }'
echo "requests counted: $(metric nginx_http_requests_total)"
kill -TERM "$pid"; wait "$pid" || true

echo "== $files files followed at once"
mkdir -p "$work/many"
for i in $(seq 1 "$files"); do
	head -n 5 "$work/lines.log" > "$work/many/app-$i.log"
done
cat > "$work/many.yaml" <<YAML
server: {listen: "127.0.0.1:$port"}
inputs:
  - {name: many, paths: ["$work/many/*.log"], format: plain, start_at: beginning}
rules: ["$PWD/bench/nginx-4metrics.yaml"]
state_dir: $work/state-many
YAML
start "$work/many.yaml"
wait_for logmeter_files_watched "$files"
wait_for logmeter_lines_read_total $((files * 5))
sleep 1
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
fds=$(ls "/proc/$pid/fd" | wc -l)
echo "files watched: $(metric logmeter_files_watched), RSS: $((rss / 1024)) MiB, open descriptors: $fds"
kill -TERM "$pid"; wait "$pid" || true
