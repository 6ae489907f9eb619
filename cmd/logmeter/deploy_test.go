package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logmeter/logmeter/pkg/config"
	"github.com/logmeter/logmeter/pkg/metrics"
)

// TestDeployConfig checks that deploy/ carries a valid configuration and
// the shipped rules, unchanged (kustomize reads files only from below its
// own directory, so deploy/rules holds copies).
func TestDeployConfig(t *testing.T) {
	root := filepath.Join("..", "..")
	t.Setenv("NODE_NAME", "node-1")
	for _, cfg := range []string{"logmeter.yaml", "events/logmeter-events.yaml"} {
		if _, err := config.LoadDaemon(filepath.Join(root, "deploy", cfg)); err != nil {
			t.Fatalf("deploy/%s: %v", cfg, err)
		}
	}
	shipped, err := filepath.Glob(filepath.Join(root, "rules", "*.yaml"))
	if err != nil || len(shipped) == 0 {
		t.Fatalf("no shipped rules: %v", err)
	}
	for _, p := range shipped {
		if config.IsRuleTestFile(p) {
			continue // rule unit tests are not deployed
		}
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(root, "deploy", "rules", filepath.Base(p)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("deploy/rules/%s differs from rules/%s (copy it again)", filepath.Base(p), filepath.Base(p))
		}
	}
	for _, p := range []string{"kubernetes-events.yaml"} {
		want, _ := os.ReadFile(filepath.Join(root, "rules", p))
		got, err := os.ReadFile(filepath.Join(root, "deploy", "events", "rules", p))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("deploy/events/rules/%s differs from rules/%s (copy it again)", p, p)
		}
	}
	self, err := metrics.NewSelf(prometheus.NewRegistry(), "test", "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadProgram([]string{filepath.Join(root, "deploy", "rules", "*.yaml")}, metrics.NewRegistry(self), self); err != nil {
		t.Errorf("deploy rules: %v", err)
	}
}
