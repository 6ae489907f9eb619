package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// promScrapeInterval is the scrape and rule evaluation interval of the
// Prometheus servers the tests start.
const promScrapeInterval = time.Second

// promServer is one running Prometheus server (the Debian package's
// /usr/bin/prometheus) with its own configuration and storage.
type promServer struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	client *http.Client
	log    *lockedBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, valid after done
}

// promBinary returns the path of a program of the Prometheus package. A
// missing program fails the test: these tests must not pass by doing
// nothing. Only in short mode is the test skipped instead.
func promBinary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if testing.Short() {
		t.Skipf("%s not on PATH (short mode): %v", name, err)
	}
	t.Fatalf("%s is not on PATH: install the Debian package \"prometheus\" "+
		"(apt-get install prometheus, or ./scripts/install-deps.sh), which provides prometheus and promtool: %v", name, err)
	return ""
}

// startPrometheus writes a configuration with a 1s scrape and evaluation
// interval and the given scrape_configs (a YAML sequence, its items starting
// with "- job_name:" at column 0 or indented consistently), starts
// Prometheus on a free 127.0.0.1 port with storage in a temporary
// directory, and waits until /-/ready answers 200. It stops the server
// when the test ends (SIGTERM, then SIGKILL) and prints the tail of its
// log if the test failed. extraFlags are added to the command line, e.g.
// "--enable-feature=native-histograms".
func startPrometheus(t *testing.T, scrapeConfigs string, extraFlags ...string) *promServer {
	t.Helper()
	bin := promBinary(t, "prometheus")
	dir := t.TempDir()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\n",
		promDuration(promScrapeInterval), promDuration(promScrapeInterval), promDuration(promScrapeInterval))
	cfg.WriteString("scrape_configs:\n")
	for _, line := range strings.Split(strings.TrimRight(scrapeConfigs, "\n"), "\n") {
		cfg.WriteString("  " + line + "\n")
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	args := []string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--web.enable-lifecycle",
		"--log.level=info",
	}
	args = append(args, extraFlags...)
	p := &promServer{
		t:      t,
		base:   "http://" + addr,
		client: &http.Client{Timeout: 10 * time.Second},
		log:    &lockedBuffer{},
		done:   make(chan struct{}),
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("prometheus (pid %d) configuration:\n%s\nprometheus log (tail):\n%s",
				p.cmd.Process.Pid, cfg.String(), tail(p.log.String(), 40))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("prometheus exited during start-up: %v\nconfiguration:\n%s\nlog:\n%s", p.err, cfg.String(), tail(p.log.String(), 40))
		default:
		}
		if code, _, err := p.get("/-/ready"); err == nil && code == http.StatusOK {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 30s\n%s", tail(p.log.String(), 40))
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

// promDuration formats d as a Prometheus duration ("1s", "1500ms").
func promDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// stop ends the server with SIGTERM, or SIGKILL after 10s, and waits.
func (p *promServer) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

func (p *promServer) get(path string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// promSample is one element of a query result: a float sample or a native
// histogram.
type promSample struct {
	Metric map[string]string
	Value  float64        // NaN for a histogram sample
	Hist   *promHistogram // nil for a float sample
}

// promHistogram is a native histogram sample as the HTTP API returns it.
type promHistogram struct {
	Count, Sum float64
	Buckets    []promBucket
}

// promBucket is one bucket of a native histogram. Boundaries is the API's
// boundary rule: 0 (lower, upper], 1 [lower, upper), 2 (lower, upper),
// 3 [lower, upper].
type promBucket struct {
	Boundaries   int
	Lower, Upper float64
	Count        float64
}

// contains reports whether v lies in the bucket.
func (b promBucket) contains(v float64) bool {
	lowerOK := v > b.Lower || (v == b.Lower && (b.Boundaries == 1 || b.Boundaries == 3))
	upperOK := v < b.Upper || (v == b.Upper && (b.Boundaries == 0 || b.Boundaries == 3))
	return lowerOK && upperOK
}

// promResult is the decoded data of a successful query.
type promResult struct {
	Type    string // vector, scalar, matrix or string
	Samples []promSample
}

// empty reports whether the result holds no sample.
func (r promResult) empty() bool { return len(r.Samples) == 0 }

// allNaN reports whether every sample is a float NaN (and there is one).
func (r promResult) allNaN() bool {
	if r.empty() {
		return false
	}
	for _, s := range r.Samples {
		if s.Hist != nil || !math.IsNaN(s.Value) {
			return false
		}
	}
	return true
}

// query runs an instant query at the server's current time through
// /api/v1/query.
func (p *promServer) query(expr string) (promResult, error) {
	code, body, err := p.get("/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return promResult{}, err
	}
	var resp struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return promResult{}, fmt.Errorf("query %s: status %d, undecodable answer %q: %v", expr, code, truncate(string(body), 300), err)
	}
	if resp.Status != "success" {
		return promResult{}, fmt.Errorf("query %s: %s: %s", expr, resp.ErrorType, resp.Error)
	}
	r := promResult{Type: resp.Data.ResultType}
	switch r.Type {
	case "scalar", "string":
		var pair []json.RawMessage
		if err := json.Unmarshal(resp.Data.Result, &pair); err != nil || len(pair) != 2 {
			return r, fmt.Errorf("query %s: bad %s result %s", expr, r.Type, resp.Data.Result)
		}
		v := math.NaN()
		if r.Type == "scalar" {
			if v, err = parsePromFloat(pair[1]); err != nil {
				return r, fmt.Errorf("query %s: %v", expr, err)
			}
		}
		r.Samples = []promSample{{Value: v}}
	case "vector":
		var items []struct {
			Metric    map[string]string `json:"metric"`
			Value     []json.RawMessage `json:"value"`
			Histogram []json.RawMessage `json:"histogram"`
		}
		if err := json.Unmarshal(resp.Data.Result, &items); err != nil {
			return r, fmt.Errorf("query %s: %v", expr, err)
		}
		for _, it := range items {
			s := promSample{Metric: it.Metric, Value: math.NaN()}
			switch {
			case len(it.Value) == 2:
				if s.Value, err = parsePromFloat(it.Value[1]); err != nil {
					return r, fmt.Errorf("query %s: %v", expr, err)
				}
			case len(it.Histogram) == 2:
				if s.Hist, err = parsePromHistogram(it.Histogram[1]); err != nil {
					return r, fmt.Errorf("query %s: %v", expr, err)
				}
			default:
				return r, fmt.Errorf("query %s: a sample with neither value nor histogram", expr)
			}
			r.Samples = append(r.Samples, s)
		}
	case "matrix":
		// A range vector: each series with its last float value.
		var items []struct {
			Metric map[string]string   `json:"metric"`
			Values [][]json.RawMessage `json:"values"`
		}
		if err := json.Unmarshal(resp.Data.Result, &items); err != nil {
			return r, fmt.Errorf("query %s: %v", expr, err)
		}
		for _, it := range items {
			s := promSample{Metric: it.Metric, Value: math.NaN()}
			if n := len(it.Values); n > 0 && len(it.Values[n-1]) == 2 {
				if s.Value, err = parsePromFloat(it.Values[n-1][1]); err != nil {
					return r, fmt.Errorf("query %s: %v", expr, err)
				}
			}
			r.Samples = append(r.Samples, s)
		}
	default:
		return r, fmt.Errorf("query %s: unknown result type %q", expr, r.Type)
	}
	return r, nil
}

// parsePromFloat decodes a sample value: a JSON string holding a float,
// "NaN" or "+Inf".
func parsePromFloat(raw json.RawMessage) (float64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("sample value %s: %v", raw, err)
	}
	return strconv.ParseFloat(s, 64)
}

