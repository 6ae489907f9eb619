#!/usr/bin/env bash
# Builds logmeter's container image without a Docker daemon: a static
# binary with the version stamped in, then buildah (installed from Debian
# when missing) with vfs storage and chroot isolation. With --check it then
# runs `logmeter --version` and `logmeter check` on the shipped rules and
# the default configuration inside the image.
#
#   scripts/build-image.sh [--check] [VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
version=${1:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)

if ! command -v buildah >/dev/null; then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq buildah >/dev/null
fi

mkdir -p build
CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X main.version=$version -X main.buildRevision=$revision" \
	-o build/logmeter ./cmd/logmeter
cp /etc/ssl/certs/ca-certificates.crt build/ca-certificates.crt

b() { buildah --storage-driver vfs "$@"; }
b bud --isolation chroot --quiet -t "logmeter:$version" . >/dev/null
echo "built logmeter:$version"

if [ "$check" = 1 ]; then
	ctr=$(b from "logmeter:$version")
	trap 'b rm "$ctr" >/dev/null 2>&1 || true' EXIT
	b run --isolation chroot "$ctr" -- /bin/logmeter version
	b run --isolation chroot "$ctr" -- /bin/logmeter check --rules '/etc/logmeter/rules/*.yaml'
	b run --isolation chroot --env NODE_NAME=node-1 "$ctr" -- /bin/logmeter check --config /etc/logmeter/logmeter.yaml
fi
