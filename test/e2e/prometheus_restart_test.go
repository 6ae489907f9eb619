package e2e

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestPrometheusSeesNoResetAcrossRestarts: logmeter is killed with SIGKILL
// and later stopped with SIGTERM while Prometheus scrapes it; counters,
// classic and native histograms carry on from their saved values, so
// resets() finds none, and the totals equal the lines written exactly
// (nothing counted twice, nothing lost).
func TestPrometheusSeesNoResetAcrossRestarts(t *testing.T) {
	t.Parallel()
	promBinary(t, "prometheus")
	lines, times := exampleTimedLog(t)
	expected := filepath.Join(repoRoot, "examples", "logs", "nginx-timed.expected")
	var wantTotal float64
	for _, v := range expectedSeries(t, expected, "nginx_http_requests_total") {
		wantTotal += v
	}

	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	appendLines(t, logPath, nil)
	addr := freeAddr(t)
	cfg := agentConfig{
		listen:   addr,
		inputs:   []fwdInput{{name: "nginx", format: "plain", paths: []string{logPath}}},
		rules:    []string{nginxRules(), histogramRules(t, dir)},
		stateDir: filepath.Join(dir, "state"),
	}.write(t, dir)
	start := func() *daemon { return startDaemon(t, cfg, "http://"+addr, nil, [2]string{}) }
	p := startPrometheus(t, fmt.Sprintf("- job_name: logmeter\n  static_configs:\n    - targets: [%q]\n", addr),
		"--enable-feature=native-histograms")

	d := start()
	p.waitValue(t, 20*time.Second, `up{job="logmeter"}`, 1)
	third := len(lines) / 3
	appendLines(t, logPath, lines[:third])
	p.waitValue(t, 20*time.Second, `sum(logmeter_lines_read_total)`, float64(third))
	time.Sleep(time.Second) // a checkpoint (every 200ms) after the last line
	d.kill()

	d = start()
	appendLines(t, logPath, lines[third:2*third])
	p.waitValue(t, 20*time.Second, `sum(logmeter_lines_read_total)`, float64(2*third))
	if code := d.stop(syscall.SIGTERM, 20*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}

	start()
	appendLines(t, logPath, lines[2*third:])
	p.waitValue(t, 20*time.Second, `sum(logmeter_lines_read_total)`, float64(len(lines)))
	p.waitValue(t, 20*time.Second, `sum(nginx_http_requests_total)`, wantTotal)
	p.waitValue(t, 20*time.Second, `sum(nginx_http_request_duration_seconds_count)`, float64(len(times)))
	p.waitValue(t, 20*time.Second, `histogram_count(e2e_request_duration_native_seconds)`, float64(len(times)))
	p.waitValue(t, 20*time.Second, `histogram_count(e2e_request_duration_seconds)`, float64(len(times)))

	for _, expr := range []string{
		`sum(resets(nginx_http_requests_total[10m]))`,
		`sum(resets(logmeter_lines_read_total[10m]))`,
		`sum(resets(nginx_http_request_duration_seconds_count[10m]))`,
		`sum(resets(nginx_http_request_duration_seconds_bucket[10m]))`,
		`resets(histogram_count(e2e_request_duration_native_seconds)[10m:1s])`,
		`resets(histogram_sum(e2e_request_duration_seconds)[10m:1s])`,
	} {
		v, desc, ok := p.scalarOf(expr)
		if !ok || v != 0 {
			t.Errorf("%s = %v (%s), want 0", expr, v, desc)
		}
	}
}
