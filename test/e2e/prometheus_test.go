package e2e

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logmeter/logmeter/internal/estest"
)

// These tests run logmeter under a real Prometheus server (the Debian
// package "prometheus", 2.42 or later) and check what Prometheus stored,
// through its HTTP API, against values computed from the example logs.

// e2eBuckets are the classic buckets of the test histogram.
var e2eBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// histogramRules writes a rule file with two histograms of nginx's
// $request_time, fed by the same lines as rules/nginx.yaml's
// nginx_access_timed: e2e_request_duration_seconds has native and classic
// buckets, e2e_request_duration_native_seconds native buckets only.
func histogramRules(t *testing.T, dir string) string {
	t.Helper()
	bounds := make([]string, len(e2eBuckets))
	for i, b := range e2eBuckets {
		bounds[i] = strconv.FormatFloat(b, 'g', -1, 64)
	}
	rules := `patterns:
  TEST_UPSTREAM_TIMES: '(?:%{NUMBER}|-)(?:(?:, | : )(?:%{NUMBER}|-))*'
rules:
  - name: e2e_request_time
    match: '^%{IPORHOST:client} - %{NOTSPACE:remote_user} \[%{HTTPDATE:timestamp}\] "%{WORD:method} %{NOTSPACE:path} HTTP/%{NUMBER:http_version}" %{INT:status} %{INT:bytes} "%{DATA:referrer}" "%{DATA:agent}" %{NUMBER:request_time}(?: %{TEST_UPSTREAM_TIMES})?$'
    metrics:
      - name: e2e_request_duration_seconds
        type: histogram
        help: nginx $request_time, with native and classic buckets.
        value: '{{.request_time}}'
        native: true
        classic: true
        buckets: [` + strings.Join(bounds, ", ") + `]
      - name: e2e_request_duration_native_seconds
        type: histogram
        help: nginx $request_time, with native buckets only.
        value: '{{.request_time}}'
        native: true
        native_bucket_factor: 1.1
        native_max_buckets: 160
        classic: false
`
	p := filepath.Join(dir, "histograms.yaml")
	if err := os.WriteFile(p, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// timedLineRE is the timed nginx format of rules/nginx.yaml written as a
// plain regular expression; group 1 is $request_time.
var timedLineRE = regexp.MustCompile(`^\S+ - \S+ \[[^\]]+\] "\w+ \S+ HTTP/[0-9.]+" \d+ \d+ "(?:.*?)" "(?:.*?)" ([0-9]+(?:\.[0-9]+)?)(?: (?:[0-9]+(?:\.[0-9]+)?|-)(?:(?:, | : )(?:[0-9]+(?:\.[0-9]+)?|-))*)?$`)

// exampleTimedLog returns the lines of examples/logs/nginx-timed.log and
// the $request_time of each line in the timed format, in file order. The
// times are checked against the file's .expected count and sum, so that
// the quantiles computed from them are the data logmeter saw.
func exampleTimedLog(t *testing.T) (lines [][]byte, times []float64) {
	t.Helper()
	logPath := filepath.Join(repoRoot, "examples", "logs", "nginx-timed.log")
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			t.Fatalf("%s does not end in a newline", logPath)
		}
		line := data[:i+1]
		data = data[i+1:]
		lines = append(lines, line)
		if m := timedLineRE.FindSubmatch(line[:len(line)-1]); m != nil {
			v, err := strconv.ParseFloat(string(m[1]), 64)
			if err != nil {
				t.Fatal(err)
			}
			times = append(times, v)
			sum += v
		}
	}
	expected := filepath.Join(repoRoot, "examples", "logs", "nginx-timed.expected")
	wantCount := sumOfExpected(t, expected, "nginx_http_request_duration_seconds_count{")
	wantSum := sumOfExpected(t, expected, "nginx_http_request_duration_seconds_sum{")
	if float64(len(times)) != wantCount || !closeTo(sum, wantSum, 1e-9) {
		t.Fatalf("test bug: %d timed lines with $request_time summing to %v in %s, but %s says %v and %v",
			len(times), sum, logPath, expected, wantCount, wantSum)
	}
	return lines, times
}

// closeTo reports whether a and b differ by at most rel relative to b.
func closeTo(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Abs(b)
}

