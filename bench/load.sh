#!/usr/bin/env bash
# Measures `logmeter run` under a node's load: FILES container logs (CRI
# format, named as kubelet names them) growing at once, appended to
# round-robin by bench/loadgen.
#
#  1. nginx4: the four-metric nginx rule (bench/nginx-4metrics.yaml) over
#     nginx lines in every file. Two bursts of LINES lines written as fast
#     as loadgen can, first one line per write (as containers write), then
#     BATCH lines of a file per write (the daemon, not the writer, sets the
#     pace): lines per CPU-second of the daemon for each; RSS.
#  2. rules50: 50 rules (bench/nginx-4metrics.yaml + bench/load-rules.yaml)
#     over ten applications' lines whose labels settle at about 10,000
#     series: the same two bursts; series (logmeter_series summed), live Go
#     heap, RSS; then RATE lines/s for DURATION seconds: the daemon's CPU
#     as % of one core; then IDLE seconds without new lines.
#  3. the same paced and idle phases after a restart with
#     tail.poll_interval TUNED_POLL (skipped when empty).
#  4. rules50 with about 200 series (the same lines, one identity per
#     application) and the same bursts: RSS and live heap (HeapAlloc after
#     a forced GC), which, subtracted from those of 2, estimate what the
#     series themselves take.
#  5. one growing file, four-metric rule (bench/daemon.sh) when DAEMON=1.
#  6. forwarding (bench/forward.sh) when FORWARD=1.
# The daemon runs with the production defaults (format auto, default tail
# settings) apart from start_at: beginning, plus --pprof (routes only, to
# read the live heap). CPU is user+system time of the daemon from
# /proc/PID/stat, so other load on the machine does not count; nothing
# scrapes /metrics while CPU is being measured. Before a number is printed,
# logmeter_lines_read_total must have grown by exactly the lines written.
# Results go to stdout; the work directory is removed at the end.
#
#   bench/load.sh                   # FILES=1000 LINES=1000000 RATE=1000 DURATION=60
#   LINES=200000 DURATION=15 IDLE=5 bench/load.sh    # quicker
#
# Environment: FILES, LINES, BATCH (default 100), RATE, DURATION, IDLE
# (default 10), TUNED_POLL (default 1s; empty skips phase 3), DAEMON=1
# (also run bench/daemon.sh), FORWARD=1 (also run bench/forward.sh, with
# FORWARD_LINES as its LINES and OUTAGE passed through), PROFILE=DIR (save
# a CPU profile of each paced phase and a heap profile of the 10k-series
# daemon there, and print their tops), LOGMETER (a prebuilt logmeter
# binary), KEEP=1 (keep the work directory). GOMEMLIMIT and GOGC, when
# set, reach the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${FILES:-1000}
lines=${LINES:-1000000}
rate=${RATE:-1000}
duration=${DURATION:-60}
idle=${IDLE:-10}
tuned=${TUNED_POLL-1s}
batch=${BATCH:-100}
profile=${PROFILE:-}
work=$(mktemp -d)
cleanup() {
	local j
	for j in $(jobs -p); do kill "$j" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "${KEEP:-}" = 1 ]; then echo "work directory: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

logmeter=${LOGMETER:-$work/logmeter}
[ -n "${LOGMETER:-}" ] || go build -o "$logmeter" ./cmd/logmeter
go build -o "$work/loadgen" ./bench/loadgen
port=$("$work/loadgen" port)
hz=$(getconf CLK_TCK)
[ -z "$profile" ] || mkdir -p "$profile"
failed=0

# ---- helpers ---------------------------------------------------------------

