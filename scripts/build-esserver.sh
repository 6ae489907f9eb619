#!/usr/bin/env bash
# Builds test/esserver, the test-only Elasticsearch-compatible server, into a
# cache directory outside the repository and prints the binary's path.
#
# The cache key covers the pinned zincsearch version, the Go version and
# target, this script, and every source file of test/esserver, so a build happens only
# when one of those changes. Override the cache base with ESSERVER_CACHE_DIR
# (default: ${XDG_CACHE_HOME:-$HOME/.cache}/logmeter).
#
# Only the binary path goes to stdout; build output goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/../test/esserver"
. ../../scripts/lib/cached-build.sh

export GOWORK=off
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0

zinc_version=$(go list -m -f '{{.Version}}' github.com/zincsearch/zincsearch)
go_version=$(go env GOVERSION GOOS GOARCH | tr '\n' ' ')

# This script's build flags are part of the key too.
src_hash=$(cache_key "$zinc_version $go_version" ../../scripts/build-esserver.sh \
	$(find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print | LC_ALL=C sort))

base="${ESSERVER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/logmeter}"
dir="$base/esserver-zinc${zinc_version}-${src_hash}"
bin="$dir/esserver"

build() {
	# Another process may have finished the build while we waited.
	if [ -x "$bin" ]; then
		return
	fi
	echo "build-esserver: building $bin (zincsearch $zinc_version; the first build takes a few minutes)" >&2
	start=$(date +%s)
	tmp="$bin.tmp.$$"
	go build -trimpath -ldflags="-s -w" -o "$tmp" . >&2
	mv -f "$tmp" "$bin"
	echo "build-esserver: built in $(($(date +%s) - start))s" >&2
}

if [ ! -x "$bin" ]; then
	build_once "$dir" build
fi
echo "$bin"
