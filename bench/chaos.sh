#!/usr/bin/env bash
# The chaos test's long form (TestChaos in test/e2e): an nginx access log
# grows at a steady rate and is rotated (rename and copytruncate,
# alternately) while logmeter, counting it with rules/nginx.yaml and
# forwarding it to the test Elasticsearch server, is killed with SIGKILL
# CHAOS_KILLS times at random moments and the server is stopped once for
# CHAOS_OUTAGE. Prints the test's report lines; exits non-zero when a check
# failed (a lost line, a counter off, too many documents sent again).
#
#   bench/chaos.sh                                   # CHAOS_KILLS=20 CHAOS_OUTAGE=30s
#   CHAOS_SEED=42 bench/chaos.sh                     # the same schedule again
#   CHAOS_KILLS=50 CHAOS_OUTAGE=60s CHAOS_RATE=1000 bench/chaos.sh
#
# Other knobs: CHAOS_RATE (lines/s, 300), CHAOS_ROTATIONS (one per 6 s of
# writing), CHAOS_DURATION (writing time, 5 s per kill plus the outage).
set -euo pipefail
cd "$(dirname "$0")/.."
export CHAOS_KILLS="${CHAOS_KILLS:-20}"
export CHAOS_OUTAGE="${CHAOS_OUTAGE:-30s}"

# The test server is built (or found in its cache) before the test starts,
# so the build does not count against the test's time limit.
ESSERVER_BIN="${ESSERVER_BIN:-$(bash scripts/build-esserver.sh)}"
export ESSERVER_BIN

log=$(mktemp "${TMPDIR:-/tmp}/logmeter-chaos.XXXXXX")
status=0
go test ./test/e2e -run '^TestChaos$' -v -count=1 -timeout 30m 2>&1 |
	tee "$log" | sed -u -n 's/^ *chaos_test\.go:[0-9]*: chaos: //p' || status=$?
if [ "$status" -ne 0 ] || ! grep -q '^--- PASS: TestChaos' "$log"; then
	echo "== TestChaos failed; its checks:"
	grep -E '^ *chaos(_helpers)?_test\.go:[0-9]+: ' "$log" | grep -v ': chaos: ' || true
	echo "== the whole output (logmeter's and the server's logs too): $log"
	exit 1
fi
rm -f "$log"
