#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when missing:
#   prometheus   the Prometheus server and promtool (end-to-end scrape
#                tests, dashboard queries, alert rule tests)
#   libonig-dev  Oniguruma, and gcc, for building grok_exporter with cgo
#                (migration tests)
#   buildah      builds and runs the container image without a daemon
# Services the packages ship are not started.
set -euo pipefail

missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v promtool >/dev/null || missing+=(prometheus)
[ -e /usr/include/oniguruma.h ] || missing+=(libonig-dev)
command -v gcc >/dev/null || missing+=(gcc)
command -v buildah >/dev/null || missing+=(buildah)
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
# A policy-rc.d that refuses every start keeps the packages' services
# (prometheus) from starting during installation; one already present is
# left alone.
policy=/usr/sbin/policy-rc.d
added_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
	$sudo chmod 755 "$policy"
	added_policy=1
fi
cleanup() {
	if [ -n "$added_policy" ]; then
		$sudo rm -f "$policy"
	fi
}
trap cleanup EXIT

echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
