package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const input = "nginx" // the input name writeConfig uses

// testEnv is one test's directory: the log file, the state directory and
// the configuration, with the address logmeter serves on.
type testEnv struct {
	dir, logPath, stateDir, cfgPath, base string
}

// newEnv writes a configuration that follows dir/access.log with rules.
// tailCfg is the tail section ("" for defaultTail).
func newEnv(t *testing.T, rules, tailCfg string) *testEnv {
	t.Helper()
	dir := t.TempDir()
	e := &testEnv{dir: dir, logPath: filepath.Join(dir, "access.log"), stateDir: filepath.Join(dir, "state")}
	addr := freeAddr(t)
	e.base = "http://" + addr
	e.cfgPath = writeConfig(t, dir, daemonConfig{Listen: addr, LogPath: e.logPath, Rules: rules, StateDir: e.stateDir, Tail: tailCfg})
	return e
}

func (e *testEnv) start(t *testing.T) *daemon {
	t.Helper()
	return startDaemon(t, e.cfgPath, e.base, nil, [2]string{})
}

func nginxRules() string { return filepath.Join(repoRoot, "rules", "nginx.yaml") }

// checkpointLinesRead returns logmeter_lines_read_total{input} as saved in
// stateDir/positions.json: the value a restart continues from.
func checkpointLinesRead(t *testing.T, stateDir string) (float64, bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(stateDir, "positions.json"))
	if os.IsNotExist(err) {
		return 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Extra struct {
			Self []struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
				Value  float64           `json:"value"`
			} `json:"self"`
		} `json:"extra"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("positions.json: %v", err)
	}
	for _, s := range st.Extra.Self {
		if s.Name == "logmeter_lines_read_total" && s.Labels["input"] == input {
			return s.Value, true
		}
	}
	return 0, true
}

// linesRead scrapes logmeter_lines_read_total of the test input.
func (d *daemon) linesRead() float64 {
	return d.scrape().get("logmeter_lines_read_total", "input", input)
}

// waitLines waits until lines_read equals want and stays there for a
// while (long enough for a poll and a scan), and returns the last value.
func (d *daemon) waitLines(want int, timeout time.Duration) float64 {
	d.t.Helper()
	return waitSettled(d.t, timeout, 400*time.Millisecond, float64(want), d.linesRead)
}

// checkCounts compares what logmeter counted with what w wrote: lines
// read, unmatched lines, lines per rule, nginx_http_requests_total per
// (method, status) and nginx_http_response_bytes_total per method.
func checkCounts(t *testing.T, ms metricSet, want tally) {
	t.Helper()
	if got := ms.get("logmeter_lines_read_total", "input", input); got != float64(want.lines) {
		t.Errorf("logmeter_lines_read_total = %v, want %d lines written (difference %+v)", got, want.lines, got-float64(want.lines))
	}
	if v := ms.get("logmeter_lines_unmatched_total", "input", input); v != float64(want.unmatched) {
		t.Errorf("logmeter_lines_unmatched_total = %v, want %d", v, want.unmatched)
	}
	for rule, kind := range map[string]string{"nginx_access": "combined", "nginx_access_timed": "timed"} {
		if v := ms.get("logmeter_lines_matched_total", "rule", rule); v != float64(want.byKind[kind]) {
			t.Errorf("logmeter_lines_matched_total{rule=%q} = %v, want %d", rule, v, want.byKind[kind])
		}
	}
	compareCounts(t, "nginx_http_requests_total{method,status}", ms.byLabels("nginx_http_requests_total", "method", "status"), want.requests)
	compareCounts(t, "nginx_http_response_bytes_total{method}", ms.byLabels("nginx_http_response_bytes_total", "method"), want.respBytes)
}

// compareCounts reports every key whose value differs.
func compareCounts(t *testing.T, what string, got, want map[string]float64) {
	t.Helper()
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	var diffs []string
	for k := range keys {
		if got[k] != want[k] {
			diffs = append(diffs, fmt.Sprintf("%s: got %v, want %v", k, got[k], want[k]))
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 0 {
		if len(diffs) > 12 {
			diffs = append(diffs[:12], "...")
		}
		t.Errorf("%s differs from the written lines in %d of %d series:\n  %s", what, len(diffs), len(keys), strings.Join(diffs, "\n  "))
	}
}