func parsePromHistogram(raw json.RawMessage) (*promHistogram, error) {
	var h struct {
		Count   string              `json:"count"`
		Sum     string              `json:"sum"`
		Buckets [][]json.RawMessage `json:"buckets"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("histogram %s: %v", raw, err)
	}
	out := &promHistogram{}
	var err error
	if out.Count, err = strconv.ParseFloat(h.Count, 64); err != nil {
		return nil, err
	}
	if out.Sum, err = strconv.ParseFloat(h.Sum, 64); err != nil {
		return nil, err
	}
	for _, b := range h.Buckets {
		if len(b) != 4 {
			return nil, fmt.Errorf("histogram bucket %v: want 4 elements", b)
		}
		var pb promBucket
		if err := json.Unmarshal(b[0], &pb.Boundaries); err != nil {
			return nil, fmt.Errorf("histogram bucket boundaries %s: %v", b[0], err)
		}
		for i, dst := range []*float64{&pb.Lower, &pb.Upper, &pb.Count} {
			if *dst, err = parsePromFloat(b[i+1]); err != nil {
				return nil, err
			}
		}
		out.Buckets = append(out.Buckets, pb)
	}
	return out, nil
}

// scalarOf returns the value of a query that should give exactly one float
// sample; ok is false (with a description) otherwise.
func (p *promServer) scalarOf(expr string) (v float64, desc string, ok bool) {
	r, err := p.query(expr)
	if err != nil {
		return 0, err.Error(), false
	}
	if len(r.Samples) != 1 || r.Samples[0].Hist != nil {
		return 0, fmt.Sprintf("%s: %d samples (%s), want one float sample", expr, len(r.Samples), describeSamples(r.Samples)), false
	}
	return r.Samples[0].Value, fmt.Sprintf("%s = %v", expr, r.Samples[0].Value), true
}

// waitValue polls expr until it gives one sample equal to want and fails
// the test with the last answer if that does not happen within timeout.
func (p *promServer) waitValue(t *testing.T, timeout time.Duration, expr string, want float64) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("Prometheus: %s == %v", expr, want), func() (bool, string) {
		v, desc, ok := p.scalarOf(expr)
		return ok && v == want, desc
	})
}

// targetHealth returns the health and last error of the active targets of
// job from /api/v1/targets, keyed by scrape URL.
func (p *promServer) targetHealth(job string) (map[string][2]string, error) {
	code, body, err := p.get("/api/v1/targets?state=active")
	if err != nil {
		return nil, err
	}
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			ActiveTargets []struct {
				ScrapePool string `json:"scrapePool"`
				ScrapeURL  string `json:"scrapeUrl"`
				Health     string `json:"health"`
				LastError  string `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Status != "success" {
		return nil, fmt.Errorf("/api/v1/targets: status %d: %q (%v)", code, truncate(string(body), 300), err)
	}
	out := map[string][2]string{}
	for _, tg := range resp.Data.ActiveTargets {
		if tg.ScrapePool == job {
			out[tg.ScrapeURL] = [2]string{tg.Health, tg.LastError}
		}
	}
	return out, nil
}

// describeSamples prints a short list of samples for failure messages.
func describeSamples(ss []promSample) string {
	var parts []string
	for i, s := range ss {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("... %d more", len(ss)-i))
			break
		}
		v := strconv.FormatFloat(s.Value, 'g', -1, 64)
		if s.Hist != nil {
			v = fmt.Sprintf("histogram{count=%v, sum=%v, %d buckets}", s.Hist.Count, s.Hist.Sum, len(s.Hist.Buckets))
		}
		parts = append(parts, fmt.Sprintf("%v %s", s.Metric, v))
	}
	return strings.Join(parts, "; ")
}

// truncate shortens s to n bytes for messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