scrape() { curl -fsS "http://127.0.0.1:$port/metrics" >"$work/metrics.txt"; }
# m NAME: the sum of a metric's samples in the last scrape.
m() {
	awk -v n="$1" 'index($1, n) == 1 && (length($1) == length(n) || substr($1, length(n) + 1, 1) == "{") { s += $NF }
		END { printf "%.0f\n", s }' "$work/metrics.txt"
}
# rule_samples: samples of rule metrics (everything but logmeter_, go_,
# process_ and promhttp_) in the last scrape.
rule_samples() { grep -Evc '^(#|logmeter_|go_|process_|promhttp_)' "$work/metrics.txt" || true; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }
rss_file_kib() { awk '/^RssFile/ { print $2 }' "/proc/$pid/status"; }
# live_heap: bytes of live Go heap (HeapAlloc right after a forced GC, from
# the --pprof endpoint).
live_heap() {
	curl -fsS "http://127.0.0.1:$port/debug/pprof/heap?gc=1&debug=1" | awk '/^# HeapAlloc = / { print $4 }'
}
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$pid/status"; }
rchar() { awk '/^rchar/ { print $2 }' "/proc/$pid/io"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf $1 }"; }
bytes_in() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }'; }

# start NAME DIR POLL RULES...: starts the daemon on DIR's files with its
# state in $work/state-NAME; POLL empty keeps the default poll interval.
start() {
	local name=$1 dir=$2 poll=$3
	shift 3
	local rules=""
	for r in "$@"; do rules="$rules\"$PWD/$r\", "; done
	{
		echo "server: {listen: \"127.0.0.1:$port\"}"
		echo "inputs:"
		echo "  - {name: containers, paths: [\"$dir/*.log\"], format: auto, start_at: beginning}"
		echo "rules: [${rules%, }]"
		echo "state_dir: $work/state-$name"
		[ -z "$poll" ] || echo "tail: {poll_interval: $poll}"
	} >"$work/$name.yaml"
	# --pprof only adds the /debug/pprof/ routes (used for live_heap).
	"$logmeter" run --config "$work/$name.yaml" --log.level warn --pprof 2>>"$work/daemon.log" &
	pid=$!
	for _ in $(seq 1 300); do
		if scrape 2>/dev/null && [ "$(m logmeter_files_watched)" -ge "$files" ]; then return 0; fi
		sleep 0.1
	done
	echo "logmeter did not start following $files files; its log:" >&2
	tail -n 20 "$work/daemon.log" >&2
	exit 1
}
stop() { kill -TERM "$pid"; wait "$pid" || true; }

# verify WHAT EXPECTED: logmeter_lines_read_total grew by EXPECTED since
# read_base (waits up to 60 s for stragglers, scraping once a second).
verify() {
	local got
	for _ in $(seq 1 60); do
		scrape
		got=$(($(m logmeter_lines_read_total) - read_base))
		[ "$got" -ge "$2" ] && break
		sleep 1
	done
	if [ "$got" -ne "$2" ]; then
		echo "!! $1: the daemon read $got lines of $2 written" >&2
		failed=1
		return 1
	fi
	echo "   $1: lines read $got = lines written"
}

# burst DIR ARGS...: writes LINES lines as fast as loadgen can and waits
# until the daemon has read every byte and gone idle; sets burst_cpu (daemon
# CPU seconds) and burst_wall.
burst() {
	local dir=$1
	shift
	local c0 t0 r0 size0 target a b
	size0=$(bytes_in "$dir")
	r0=$(rchar)
	c0=$(cpu_ticks)
	t0=$(now)
	"$work/loadgen" write -dir "$dir" -files "$files" -lines "$lines" "$@"
	target=$(($(bytes_in "$dir") - size0))
	# Done when the daemon has read at least the bytes written (rchar also
	# counts a few re-reads of files' first KiB) and used < 10% of a core
	# for half a second.
	for _ in $(seq 1 1200); do
		a=$(cpu_ticks)
		sleep 0.5
		b=$(cpu_ticks)
		if [ $(($(rchar) - r0)) -ge "$target" ] && [ $((b - a)) -le $((hz / 20)) ]; then break; fi
	done
	burst_cpu=$(calc "\"%.2f\", ($b - $c0) / $hz")
	burst_wall=$(calc "\"%.1f\", $(now) - $t0")
}

