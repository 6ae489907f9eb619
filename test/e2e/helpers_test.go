// Package e2e runs the real logmeter binary as a daemon: it writes log
// files, rotates them, kills and restarts the process, and checks what
// /metrics says against counts computed from the lines it wrote.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Set by TestMain.
var (
	binPath  string // the logmeter binary built for this run
	repoRoot string // the module root, for rules/nginx.yaml
)

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go env GOMOD:", err)
		return 1
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		fmt.Fprintln(os.Stderr, "e2e: not inside a Go module")
		return 1
	}
	repoRoot = filepath.Dir(gomod)
	dir, err := os.MkdirTemp("", "logmeter-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "logmeter")
	build := exec.Command("go", "build", "-o", binPath, "./cmd/logmeter")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building logmeter: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// lockedBuffer collects a process's stderr while tests read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// daemon is one running `logmeter run` process.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string // http(s)://addr
	client *http.Client
	auth   [2]string // basic auth user, password; empty for none
	stderr *lockedBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, valid after done
}

// startDaemon runs the binary with cfgPath and waits until /readyz answers
// 200. base is "http://ADDR" or "https://ADDR".
func startDaemon(t *testing.T, cfgPath, base string, client *http.Client, auth [2]string) *daemon {
	t.Helper()
	return startDaemonArgs(t, cfgPath, base, client, auth)
}

// startDaemonArgs is startDaemon with more arguments for `logmeter run`.
func startDaemonArgs(t *testing.T, cfgPath, base string, client *http.Client, auth [2]string, args ...string) *daemon {
	t.Helper()
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	d := &daemon{t: t, base: base, client: client, auth: auth, stderr: &lockedBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(binPath, append([]string{"run", "--config", cfgPath, "--log.level", "info"}, args...)...)
	d.cmd.Stderr = d.stderr
	d.cmd.Stdout = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start logmeter: %v", err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.kill()
		if t.Failed() {
			t.Logf("logmeter (pid %d) output:\n%s", d.cmd.Process.Pid, tail(d.stderr.String(), 60))
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-d.done:
			t.Fatalf("logmeter exited during start-up: %v\n%s", d.err, d.stderr.String())
		default:
		}
		if code, _, err := d.get("/readyz"); err == nil && code == http.StatusOK {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("logmeter not ready within 15s\n%s", d.stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

// kill ends the process with SIGKILL (no checkpoint) and waits for it.
func (d *daemon) kill() {
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// stop sends sig and waits up to timeout for the exit; it returns the exit
// code, or fails the test.
func (d *daemon) stop(sig os.Signal, timeout time.Duration) int {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-d.done:
	case <-time.After(timeout):
		d.kill()
		d.t.Fatalf("logmeter did not exit within %s of %v\n%s", timeout, sig, tail(d.stderr.String(), 40))
	}
	return d.cmd.ProcessState.ExitCode()
}

// get fetches path and returns the status code and body.
func (d *daemon) get(path string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if d.auth[0] != "" {
		req.SetBasicAuth(d.auth[0], d.auth[1])
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// scrape returns the metric families /metrics serves, or fails the test.
func (d *daemon) scrape() metricSet {
	d.t.Helper()
	code, body, err := d.get("/metrics")
	if err != nil {
		d.t.Fatalf("scrape: %v", err)
	}
	if code != http.StatusOK {
		d.t.Fatalf("scrape: status %d: %s", code, body)
	}
	ms, err := parseMetrics(body)
	if err != nil {
		d.t.Fatalf("scrape: %v", err)
	}
	return ms
}

// metricSet is a parsed /metrics page.
type metricSet map[string]*dto.MetricFamily

func parseMetrics(body []byte) (metricSet, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse /metrics: %w", err)
	}
	return fams, nil
}

// value returns the counter or gauge sample of name whose labels include
// all of want (name=value pairs), summed over the matching samples, and
// whether any matched.
func (ms metricSet) value(name string, want ...string) (float64, bool) {
	f := ms[name]
	if f == nil {
		return 0, false
	}
	var sum float64
	found := false
	for _, m := range f.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, found
}

// get is value with 0 for an absent series.
func (ms metricSet) get(name string, want ...string) float64 {
	v, _ := ms.value(name, want...)
	return v
}

func hasLabels(m *dto.Metric, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		ok := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == want[i] && lp.GetValue() == want[i+1] {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// byLabels returns the samples of a counter family keyed by the values of
// the given label names joined with " ".
func (ms metricSet) byLabels(name string, labels ...string) map[string]float64 {
	out := map[string]float64{}
	f := ms[name]
	if f == nil {
		return out
	}
	for _, m := range f.GetMetric() {
		vals := make([]string, len(labels))
		for i, l := range labels {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == l {
					vals[i] = lp.GetValue()
				}
			}
		}
		out[strings.Join(vals, " ")] += m.GetCounter().GetValue()
	}
	return out
}

// waitFor polls cond until it reports true or timeout passes; on timeout
// the test fails with cond's last description.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for i := 0; ; i++ {
		ok, desc := cond()
		if ok {
			return
		}
		last = desc
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s (%d polls) waiting for %s: %s", timeout, i+1, what, last)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// waitSettled polls read() until it equals want and has not changed for
// quiet, then returns the value; on timeout it returns the last value read
// so that the caller's check reports the difference.
func waitSettled(t *testing.T, timeout, quiet time.Duration, want float64, read func() float64) float64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last, since := read(), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(25 * time.Millisecond) // polling interval, not synchronisation
		v := read()
		if v != last {
			last, since = v, time.Now()
			continue
		}
		if v == want && time.Since(since) >= quiet {
			return v
		}
	}
	t.Logf("value still %v (want %v) after %s", last, want, timeout)
	return last
}

// daemonConfig is what the tests vary in the configuration file.
type daemonConfig struct {
	Listen    string
	WebConfig string // "" for plain HTTP
	LogPath   string
	Rules     string
	StateDir  string
	Tail      string // the tail section as a YAML flow mapping; "" for defaultTail
}

// defaultTail is the rhythm the acceptance test asks for.
const defaultTail = "{poll_interval: 50ms, scan_interval: 200ms, checkpoint_interval: 200ms}"

// writeConfig writes a daemon configuration to dir/logmeter.yaml.
func writeConfig(t *testing.T, dir string, c daemonConfig) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n  listen: %q\n", c.Listen)
	if c.WebConfig != "" {
		fmt.Fprintf(&b, "  web_config: %q\n", c.WebConfig)
	}
	fmt.Fprintf(&b, "inputs:\n  - name: nginx\n    paths: [%q]\n    format: plain\n    start_at: beginning\n", c.LogPath)
	fmt.Fprintf(&b, "rules: [%q]\n", c.Rules)
	fmt.Fprintf(&b, "state_dir: %q\n", c.StateDir)
	tailCfg := c.Tail
	if tailCfg == "" {
		tailCfg = defaultTail
	}
	fmt.Fprintf(&b, "tail: %s\n", tailCfg)
	p := filepath.Join(dir, "logmeter.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// replaceFile writes data to a temporary file next to p and renames it over
// p, the way a ConfigMap update swaps the file in one step.
func replaceFile(t *testing.T, p string, data []byte) {
	t.Helper()
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tlsClient trusts only the PEM certificate pool given.
func tlsClient(cfg *tls.Config) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}
