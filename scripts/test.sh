#!/usr/bin/env bash
# The whole test suite: static checks, then every package's tests with the
# race detector off (2-core machines) and a short randomized fuzz pass.
# It installs what it needs itself, so it runs on a clean checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

export GOFLAGS="${GOFLAGS:--buildvcs=false}"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

# Debian packages: Prometheus and promtool, Oniguruma (for grok_exporter),
# buildah.
echo "== packages"
./scripts/install-deps.sh

# The test servers (Kubernetes API server, etcd and kubectl; the
# Elasticsearch-compatible server; grok_exporter) are built from Go modules
# into a cache outside the repository; a cold build takes minutes, so it
# happens here rather than inside a test's time limit.
echo "== test servers"
./scripts/build-kubeserver.sh >/dev/null
./scripts/build-esserver.sh >/dev/null
./scripts/build-grok-exporter.sh >/dev/null

echo "== go test"
go test -count=1 -timeout 20m ./...

# A short fuzzing pass over the parsers of untrusted input (log lines,
# configuration, rule files, patterns and templates); the committed corpora
# run as plain tests above already.
echo "== short fuzz"
for target in "FuzzMatch ./pkg/match" "FuzzDecodeCRI ./pkg/tail" "FuzzDecodeDocker ./pkg/tail" \
	"FuzzDecodeAuto ./pkg/tail" "FuzzMultiline ./pkg/tail" "FuzzParseDaemon ./pkg/config" \
	"FuzzParseRuleFile ./pkg/config" "FuzzRuleFile ./pkg/metrics" "FuzzTemplate ./pkg/metrics"; do
	set -- $target
	go test -run '^$' -fuzz "^$1\$" -fuzztime 8s "$2"
done

# The container image builds without a Docker daemon and its binary runs:
# version, and check on the shipped rules and default configuration.
echo "== image"
./scripts/build-image.sh --check
