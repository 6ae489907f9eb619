package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// samples parses Prometheus text output into "name{labels}" -> value,
// leaving out comments and histogram buckets (the .expected files list
// counts and sums only).
func samples(t *testing.T, text string, withSelf bool) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad sample line %q", line)
		}
		name := line[:i]
		if strings.Contains(name, "_bucket{") || (!withSelf && strings.HasPrefix(name, "logmeter_")) {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad value in %q: %v", line, err)
		}
		out[name] = v
	}
	return out
}

func runTest(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

// TestShippedRulesOnExamples runs every example log through the rule file
// it was made for and compares with values computed without logmeter.
func TestShippedRulesOnExamples(t *testing.T) {
	root := filepath.Join("..", "..")
	cases := []struct {
		rules, log string
		lines      float64
		input      string // logmeter test's default when empty
	}{
		{"nginx.yaml", "nginx-combined.log", 1200, ""},
		{"nginx.yaml", "nginx-timed.log", 1500, ""},
		{"nginx.yaml", "containers/web-7d4b9c6f5-x2x9k_shop_nginx-3f5a0e9c1d7b4a2e8c6f0b1d9e7a5c3b2f4d6e8a0c1b3d5f7e9a2c4b6d8f0e1a.log", 1500, ""},
		{"nginx.yaml", "containers/web-7d4b9c6f5-m4p7t_shop_nginx-9b2d4f6a8c0e1f3a5b7c9d0e2f4a6b8c1d3e5f7a9b0c2d4e6f8a1b3c5d7e9f0a2b.log", 1500, ""},
		{"apache.yaml", "apache-access.log", 1000, ""},
		{"kubernetes.yaml", "kubelet.log", 1200, ""},
		{"app.yaml", "app-zap.log", 400, ""},
		{"app.yaml", "app-slog.log", 400, ""},
		{"app.yaml", "app-logrus.log", 400, ""},
		{"app.yaml", "app-logback.log", 400, ""},
		{"app.yaml", "app-log4j.log", 400, ""},
		{"app.yaml", "app-zap-console.log", 400, ""},
		{"app.yaml", "app-logback-console.log", 400, ""},
		{"app.yaml", "app-ecs.log", 400, ""},
		{"kubernetes-events.yaml", "kubernetes-events.log", 80, "kubernetes-events"},
	}
	for _, c := range cases {
		t.Run(c.log, func(t *testing.T) {
			logPath := filepath.Join(root, "examples", "logs", c.log)
			args := []string{"test", "--rules", filepath.Join(root, "rules", c.rules)}
			input := "test"
			if c.input != "" {
				args, input = append(args, "--input", c.input), c.input
			}
			out, errOut, code := runTest(t, append(args, logPath)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			wantText, err := os.ReadFile(strings.TrimSuffix(logPath, ".log") + ".expected")
			if err != nil {
				t.Fatal(err)
			}
			got, want := samples(t, out, false), samples(t, string(wantText), false)
			var names []string
			for n := range want {
				names = append(names, n)
			}
			for n := range got {
				if _, ok := want[n]; !ok {
					t.Errorf("unexpected sample %s %v", n, got[n])
				}
			}
			sort.Strings(names)
			for _, n := range names {
				g, ok := got[n]
				if !ok {
					t.Errorf("missing sample %s", n)
					continue
				}
				if w := want[n]; g != w && math.Abs(g-w) > 1e-9*math.Abs(w) {
					t.Errorf("%s = %v, want %v", n, g, w)
				}
			}
			self := samples(t, out, true)
			if n := self[`logmeter_lines_read_total{input="`+input+`"}`]; n != c.lines {
				t.Errorf("lines read = %v, want %v", n, c.lines)
			}
		})
	}
}

// TestKubeletFileNamesGiveLabels: with no API access at all, a file named
// like a kubelet container log gives rules its namespace, pod and container.
func TestKubeletFileNamesGiveLabels(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(rules, []byte(`rules:
  - name: any
    match: '%{WORD:method} '
    sources: {containers: [nginx]}
    metrics:
      - name: lines_total
        type: counter
        labels: {namespace: '{{.kubernetes.namespace}}', pod: '{{.kubernetes.pod}}', container: '{{.kubernetes.container}}'}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "containers", "web-7d4b9c6f5-x2x9k_shop_nginx-0123456789abcdef0123456789abcdef.log")
	if err := os.MkdirAll(filepath.Dir(log), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(log, []byte("2024-05-01T12:00:00Z stdout F GET /\n2024-05-01T12:00:01Z stderr F POST /x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runTest(t, "test", "--rules", rules, log)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := samples(t, out, false)[`lines_total{container="nginx",namespace="shop",pod="web-7d4b9c6f5-x2x9k"}`]; got != 2 {
		t.Errorf("lines_total for the pod = %v, want 2; output:\n%s", got, out)
	}
}