# paced DIR FROM ARGS...: RATE lines/s for DURATION s; sets paced_pct (CPU as
# % of one core over the window, which ends 1 s after the last line).
paced() {
	local dir=$1 from=$2
	shift 2
	local c0 t0 c1 t1 ppid=""
	if [ -n "$profile" ]; then
		local secs=$((duration > 35 ? 30 : duration > 10 ? duration - 5 : 5))
		curl -fsS -o "$profile/cpu-$phase.pprof" "http://127.0.0.1:$port/debug/pprof/profile?seconds=$secs" &
		ppid=$!
	fi
	c0=$(cpu_ticks)
	t0=$(now)
	"$work/loadgen" write -dir "$dir" -files "$files" -lines $((rate * duration)) -rate "$rate" -from "$from" "$@"
	sleep 1
	c1=$(cpu_ticks)
	t1=$(now)
	[ -z "$ppid" ] || wait "$ppid" || true
	paced_cpu=$(calc "\"%.2f\", ($c1 - $c0) / $hz")
	paced_pct=$(calc "\"%.2f\", ($c1 - $c0) / $hz / ($t1 - $t0) * 100")
	paced_wall=$(calc "\"%.1f\", $t1 - $t0")
}

# idle_pct: CPU as % of one core over IDLE seconds without new lines.
idle_pct() {
	local c0 t0
	c0=$(cpu_ticks)
	t0=$(now)
	sleep "$idle"
	calc "\"%.2f\", ($(cpu_ticks) - $c0) / $hz / ($(now) - $t0) * 100"
}

mib() { calc "\"%.1f\", $1 / 1024"; }
kps() { calc "\"%.0f\", $1 / $2 / 1000"; } # thousands of lines per CPU-second

rules50=(bench/nginx-4metrics.yaml bench/load-rules.yaml)
echo "logmeter load test: $files files, bursts of $lines lines, $rate lines/s for $duration s"

# bursts NAME DIR LOADGEN-ARGS...: a burst of LINES lines written one line
# per write, then one written BATCH lines of a file per write; sets
# NAME_kps1, NAME_kps2 (thousands of lines per daemon CPU-second).
bursts() {
	local name=$1 dir=$2
	shift 2
	read_base=0
	burst "$dir" "$@"
	verify "$name, one line per write" "$lines" || true
	printf -v "${name}_kps1" %s "$(kps "$lines" "$burst_cpu")"
	echo "   one line per write: daemon CPU ${burst_cpu} s in ${burst_wall} s: $(kps "$lines" "$burst_cpu")k lines per CPU-second"
	read_base=$(m logmeter_lines_read_total)
	burst "$dir" -from "$lines" -batch "$batch" "$@"
	verify "$name, $batch lines per write" "$lines" || true
	printf -v "${name}_kps2" %s "$(kps "$lines" "$burst_cpu")"
	echo "   $batch lines per write: daemon CPU ${burst_cpu} s in ${burst_wall} s: $(kps "$lines" "$burst_cpu")k lines per CPU-second"
}

# ---- 1. four-metric nginx rule -------------------------------------------------
phase=nginx4
echo "== 1. four-metric nginx rule, $files files of nginx lines"
"$work/loadgen" files -dir "$work/nginx/containers" -files "$files" -mix nginx
start nginx4 "$work/nginx/containers" "" bench/nginx-4metrics.yaml
bursts n4 "$work/nginx/containers" -mix nginx
n4_rss=$(rss_kib)
echo "   RSS $(mib "$n4_rss") MiB"
stop
rm -rf "$work/nginx"

# ---- 2. 50 rules, about 10,000 series ---------------------------------------------
phase=rules50
echo "== 2. 50 rules, ten applications, about 10,000 series"
dir=$work/apps/containers
"$work/loadgen" files -dir "$dir" -files "$files"
start rules50 "$dir" "" "${rules50[@]}"
bursts hi "$dir"
hi_series=$(m logmeter_series)
hi_samples=$(rule_samples)
sleep 1
hi_rss=$(rss_kib)
hi_file=$(rss_file_kib)
hi_heap=$(live_heap)
echo "   series (logmeter_series summed): $hi_series ($hi_samples samples exposed); RSS $(mib "$hi_rss") MiB ($(mib "$hi_file") MiB of it the executable's pages); live heap $(mib $((hi_heap / 1024))) MiB"
[ -z "$profile" ] || curl -fsS -o "$profile/heap-rules50.pprof" "http://127.0.0.1:$port/debug/pprof/heap"

