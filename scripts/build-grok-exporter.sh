#!/usr/bin/env bash
# Builds grok_exporter from the Go module pinned in test/grokexporter into a
# cache directory outside the repository and prints that directory (it
# holds the executable grok_exporter).
#
# grok_exporter needs cgo and the Oniguruma regular expression library:
# on Debian, apt-get install -y gcc libonig-dev. The binary links
# libonig dynamically, so the library's version is part of the cache key,
# together with grok_exporter's version, the Go version and target, this
# script and test/grokexporter's module files. Override the cache base with
# GROK_EXPORTER_CACHE_DIR (default: ${XDG_CACHE_HOME:-$HOME/.cache}/logmeter).
#
# A cold build downloads about 5 MB of modules and takes under a minute on
# two cores. Only the directory goes to stdout; build output goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/../test/grokexporter"
. ../../scripts/lib/cached-build.sh

export GOWORK=off
export GOFLAGS="-mod=readonly -buildvcs=false -trimpath"
export CGO_ENABLED=1

# Read the version from go.mod itself: on a cache hit nothing needs the
# module cache or the network.
version=$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/fstab/grok_exporter" && $(i+1) ~ /^v/) { print $(i+1); exit } }' go.mod)
if [ -z "$version" ]; then
	echo "build-grok-exporter: cannot read the github.com/fstab/grok_exporter version from test/grokexporter/go.mod" >&2
	exit 1
fi
go_version=$(go env GOVERSION GOOS GOARCH CC | tr '\n' ' ')
onig_version=$(pkg-config --modversion oniguruma 2>/dev/null || echo unknown)

key=$(cache_key "$version $go_version onig $onig_version" ../../scripts/build-grok-exporter.sh go.mod go.sum *.go)

base="${GROK_EXPORTER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/logmeter}"
dir="$base/grok_exporter-${version}-${key}"

built() {
	[ -x "$dir/grok_exporter" ]
}

build() {
	# Another process may have finished the build while we waited.
	if built; then
		return
	fi
	echo "build-grok-exporter: building grok_exporter $version into $dir" >&2
	start=$(date +%s)
	if ! go build -ldflags="-s -w -X github.com/fstab/grok_exporter/exporter.Version=${version#v}" \
		-o "$dir/grok_exporter.tmp.$$" github.com/fstab/grok_exporter >&2; then
		echo "build-grok-exporter: the build failed; grok_exporter needs cgo, a C compiler and Oniguruma's headers (Debian: apt-get install -y gcc libonig-dev)" >&2
		exit 1
	fi
	mv -f "$dir/grok_exporter.tmp.$$" "$dir/grok_exporter"
	echo "build-grok-exporter: built in $(($(date +%s) - start))s" >&2
}

if ! built; then
	build_once "$dir" build
fi
echo "$dir"
