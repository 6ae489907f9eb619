#!/usr/bin/env bash
# Regenerates examples/logs: the synthetic logs and, for each, the
# .expected file with the samples its rule file must produce, computed by
# bench/genlog/expect (independently of logmeter).
#
#   bench/genlog/examples.sh        # from the repository root
#
# Output is deterministic: running it again must leave the tree unchanged.
set -euo pipefail
cd "$(dirname "$0")/../.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/genlog" ./bench/genlog
go build -o "$tmp/expect" ./bench/genlog/expect

out=examples/logs
mkdir -p "$out/containers"

# gen NAME KIND FLAGS...: writes $out/NAME.log and $out/NAME.expected.
gen() {
	local name=$1 kind=$2
	shift 2
	"$tmp/genlog" "$@" -o "$out/$name.log"
	"$tmp/expect" -kind "$kind" "$out/$name.log" >"$out/$name.expected"
}

gen nginx-combined nginx -kind nginx -variant combined -n 1200 -seed 1 -bad 0.03
# Starts in the combined format; after a reload, a tenth of the way in,
# nginx writes the timed format: both rules of rules/nginx.yaml are needed.
gen nginx-timed nginx -kind nginx -variant reload -n 1500 -seed 2 -bad 0.03
# The same lines as nginx-timed.log, as the kubelet stores them for a pod
# (CRI, containerd) and as docker's json-file driver does, with a few lines
# split into partial records.
gen containers/web-7d4b9c6f5-x2x9k_shop_nginx-3f5a0e9c1d7b4a2e8c6f0b1d9e7a5c3b2f4d6e8a0c1b3d5f7e9a2c4b6d8f0e1a nginx \
	-kind nginx -variant reload -n 1500 -seed 2 -bad 0.03 -format cri -partial 0.03
gen containers/web-7d4b9c6f5-m4p7t_shop_nginx-9b2d4f6a8c0e1f3a5b7c9d0e2f4a6b8c1d3e5f7a9b0c2d4e6f8a1b3c5d7e9f0a2b nginx \
	-kind nginx -variant reload -n 1500 -seed 2 -bad 0.03 -format docker -partial 0.03
gen apache-access apache -kind apache -n 1000 -seed 3 -bad 0.03
gen kubelet kubernetes -kind klog -n 1200 -seed 4 -bad 0.03
seed=5
for k in zap slog logrus logback log4j; do
	gen "app-$k" app -kind "app-$k" -n 400 -seed $seed -bad 0.02
	seed=$((seed + 1))
done
# zap's console encoder (tab-separated), logback's and log4j 2's default
# console pattern (time without date) and Spring Boot's ECS JSON.
for k in zap-console logback-console ecs; do
	gen "app-$k" app -kind "app-$k" -n 400 -seed $seed -bad 0.02
	seed=$((seed + 1))
done