written=$((2 * lines))
read_base=$(m logmeter_lines_read_total)
paced "$dir" "$written"
verify "rules50 paced" $((rate * duration)) || true
def_pct=$paced_pct
echo "   $((rate * duration)) lines at $rate lines/s: daemon CPU ${paced_cpu} s in ${paced_wall} s = ${def_pct}% of a core (default poll interval)"
def_idle=$(idle_pct)
echo "   no new lines for $idle s: ${def_idle}% of a core"
scrape
hi_series_end=$(m logmeter_series)
hi_rss_end=$(rss_kib)
hi_hwm=$(hwm_kib)
echo "   at the end: series $hi_series_end, RSS $(mib "$hi_rss_end") MiB (peak $(mib "$hi_hwm") MiB)"
stop
written=$((written + rate * duration))

# ---- 3. tuned poll interval ---------------------------------------------------------
tun_pct="" tun_idle=""
if [ -n "$tuned" ]; then
	phase=tuned
	echo "== 3. the same after a restart with tail.poll_interval $tuned"
	start rules50 "$dir" "$tuned" "${rules50[@]}"
	read_base=$(m logmeter_lines_read_total)
	paced "$dir" "$written"
	verify "tuned paced" $((rate * duration)) || true
	tun_pct=$paced_pct
	echo "   $((rate * duration)) lines at $rate lines/s: daemon CPU ${paced_cpu} s in ${paced_wall} s = ${tun_pct}% of a core"
	tun_idle=$(idle_pct)
	echo "   no new lines for $idle s: ${tun_idle}% of a core"
	stop
fi
rm -rf "$work/apps"

# ---- 4. 50 rules, about 200 series --------------------------------------------------
phase=rules50low
echo "== 4. 50 rules, the same lines with one identity per application (about 200 series)"
dir=$work/low/containers
"$work/loadgen" files -dir "$dir" -files "$files" -series low
start rules50low "$dir" "" "${rules50[@]}"
bursts lo "$dir" -series low
lo_series=$(m logmeter_series)
sleep 1
lo_rss=$(rss_kib)
lo_heap=$(live_heap)
echo "   series: $lo_series; RSS $(mib "$lo_rss") MiB; live heap $(mib $((lo_heap / 1024))) MiB"
stop
rm -rf "$work/low"

# ---- 5. one file, four metrics (bench/daemon.sh) ------------------------------------
one="run bench/daemon.sh"
if [ "${DAEMON:-}" = 1 ]; then
	echo "== 5. one growing file, four-metric nginx rule: bench/daemon.sh"
	# daemon.sh reads LINES and FILES too: give it its defaults.
	env -u LINES -u FILES bash bench/daemon.sh | tee "$work/daemon.out" || echo "!! bench/daemon.sh failed" >&2
	one=$(awk '/lines per CPU-second/ { for (i = 1; i <= NF; i++) if ($i == "lines" && $(i+1) == "per" && $(i+2) == "CPU-second") print $(i-1) }' "$work/daemon.out")
	one=$(calc "\"%.0fk\", ${one:-0} / 1000")
else
	echo "== 5. one growing file, four-metric nginx rule: not run (DAEMON=1 runs bench/daemon.sh)"
fi

