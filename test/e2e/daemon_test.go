package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGracefulStop: SIGTERM saves the positions and counters and exits 0;
// a restart continues the counters where they were.
func TestGracefulStop(t *testing.T) {
	e := newEnv(t, nginxRules(), "")
	w, err := newLogWriter(e.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	d := e.start(t)
	if err := w.write(500); err != nil {
		t.Fatal(err)
	}
	d.waitLines(500, 10*time.Second)

	begin := time.Now()
	if code := d.stop(syscall.SIGTERM, 5*time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0\n%s", code, tail(d.stderr.String(), 20))
	}
	t.Logf("SIGTERM to exit: %s", time.Since(begin).Round(time.Millisecond))
	saved, found := checkpointLinesRead(t, e.stateDir)
	if !found {
		t.Fatal("no positions.json in the state directory after SIGTERM")
	}
	if saved != 500 {
		t.Errorf("positions.json has lines_read %v, want 500", saved)
	}

	// Written while stopped, and after the restart.
	if err := w.write(300); err != nil {
		t.Fatal(err)
	}
	d = e.start(t)
	if err := w.write(200); err != nil {
		t.Fatal(err)
	}
	want := w.snapshot()
	d.waitLines(want.lines, 10*time.Second)
	checkCounts(t, d.scrape(), want)
}

// The broken rule names a grok pattern that does not exist.
const brokenRule = `
  - name: nginx_error_log
    match: '\[error\] %{NO_SUCH_PATTERN:pid}'
    metrics:
      - name: nginx_error_lines_total
        type: counter
        help: nginx error-log lines.
`

const fixedRule = `
  - name: nginx_error_log
    match: '\[error\] %{INT:pid}#%{INT:tid}: '
    metrics:
      - name: nginx_error_lines_total
        type: counter
        help: nginx error-log lines.
`

// TestBadReloadKeepsRunning swaps the rule file for a broken one (as a
// ConfigMap update does): logmeter refuses it, says so in
// logmeter_config_last_reload_successful, and goes on counting with the
// old rules. After the file is fixed, SIGHUP applies it, and the counters
// of both versions keep their values.
func TestBadReloadKeepsRunning(t *testing.T) {
	good, err := os.ReadFile(nginxRules())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rules := filepath.Join(dir, "nginx.yaml")
	if err := os.WriteFile(rules, good, 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, rules, "")
	w, err := newLogWriter(e.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	d := e.start(t)
	reloadOK := func() float64 { return d.scrape().get("logmeter_config_last_reload_successful") }
	if v := reloadOK(); v != 1 {
		t.Fatalf("logmeter_config_last_reload_successful = %v at start, want 1", v)
	}
	if err := w.write(300); err != nil {
		t.Fatal(err)
	}
	d.waitLines(300, 10*time.Second)

	replaceFile(t, rules, append(append([]byte{}, good...), brokenRule...))
	waitFor(t, 10*time.Second, "the broken rules to be refused", func() (bool, string) {
		v := reloadOK()
		return v == 0, fmt.Sprintf("logmeter_config_last_reload_successful %v", v)
	})
	if err := w.write(300); err != nil {
		t.Fatal(err)
	}
	old := w.snapshot()
	d.waitLines(old.lines, 10*time.Second)
	ms := d.scrape()
	checkCounts(t, ms, old) // the old rules still apply
	if _, ok := ms.value("nginx_error_lines_total"); ok {
		t.Error("nginx_error_lines_total exists although the rules that define it were refused")
	}

	replaceFile(t, rules, append(append([]byte{}, good...), fixedRule...))
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the fixed rules to be applied", func() (bool, string) {
		ms := d.scrape()
		v := ms.get("logmeter_config_last_reload_successful")
		_, defined := ms.value("logmeter_lines_matched_total", "rule", "nginx_error_log")
		_, exported := ms.value("nginx_error_lines_total")
		return v == 1 && (defined || exported), fmt.Sprintf("logmeter_config_last_reload_successful %v, new rule visible: %v", v, defined || exported)
	})
	t.Logf("reload log: SIGHUP seen %v, file change seen %v",
		strings.Contains(d.stderr.String(), "SIGHUP: reloading"), strings.Contains(d.stderr.String(), "files changed: reloading"))
	// Counters that exist in both versions kept their values.
	ms = d.scrape()
	compareCounts(t, "nginx_http_requests_total after the reload", ms.byLabels("nginx_http_requests_total", "method", "status"), old.requests)
	compareCounts(t, "nginx_http_response_bytes_total after the reload", ms.byLabels("nginx_http_response_bytes_total", "method"), old.respBytes)

	// New lines are counted by both the kept and the new rules.
	if err := w.write(300); err != nil {
		t.Fatal(err)
	}
	all := w.snapshot()
	d.waitLines(all.lines, 10*time.Second)
	ms = d.scrape()
	compareCounts(t, "nginx_http_requests_total", ms.byLabels("nginx_http_requests_total", "method", "status"), all.requests)
	compareCounts(t, "nginx_http_response_bytes_total", ms.byLabels("nginx_http_response_bytes_total", "method"), all.respBytes)
	if v, want := ms.get("nginx_error_lines_total"), all.unmatched-old.unmatched; v != float64(want) {
		t.Errorf("nginx_error_lines_total = %v, want %d (error-log lines written after the reload)", v, want)
	}
	if v := ms.get("logmeter_lines_unmatched_total", "input", input); v != float64(old.unmatched) {
		t.Errorf("logmeter_lines_unmatched_total = %v, want %d (error-log lines before the reload)", v, old.unmatched)
	}
}
