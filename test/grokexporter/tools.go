//go:build tools

// Package grokexporter pins grok_exporter, the program that
// `logmeter import grok_exporter` migrates from, so that go.mod and go.sum
// list everything it is built from. The build tag keeps this file out of
// every build; scripts/build-grok-exporter.sh builds the program itself:
//
//	CGO_ENABLED=1 go build github.com/fstab/grok_exporter
//
// test/e2e runs it next to `logmeter test` on the same configurations and
// logs and compares their metrics.
package grokexporter

import _ "github.com/fstab/grok_exporter"