# ---- 6. forwarding ------------------------------------------------------------------
fwd="run bench/forward.sh (needs the test Elasticsearch server)"
if [ "${FORWARD:-}" = 1 ]; then
	echo "== 6. forwarding: bench/forward.sh"
	# forward.sh reads LINES and RATE too: give it its own (FORWARD_LINES).
	env -u LINES -u RATE ${FORWARD_LINES:+LINES=$FORWARD_LINES} bash bench/forward.sh | tee "$work/forward.out" ||
		echo "!! bench/forward.sh failed" >&2
	fwd=$(awk '/docs per CPU-second/ { for (i = 1; i <= NF; i++) if ($i == "docs" && $(i+1) == "per" && $(i+2) == "CPU-second;") print $(i-1) }' "$work/forward.out")
	fwd="${fwd:-see above} docs per CPU-second"
else
	echo "== 6. forwarding: not run (FORWARD=1 runs bench/forward.sh, which needs the test Elasticsearch server)"
fi

# ---- results ------------------------------------------------------------------------
dseries=$((hi_series > lo_series ? hi_series - lo_series : 1))
status() { if awk "BEGIN { exit !($1) }"; then echo met; else echo MISSED; fi; }
echo
echo "== results"
echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(go env GOVERSION), $(date -u +%Y-%m-%d)"
echo
echo "| measure | result | goal | |"
echo "|---|---|---|---|"
echo "| lines per CPU-second, four-metric nginx rule, one file (bench/daemon.sh) | $one | >= 150k | $([ "$one" = "run bench/daemon.sh" ] || status "${one%k} >= 150") |"
echo "| lines per CPU-second, four-metric nginx rule, $files files, one line per write | ${n4_kps1}k | >= 150k | $(status "$n4_kps1 >= 150") |"
echo "| the same, $batch lines of a file per write | ${n4_kps2}k | >= 150k | $(status "$n4_kps2 >= 150") |"
echo "| lines per CPU-second, 50 rules, $files files, $hi_series series, one line per write | ${hi_kps1}k | (reported) | |"
echo "| the same, $batch lines of a file per write | ${hi_kps2}k | (reported) | |"
echo "| lines per CPU-second, 50 rules, $lo_series series, one line / $batch lines per write | ${lo_kps1}k / ${lo_kps2}k | (reported) | |"
echo "| RSS, $files files, 50 rules, $hi_series series, after the bursts | $(mib "$hi_rss") MiB, of it $(mib "$hi_file") MiB the executable's pages | < 64 MiB | $(status "$hi_rss < 65536") |"
echo "| RSS at the end (after the paced and idle phases; peak) | $(mib "$hi_rss_end") MiB ($(mib "$hi_hwm") MiB) | < 64 MiB | $(status "$hi_rss_end < 65536") |"
echo "| series memory, RSS($hi_series series) - RSS($lo_series series) | $(calc "\"%.1f MiB, %.0f bytes per series\", ($hi_rss - $lo_rss) / 1024, ($hi_rss - $lo_rss) * 1024 / $dseries") | | |"
echo "| series memory, live Go heap after a forced GC, same difference | $(calc "\"%.1f MiB, %.0f bytes per series\", ($hi_heap - $lo_heap) / 1048576, ($hi_heap - $lo_heap) / $dseries") | | |"
echo "| CPU at $rate lines/s, default poll interval | ${def_pct}% of a core | < 2% | $(status "$def_pct < 2") |"
echo "| CPU with no new lines, default poll interval | ${def_idle}% of a core | | |"
if [ -n "$tuned" ]; then
	echo "| CPU at $rate lines/s, tail.poll_interval $tuned | ${tun_pct}% of a core | < 2% | $(status "$tun_pct < 2") |"
	echo "| CPU with no new lines, tail.poll_interval $tuned | ${tun_idle}% of a core | | |"
fi
echo "| forwarding, docs per CPU-second | $fwd | | |"

if [ -n "$profile" ]; then
	for p in "$profile"/*.pprof; do
		echo
		echo "== top of $p"
		go tool pprof -top -nodecount=15 "$logmeter" "$p" 2>/dev/null | sed -n '1,25p'
	done
fi
if [ "$failed" = 1 ]; then
	echo "!! some phase did not read every line written; see above" >&2
	exit 1
fi