// quantileOf returns the q-quantile of sorted values as Prometheus ranks
// them: the ceil(q*n)-th smallest observation.
func quantileOf(sorted []float64, q float64) float64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

// appendLines appends lines to path.
func appendLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(bytes.Join(lines, nil)); err != nil {
		t.Fatal(err)
	}
}

// expectedSeries reads the samples of metric from an .expected file, keyed
// by their labels ("method=GET,status=200").
func expectedSeries(t *testing.T, path, metric string) map[string]float64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := parseMetrics(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]float64{}
	f := ms[metric]
	if f == nil {
		t.Fatalf("%s has no %s samples", path, metric)
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		out[labelKey(labels)] += m.GetUntyped().GetValue() + m.GetCounter().GetValue()
	}
	return out
}

// labelKey joins labels other than job and instance as "a=1,b=2", sorted.
func labelKey(labels map[string]string) string {
	var parts []string
	for k, v := range labels {
		if k == "job" || k == "instance" || k == "__name__" {
			continue
		}
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// promSeries returns the float samples of expr keyed by labelKey.
func promSeries(t *testing.T, p *promServer, expr string) map[string]float64 {
	t.Helper()
	r, err := p.query(expr)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, s := range r.Samples {
		out[labelKey(s.Metric)] += s.Value
	}
	return out
}

// TestPrometheusScrapesLogmeter: Prometheus (with native histograms
// enabled) scrapes logmeter while the example timed nginx log is appended;
// the request counters it stores equal the example's expected values, the
// lines read equal the lines written, and the native histograms hold
// exactly the $request_time values of the log: count, sum, every bucket,
// and quantiles inside the bucket of the true quantile. The classic
// buckets of a histogram with both kinds are still exposed.
func TestPrometheusScrapesLogmeter(t *testing.T) {
	t.Parallel()
	promBinary(t, "prometheus")
	lines, times := exampleTimedLog(t)
	sorted := slices.Sorted(slices.Values(times))
	var timeSum float64
	for _, v := range times {
		timeSum += v
	}
	expected := filepath.Join(repoRoot, "examples", "logs", "nginx-timed.expected")
	wantRequests := expectedSeries(t, expected, "nginx_http_requests_total")
	var wantTotal float64
	for _, v := range wantRequests {
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
	d := startDaemon(t, cfg, "http://"+addr, nil, [2]string{})
	p := startPrometheus(t, fmt.Sprintf("- job_name: logmeter\n  static_configs:\n    - targets: [%q]\n", addr),
		"--enable-feature=native-histograms")
	p.waitValue(t, 20*time.Second, `up{job="logmeter"}`, 1)

	// Two halves, so that Prometheus sees the counters grow between scrapes.
	half := len(lines) / 2
	appendLines(t, logPath, lines[:half])
	p.waitValue(t, 20*time.Second, `sum(logmeter_lines_read_total)`, float64(half))
	appendLines(t, logPath, lines[half:])
	p.waitValue(t, 20*time.Second, `sum(nginx_http_requests_total)`, wantTotal)
	p.waitValue(t, 20*time.Second, `sum(logmeter_lines_read_total)`, float64(len(lines)))
	p.waitValue(t, 20*time.Second, `histogram_count(e2e_request_duration_seconds)`, float64(len(times)))
	p.waitValue(t, 20*time.Second, `histogram_count(e2e_request_duration_native_seconds)`, float64(len(times)))

	compareCounts(t, "nginx_http_requests_total{method,status} in Prometheus", promSeries(t, p, `nginx_http_requests_total{job="logmeter"}`), wantRequests)
	if v, desc, ok := p.scalarOf(`sum(logmeter_lines_unmatched_total)`); !ok || v != float64(len(lines))-wantTotal {
		t.Errorf("%s; want %v (lines no nginx rule matches)", desc, float64(len(lines))-wantTotal)
	}
	// The shipped classic histogram arrives as _bucket series.
	if v, desc, ok := p.scalarOf(`sum(nginx_http_request_duration_seconds_bucket{le="+Inf"})`); !ok || v != float64(len(times)) {
		t.Errorf("%s; want %d (timed lines)", desc, len(times))
	}

	for _, metric := range []string{"e2e_request_duration_seconds", "e2e_request_duration_native_seconds"} {
		h := checkNativeHistogram(t, p, metric, times, sorted, timeSum)
		if h == nil {
			continue
		}
		// A rate of the native histogram, summed: its window reaches back to
		// a scrape before the first line, so it is the whole histogram
		// scaled, and its quantile lies in the same bucket.
		checkQuantile(t, p, fmt.Sprintf("histogram_quantile(0.9, sum(rate(%s[1m])))", metric), quantileOf(sorted, 0.9), h)
	}
	// Prometheus 2.42 with native histograms enabled keeps only the native
	// part of a histogram that has both (later versions can keep both), so
	// this is information, not a check; the HTTPS test, without native
	// histograms, checks the classic buckets arrive.
	if r, err := p.query(`e2e_request_duration_seconds_bucket`); err == nil {
		t.Logf("with native histograms enabled, Prometheus stored %d classic _bucket series of e2e_request_duration_seconds", len(r.Samples))
	}

	// /metrics in the text format: the histogram with classic: true keeps
	// its classic buckets, with the cumulative counts of the log; the
	// native-only one has none.
	ms := d.scrape()
	checkClassicBuckets(t, ms, "e2e_request_duration_seconds", e2eBuckets, sorted)
	if f := ms["e2e_request_duration_native_seconds"]; f == nil || len(f.GetMetric()) != 1 {
		t.Errorf("/metrics: e2e_request_duration_native_seconds missing")
	} else {
		h := f.GetMetric()[0].GetHistogram()
		for _, b := range h.GetBucket() {
			if !math.IsInf(b.GetUpperBound(), 1) {
				t.Errorf("/metrics: native-only histogram e2e_request_duration_native_seconds exposes a classic bucket le=%v", b.GetUpperBound())
			}
		}
		if h.GetSampleCount() != uint64(len(times)) {
			t.Errorf("/metrics: e2e_request_duration_native_seconds_count = %d, want %d", h.GetSampleCount(), len(times))
		}
	}
}

// checkNativeHistogram compares the native histogram metric in Prometheus
// with the observed values: count, sum, every bucket's count, and the 0.5,
// 0.9 and 0.99 quantiles (each must lie in the bucket that holds the true
// quantile, the resolution a native histogram promises). It returns the
// histogram, nil if there is none.
func checkNativeHistogram(t *testing.T, p *promServer, metric string, times, sorted []float64, timeSum float64) *promHistogram {
	t.Helper()
	r, err := p.query(metric)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Samples) != 1 || r.Samples[0].Hist == nil {
		t.Errorf("%s: %d samples (%s), want one native histogram", metric, len(r.Samples), describeSamples(r.Samples))
		return nil
	}
	h := r.Samples[0].Hist
	if h.Count != float64(len(times)) {
		t.Errorf("%s: count %v, want %d", metric, h.Count, len(times))
	}
	if !closeTo(h.Sum, timeSum, 1e-9) {
		t.Errorf("%s: sum %v, want %v", metric, h.Sum, timeSum)
	}
	if v, desc, ok := p.scalarOf("histogram_sum(" + metric + ")"); !ok || !closeTo(v, timeSum, 1e-9) {
		t.Errorf("%s; want %v", desc, timeSum)
	}
	var inBuckets float64
	var widest float64
	for _, b := range h.Buckets {
		n := 0
		for _, v := range times {
			if b.contains(v) {
				n++
			}
		}
		if float64(n) != b.Count {
			t.Errorf("%s: bucket %+v holds %v observations, the log has %d values in it", metric, b, b.Count, n)
		}
		inBuckets += b.Count
		if b.Lower > 0 {
			widest = max(widest, b.Upper/b.Lower)
		}
	}
	if inBuckets != float64(len(times)) {
		t.Errorf("%s: the buckets hold %v observations, want %d", metric, inBuckets, len(times))
	}
	// From 1ms to 60s at a factor of at most 1.1: dozens of buckets.
	if len(h.Buckets) < 20 {
		t.Errorf("%s: only %d buckets: %+v", metric, len(h.Buckets), h.Buckets)
	}
	// The default bucket factor 1.1 gives schema 3: neighbouring bounds
	// differ by 2^(1/8) at most.
	if widest > math.Pow(2, 1.0/8)*(1+1e-12) {
		t.Errorf("%s: a bucket's bounds differ by a factor %v, more than the configured 1.1 allows (2^(1/8))", metric, widest)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		checkQuantile(t, p, fmt.Sprintf("histogram_quantile(%g, %s)", q, metric), quantileOf(sorted, q), h)
	}
	return h
}

// checkQuantile runs expr, a histogram_quantile over a native histogram
// with the buckets of h, and checks that the estimate lies in the bucket
// of h that holds want, the true quantile.
func checkQuantile(t *testing.T, p *promServer, expr string, want float64, h *promHistogram) {
	t.Helper()
	got, desc, ok := p.scalarOf(expr)
	if !ok {
		t.Error(desc)
		return
	}
	var bucket *promBucket
	for i := range h.Buckets {
		if h.Buckets[i].contains(want) {
			bucket = &h.Buckets[i]
		}
	}
	switch {
	case bucket == nil:
		t.Errorf("%s: no bucket holds the true quantile %v", expr, want)
	case got < bucket.Lower || got > bucket.Upper:
		t.Errorf("%s = %v; the true quantile is %v, in bucket [%v, %v], and the estimate must lie in that bucket", expr, got, want, bucket.Lower, bucket.Upper)
	default:
		t.Logf("%s = %.6g; true %v (relative error %.2f%%, bucket [%.6g, %.6g])", expr, got, want, 100*math.Abs(got-want)/want, bucket.Lower, bucket.Upper)
	}
}

// checkClassicBuckets checks that the text exposition of a histogram has
// exactly the classic buckets given, each counting the sorted values up to
// its bound.
func checkClassicBuckets(t *testing.T, ms metricSet, metric string, bounds, sorted []float64) {
	t.Helper()
	f := ms[metric]
	if f == nil || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetHistogram() == nil {
		t.Errorf("/metrics: %s missing or not one histogram", metric)
		return
	}
	h := f.GetMetric()[0].GetHistogram()
	var got []float64
	for _, b := range h.GetBucket() {
		ub := b.GetUpperBound()
		if math.IsInf(ub, 1) {
			continue
		}
		got = append(got, ub)
		want := 0
		for _, v := range sorted {
			if v <= ub {
				want++
			}
		}
		if b.GetCumulativeCount() != uint64(want) {
			t.Errorf("/metrics: %s_bucket{le=%q} = %d, want %d", metric, strconv.FormatFloat(ub, 'g', -1, 64), b.GetCumulativeCount(), want)
		}
	}
	if !slices.Equal(got, bounds) {
		t.Errorf("/metrics: %s exposes classic buckets %v, want %v", metric, got, bounds)
	}
}

// TestPrometheusScrapesHTTPSBasicAuth: Prometheus scrapes logmeter over TLS
// with basic auth (logmeter's server.web_config). The job with the right
// credentials is up and its data arrives; a job with a wrong password and
// one that does not trust the certificate are down and store nothing. This
// Prometheus runs without native histograms, so it ingests the classic
// buckets of a histogram that has both.
func TestPrometheusScrapesHTTPSBasicAuth(t *testing.T) {
	t.Parallel()
	promBinary(t, "prometheus")
	lines, times := exampleTimedLog(t)
	sorted := slices.Sorted(slices.Values(times))
	wantTotal := sumOfExpected(t, filepath.Join(repoRoot, "examples", "logs", "nginx-timed.expected"), "nginx_http_requests_total{")

	dir := t.TempDir()
	webConfig, certFile, pool := tlsBasicAuthWebConfig(t, dir)
	logPath := filepath.Join(dir, "access.log")
	appendLines(t, logPath, nil)
	addr := freeAddr(t)
	cfg := agentConfig{
		listen:    addr,
		webConfig: webConfig,
		inputs:    []fwdInput{{name: "nginx", format: "plain", paths: []string{logPath}}},
		rules:     []string{nginxRules(), histogramRules(t, dir)},
		stateDir:  filepath.Join(dir, "state"),
	}.write(t, dir)
	startDaemon(t, cfg, "https://"+addr, tlsClient(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}), [2]string{user, password})

	const good, wrong, untrusted = "logmeter-https", "logmeter-wrong-password", "logmeter-untrusted"
	job := func(name, tlsCfg, pass string) string {
		return fmt.Sprintf("- job_name: %s\n  scheme: https\n  tls_config: %s\n  basic_auth: {username: %s, password: %q}\n  static_configs:\n    - targets: [%q]\n",
			name, tlsCfg, user, pass, addr)
	}
	caCfg := fmt.Sprintf("{ca_file: %q}", certFile)
	p := startPrometheus(t, job(good, caCfg, password)+job(wrong, caCfg, password+"x")+job(untrusted, "{}", password))

	appendLines(t, logPath, lines)
	p.waitValue(t, 20*time.Second, fmt.Sprintf(`up{job=%q}`, good), 1)
	p.waitValue(t, 20*time.Second, fmt.Sprintf(`sum(nginx_http_requests_total{job=%q})`, good), wantTotal)
	p.waitValue(t, 20*time.Second, fmt.Sprintf(`sum(logmeter_lines_read_total{job=%q})`, good), float64(len(lines)))
	p.waitValue(t, 20*time.Second, fmt.Sprintf(`e2e_request_duration_seconds_bucket{job=%q,le="+Inf"}`, good), float64(len(times)))

	for _, c := range []struct{ job, errWant string }{{wrong, "401"}, {untrusted, "certificate"}} {
		p.waitValue(t, 20*time.Second, fmt.Sprintf(`up{job=%q}`, c.job), 0)
		targets, err := p.targetHealth(c.job)
		if err != nil {
			t.Fatal(err)
		}
		for u, h := range targets {
			if h[0] != "down" || !strings.Contains(h[1], c.errWant) {
				t.Errorf("job %s, target %s: health %q, last error %q; want down with an error mentioning %q", c.job, u, h[0], h[1], c.errWant)
			}
		}
		if len(targets) != 1 {
			t.Errorf("job %s: %d active targets, want 1", c.job, len(targets))
		}
		// Only the series Prometheus writes for every scrape (up, scrape_*).
		r, err := p.query(fmt.Sprintf(`count by (__name__) ({job=%q, __name__!~"up|scrape_.*"})`, c.job))
		if err != nil {
			t.Fatal(err)
		}
		if !r.empty() {
			t.Errorf("job %s stored logmeter's metrics: %s", c.job, describeSamples(r.Samples))
		}
	}

	// The classic buckets give a median in the classic bucket of the true one.
	want := quantileOf(sorted, 0.5)
	i, _ := slices.BinarySearch(e2eBuckets, want) // first bound >= want
	lower, upper := 0.0, math.Inf(1)
	if i > 0 {
		lower = e2eBuckets[i-1]
	}
	if i < len(e2eBuckets) {
		upper = e2eBuckets[i]
	}
	expr := fmt.Sprintf(`histogram_quantile(0.5, e2e_request_duration_seconds_bucket{job=%q})`, good)
	if got, desc, ok := p.scalarOf(expr); !ok || got < lower || got > upper {
		t.Errorf("%s; the true median %v lies in the classic bucket (%v, %v]", desc, want, lower, upper)
	} else {
		t.Logf("%s = %.6g; true median %v", expr, got, want)
	}
}

// TestPrometheusPromtoolCheckMetrics: `promtool check metrics` finds
// nothing to complain about in /metrics of a logmeter that loaded every
// shipped rule file, read every example log and forwarded the lines to
// Elasticsearch (so that the forwarder's metrics are there too).
func TestPrometheusPromtoolCheckMetrics(t *testing.T) {
	t.Parallel()
	promtool := promBinary(t, "promtool")
	es := estest.Start(t)
	a := startAllRulesAgent(t, es)
	a.feed.write(t, 0, 1)
	a.waitAllRead(t, true)

	code, body, err := a.d.get("/metrics")
	if err != nil || code != 200 {
		t.Fatalf("GET /metrics: status %d, %v", code, err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics on /metrics (%d bytes, %d lines): %v\n%s", len(body), bytes.Count(body, []byte("\n")), err, out)
	}
	for _, name := range []string{"nginx_http_requests_total", "apache_http_requests_total", "klog_messages_total",
		"app_log_messages_total", "kubernetes_warning_events_total", "logmeter_forward_docs_total"} {
		if !bytes.Contains(body, []byte("\n"+name)) {
			t.Errorf("/metrics has no %s: the check did not see every rule file's metrics", name)
		}
	}
}
