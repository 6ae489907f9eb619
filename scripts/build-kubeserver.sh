#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kubectl from the Go modules pinned in
# test/kubeserver into a cache directory outside the repository and prints
# that directory (it holds the executables kube-apiserver, etcd and kubectl).
#
# The cache key covers the Kubernetes and etcd versions, the Go version and
# target, this script, and test/kubeserver's module files, so a build
# happens only when one of those changes. Override the cache base with
# KUBESERVER_CACHE_DIR (default: ${XDG_CACHE_HOME:-$HOME/.cache}/logmeter).
#
# A cold build downloads about 570 MB of modules and takes about 6 minutes
# on two cores. Only the directory goes to stdout; build output goes to
# stderr.
set -euo pipefail
cd "$(dirname "$0")/../test/kubeserver"
. ../../scripts/lib/cached-build.sh

export GOWORK=off
export GOFLAGS="-mod=readonly -buildvcs=false -trimpath"
export CGO_ENABLED=0

# Read the versions from go.mod itself: on a cache hit nothing needs the
# module cache or the network.
mod_version() {
	awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit }' go.mod
}
kube_version=$(mod_version k8s.io/kubernetes)
etcd_version=$(mod_version go.etcd.io/etcd/server/v3)
if [ -z "$kube_version" ] || [ -z "$etcd_version" ]; then
	echo "build-kubeserver: cannot read the k8s.io/kubernetes and etcd versions from test/kubeserver/go.mod" >&2
	exit 1
fi
go_version=$(go env GOVERSION GOOS GOARCH | tr '\n' ' ')

key=$(cache_key "$kube_version $etcd_version $go_version" ../../scripts/build-kubeserver.sh go.mod go.sum *.go)

base="${KUBESERVER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/logmeter}"
dir="$base/kubeserver-${kube_version}-${key}"

built() {
	[ -x "$dir/kube-apiserver" ] && [ -x "$dir/etcd" ] && [ -x "$dir/kubectl" ]
}

build() {
	# Another process may have finished the build while we waited.
	if built; then
		return
	fi
	echo "build-kubeserver: building kube-apiserver and kubectl $kube_version and etcd $etcd_version into $dir (a cold build takes several minutes)" >&2
	start=$(date +%s)
	# Without these the server reports version v0.0.0.
	minor=${kube_version#v*.}
	minor=${minor%%.*}
	ldflags="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags="$ldflags -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
	done
	go build -ldflags="$ldflags" -o "$dir/kube-apiserver.tmp.$$" k8s.io/kubernetes/cmd/kube-apiserver >&2
	go build -ldflags="$ldflags" -o "$dir/kubectl.tmp.$$" k8s.io/kubernetes/cmd/kubectl >&2
	go build -ldflags="-s -w" -o "$dir/etcd.tmp.$$" go.etcd.io/etcd/server/v3 >&2
	mv -f "$dir/etcd.tmp.$$" "$dir/etcd"
	mv -f "$dir/kubectl.tmp.$$" "$dir/kubectl"
	mv -f "$dir/kube-apiserver.tmp.$$" "$dir/kube-apiserver"
	echo "build-kubeserver: built in $(($(date +%s) - start))s" >&2
}

if ! built; then
	build_once "$dir" build
fi
echo "$dir"
