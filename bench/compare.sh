#!/usr/bin/env bash
# Compares logmeter's matching throughput with mtail's on the same work:
# nginx access-log lines (the timed format, about 5% of them lines no rule
# matches) turned into four metrics, bench/nginx-4metrics.yaml for logmeter
# and bench/nginx-4metrics.mtail for mtail. Each tool reads the whole file
# once (`logmeter test`, `mtail --one_shot`); the score is lines per
# CPU-second (user + system), so the number of cores does not matter.
#
#   bench/compare.sh                 # from anywhere inside the repository
#   LINES=200000 bench/compare.sh    # a quicker run
#
# Environment: LINES (default 1000000), BAD (fraction of non-matching lines,
# default 0.05), SEED (default 1), LOGMETER (a logmeter binary to use
# instead of building ./cmd/logmeter), KEEP=1 keeps the work directory.
# Needs Go; installs mtail (Debian/Ubuntu package) and GNU time if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

lines=${LINES:-1000000}
bad=${BAD:-0.05}
seed=${SEED:-1}

install() {
	local sudo=
	if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
	echo "installing $*" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
command -v mtail >/dev/null || install mtail
[ -x /usr/bin/time ] || install time

work=$(mktemp -d)
if [ "${KEEP:-}" = 1 ]; then
	echo "work directory: $work" >&2
else
	trap 'rm -rf "$work"' EXIT
fi

logmeter=${LOGMETER:-$work/logmeter}
[ -n "${LOGMETER:-}" ] || go build -o "$logmeter" ./cmd/logmeter
go build -o "$work/genlog" ./bench/genlog
"$work/genlog" -kind nginx -variant timed -n "$lines" -bad "$bad" -seed "$seed" -o "$work/access.log"
mkdir "$work/progs"
cp bench/nginx-4metrics.mtail "$work/progs/"

# measure NAME CMD...: runs CMD with stdout to $work/NAME.out and prints
# "user system elapsed" seconds.
measure() {
	local name=$1
	shift
	/usr/bin/time -f '%U %S %e' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
		echo "$name failed:" >&2
		tail -n 20 "$work/$name.err" >&2
		exit 1
	}
	cat "$work/$name.time"
}

read -r lu ls le < <(measure logmeter "$logmeter" test --rules bench/nginx-4metrics.yaml "$work/access.log")
read -r mu ms me < <(measure mtail mtail --one_shot --one_shot_format prometheus --logtostderr \
	--progs "$work/progs" --logs "$work/access.log")

# Both must have counted the same requests, or the comparison is meaningless.
requests() { awk '/^nginx_http_requests_total[{ ]/ { n += $NF } END { printf "%d\n", n }' "$1"; }
lr=$(requests "$work/logmeter.out")
mr=$(requests "$work/mtail.out")

awk -v n="$lines" -v lu="$lu" -v ls="$ls" -v le="$le" -v mu="$mu" -v ms="$ms" -v me="$me" \
	-v lr="$lr" -v mr="$mr" 'BEGIN {
	lc = lu + ls; mc = mu + ms
	if (lc <= 0) lc = 0.01
	if (mc <= 0) mc = 0.01
	printf "%d lines, %s of them counted by logmeter, %s by mtail\n", n, lr, mr
	printf "%-9s %8s %8s %8s %16s\n", "", "user s", "sys s", "wall s", "lines/CPU-second"
	printf "%-9s %8.2f %8.2f %8.2f %16.0f\n", "logmeter", lu, ls, le, n / lc
	printf "%-9s %8.2f %8.2f %8.2f %16.0f\n", "mtail", mu, ms, me, n / mc
	printf "logmeter/mtail: %.2fx\n", (n / lc) / (n / mc)
}'
if [ "$lr" != "$mr" ]; then
	echo "warning: the two tools counted different numbers of requests" >&2
	exit 1
fi
