package e2e

// grok_exporter migration: the rules `logmeter import grok_exporter` writes
// must give, through `logmeter test`, exactly the metrics the real
// grok_exporter gives on the same log.
//
// The grok_exporter module the proxy serves is v0.2.8, which reads
// config_version 2 only. Each case therefore has a version 2 configuration,
// which grok_exporter runs and which is imported, and a version 3 twin that
// says the same with version 3 means (grok_patterns, imports of pattern
// files and directories, counters with a value, .logfile and base), which
// is imported too. Both imports must reproduce grok_exporter's metrics.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// grokCase is one configuration and log.
type grokCase struct {
	name string
	// files are written into the case directory (pattern files, metric
	// imports). In them and in the configurations, @DIR@ is the case
	// directory, @LOG@ the log file's absolute path, @PORT@ grok_exporter's
	// port and @REPO@ the repository root.
	files map[string]string
	v2    string // run by grok_exporter, and imported
	v3    string // the same in config_version 3: imported
	log   []string
	// v3Counters are metrics the version 3 twin declares as counters with
	// a value where version 2 (which has none) uses a cumulative gauge.
	v3Counters []string
	// observations holds, for each summary series (seriesKey), the values
	// observed, so that quantiles that differ can be checked against the
	// error both implementations promise.
	observations map[string][]float64
	quantileErr  float64
}

func TestGrokExporterImport(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in short mode: builds and runs the real grok_exporter (scripts/build-grok-exporter.sh)")
	}
	bin := grokExporterBinary(t)
	for _, c := range grokCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runGrokCase(t, bin, c)
		})
	}
}

// A configuration that cannot be imported gives one line on stderr, naming
// the file and line where possible, and exit status 1.
func TestGrokExporterImportErrors(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"syntax.yml":  "global:\n  config_version: 3\nmetrics:\n  - name: 'unterminated\n",
		"v1.yml":      "input:\n  type: stdin\nmetrics: []\n",
		"novalue.yml": "global: {config_version: 2}\nmetrics:\n  - {type: gauge, name: g, help: h, match: x}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		file, want string
	}{
		{"syntax.yml", "syntax.yml:4: invalid YAML: found unexpected end of stream"},
		{"v1.yml", "v1.yml:1:1: global.config_version is missing: this is a config_version 1 file (grok_exporter 0.1.x), which is not supported (supported: 2 and 3)"},
		{"novalue.yml", `novalue.yml:3:5: gauge "g" needs a "value"`},
		{"missing.yml", "logmeter: import: open " + filepath.Join(dir, "missing.yml") + ": no such file or directory"},
	}
	for _, tt := range tests {
		cmd := exec.Command(binPath, "import", "grok_exporter", filepath.Join(dir, tt.file))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
			t.Errorf("%s: %v, want exit status 1", tt.file, err)
		}
		want := tt.want
		if !strings.HasPrefix(want, "logmeter:") {
			want = filepath.Join(dir, want)
		}
		if got := stderr.String(); got != want+"\n" {
			t.Errorf("%s: stderr %q, want %q", tt.file, got, want+"\n")
		}
		if stdout.Len() > 0 {
			t.Errorf("%s: stdout %q, want nothing", tt.file, stdout.String())
		}
	}
}

func runGrokCase(t *testing.T, bin string, c grokCase) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	if err := os.WriteFile(logPath, []byte(strings.Join(c.log, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	subst := strings.NewReplacer("@DIR@", dir, "@LOG@", logPath, "@PORT@", port, "@REPO@", repoRoot)
	for name, content := range c.files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(subst.Replace(content)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v2 := filepath.Join(dir, "grok_exporter.yml")
	if err := os.WriteFile(v2, []byte(subst.Replace(c.v2)), 0o644); err != nil {
		t.Fatal(err)
	}

	want := runGrokExporter(t, bin, v2, addr, len(c.log))

	configs := []struct{ version, path, text string }{{"2", v2, c.v2}}
	if c.v3 != "" {
		configs = append(configs, struct{ version, path, text string }{"3", filepath.Join(dir, "grok_exporter_v3.yml"), c.v3})
	}
	for _, cfg := range configs {
		if cfg.version == "3" {
			if err := os.WriteFile(cfg.path, []byte(subst.Replace(cfg.text)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		rules := filepath.Join(dir, "imported_v"+cfg.version+".yaml")
		imported := runLogmeter(t, "import", "grok_exporter", "--rules-dir", dir, cfg.path)
		if err := os.WriteFile(rules, imported, 0o644); err != nil {
			t.Fatal(err)
		}
		runLogmeter(t, "check", "--rules", rules)
		out := runLogmeter(t, "test", "--format", "plain", "--self-metrics=false", "--rules", rules, logPath)
		got, err := parseMetrics(out)
		if err != nil {
			t.Fatalf("config_version %s: logmeter test output: %v\n%s", cfg.version, err, out)
		}
		var counters []string
		if cfg.version == "3" {
			counters = c.v3Counters
		}
		if diffs := compareGrokMetrics(want, got, counters, c); len(diffs) > 0 {
			t.Errorf("config_version %s: logmeter's metrics differ from grok_exporter's:\n  %s\nimported rules:\n%s\nlogmeter test printed:\n%s",
				cfg.version, strings.Join(diffs, "\n  "), imported, out)
		}
	}
}

// runLogmeter runs the logmeter binary and returns its stdout; a non-zero
// exit fails the test.
func runLogmeter(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("logmeter %s: %v\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.Bytes()
}

// runGrokExporter starts grok_exporter on cfg, waits until it has read all
// lines (grok_exporter_lines_total), returns its metrics and stops it.
func runGrokExporter(t *testing.T, bin, cfg, addr string, lines int) metricSet {
	t.Helper()
	out := &lockedBuffer{}
	cmd := exec.Command(bin, "-config", cfg)
	cmd.Dir = filepath.Dir(cfg)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start grok_exporter: %v", err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	stop := func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
		}
	}
	defer stop()

	client := &http.Client{Timeout: 5 * time.Second}
	scrape := func() (metricSet, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		return parseMetrics(body)
	}
	var ms metricSet
	waitFor(t, 30*time.Second, "grok_exporter to read every line", func() (bool, string) {
		select {
		case <-done:
			t.Fatalf("grok_exporter exited: %v\n%s", waitErr, out.String())
		default:
		}
		var err error
		if ms, err = scrape(); err != nil {
			return false, err.Error()
		}
		read := ms.get("grok_exporter_lines_total")
		return read == float64(lines), fmt.Sprintf("grok_exporter_lines_total is %v of %d", read, lines)
	})
	// Each line is counted after all metrics processed it, so this scrape
	// has them all; a second one shows that nothing was still on its way.
	again, err := scrape()
	if err != nil {
		t.Fatalf("scrape grok_exporter: %v", err)
	}
	if t.Failed() {
		t.Logf("grok_exporter output:\n%s", tail(out.String(), 40))
	}
	if errs := again.get("grok_exporter_line_processing_errors_total"); errs > 0 {
		t.Logf("grok_exporter reported %v line processing errors (expected when a case has values that do not parse):\n%s", errs, tail(out.String(), 10))
	}
	return again
}

var (
	grokOnce sync.Once
	grokBin  string
	grokErr  error
)

// grokExporterBinary returns the grok_exporter executable: the one in
// $GROK_EXPORTER_DIR, else the one scripts/build-grok-exporter.sh builds
// (once per test process). A failed build fails the test.
func grokExporterBinary(t *testing.T) string {
	t.Helper()
	grokOnce.Do(func() {
		dir := os.Getenv("GROK_EXPORTER_DIR")
		if dir == "" {
			script := filepath.Join(repoRoot, "scripts", "build-grok-exporter.sh")
			var stdout, stderr bytes.Buffer
			cmd := exec.Command("bash", script)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				grokErr = fmt.Errorf("cannot build grok_exporter (%s): %v\n%s", script, err, stderr.String())
				return
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			dir = lines[len(lines)-1]
		}
		grokBin = filepath.Join(dir, "grok_exporter")
		if _, err := os.Stat(grokBin); err != nil {
			grokErr = fmt.Errorf("no grok_exporter executable: %v", err)
		}
	})
	if grokErr != nil {
		t.Fatal(grokErr)
	}
	return grokBin
}

// ignoredFamily reports the metrics that are not the rules' own: the two
// programs' self-metrics, the Go runtime's, and the metrics of the /metrics
// handler of grok_exporter's client library (label handler="prometheus";
// no case defines metrics of these names).
func ignoredFamily(name string) bool {
	for _, p := range []string{"grok_exporter_", "logmeter_", "go_", "process_", "promhttp_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	switch name {
	case "http_requests_total", "http_request_duration_microseconds", "http_request_size_bytes", "http_response_size_bytes":
		return true
	}
	return false
}

// sample is one line of the text format: a value and its family's type.
type sample struct {
	value float64
	typ   dto.MetricType
	help  string
}

// seriesKey is name{a="x",b="y"} with the labels sorted.
func seriesKey(name string, m *dto.Metric) string {
	var ls []string
	for _, l := range m.GetLabel() {
		ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

// samples flattens the rules' metric families into one value per series
// and bucket or quantile.
func samples(ms metricSet) map[string]sample {
	out := map[string]sample{}
	for name, f := range ms {
		if ignoredFamily(name) {
			continue
		}
		typ, help := f.GetType(), f.GetHelp()
		add := func(key string, v float64) { out[key] = sample{v, typ, help} }
		for _, m := range f.GetMetric() {
			key := seriesKey(name, m)
			switch typ {
			case dto.MetricType_COUNTER:
				add(key, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add(key, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add(key, m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				base := seriesKey(name, m)
				for _, b := range h.GetBucket() {
					add(fmt.Sprintf("%s le=%s", base, strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)), float64(b.GetCumulativeCount()))
				}
				add(base+" le=+Inf", float64(h.GetSampleCount()))
				add(base+" sum", h.GetSampleSum())
				add(base+" count", float64(h.GetSampleCount()))
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				base := seriesKey(name, m)
				for _, q := range s.GetQuantile() {
					add(fmt.Sprintf("%s quantile=%s", base, strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64)), q.GetValue())
				}
				add(base+" sum", s.GetSampleSum())
				add(base+" count", float64(s.GetSampleCount()))
			}
		}
	}
	return out
}

// compareGrokMetrics lists the differences between grok_exporter's metrics
// (want) and logmeter's (got), sample by sample: names, label sets, types,
// help texts, counter and gauge values, histogram buckets, sums and counts
// exactly; summary quantiles exactly, or else both within the quantile
// error of the observations.
func compareGrokMetrics(want, got metricSet, counters []string, c grokCase) []string {
	w, g := samples(want), samples(got)
	var keys []string
	for k := range w {
		keys = append(keys, k)
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var diffs []string
	for _, k := range keys {
		ws, inW := w[k]
		gs, inG := g[k]
		switch {
		case !inG:
			diffs = append(diffs, fmt.Sprintf("%s: grok_exporter %v, logmeter has no such sample", k, ws.value))
			continue
		case !inW:
			diffs = append(diffs, fmt.Sprintf("%s: logmeter %v, grok_exporter has no such sample", k, gs.value))
			continue
		}
		name := k[:strings.IndexByte(k, '{')]
		wantType := ws.typ
		for _, n := range counters {
			if n == name && wantType == dto.MetricType_GAUGE {
				wantType = dto.MetricType_COUNTER
			}
		}
		if gs.typ != wantType {
			diffs = append(diffs, fmt.Sprintf("%s: type %v, want %v", k, gs.typ, wantType))
		}
		if gs.help != ws.help {
			diffs = append(diffs, fmt.Sprintf("%s: help %q, want %q", k, gs.help, ws.help))
		}
		if gs.value == ws.value || (math.IsNaN(gs.value) && math.IsNaN(ws.value)) {
			continue
		}
		if series, q, ok := strings.Cut(k, " quantile="); ok {
			phi, _ := strconv.ParseFloat(q, 64)
			obs := c.observations[series]
			if len(obs) > 0 && withinQuantile(obs, phi, c.quantileErr, ws.value) && withinQuantile(obs, phi, c.quantileErr, gs.value) {
				continue
			}
		}
		diffs = append(diffs, fmt.Sprintf("%s: logmeter %v, grok_exporter %v", k, gs.value, ws.value))
	}
	return diffs
}

// withinQuantile reports whether v is an observation whose rank is within
// eps*n of phi*n, the guarantee of the summaries' quantile streams.
func withinQuantile(obs []float64, phi, eps, v float64) bool {
	sorted := append([]float64(nil), obs...)
	sort.Float64s(sorted)
	lo := sort.SearchFloat64s(sorted, v)
	if lo == len(sorted) || sorted[lo] != v {
		return false
	}
	hi := lo
	for hi < len(sorted) && sorted[hi] == v {
		hi++
	}
	n := float64(len(sorted))
	// v occupies ranks lo+1..hi; one rank of slack for rounding.
	return float64(lo+1) <= (phi+eps)*n+1 && float64(hi) >= (phi-eps)*n-1
}

// testPatterns is a small grok pattern set written for these tests:
// grok_exporter has no built-in patterns.
const testPatterns = `# Core patterns for the grok_exporter migration tests.
INT [+-]?[0-9]+
NUMBER [+-]?[0-9]+(?:\.[0-9]+)?
WORD \b\w+\b
NOTSPACE \S+
DATA .*?
GREEDYDATA .*
URIPATH (?:/[A-Za-z0-9._~-]*)+
TIMESTAMP_ISO [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}
`

// appPatterns are the application's own patterns, the "imported pattern
// file" of the cases.
const appPatterns = `USERNAME [a-z][a-z0-9_]*
METHOD (?:GET|POST|PUT|DELETE)
`

func grokCases() []grokCase {
	return []grokCase{requestsCase(), observationsCase(), functionsCase(), logstashCase()}
}

// requestsCase: counters with and without labels, a counter with a value,
// gauges cumulative and not, a value that cannot be computed, and one
// match shared by several metrics.
func requestsCase() grokCase {
	r := rand.New(rand.NewSource(1))
	users := []string{"alice", "bob", "carol"}
	methods := []string{"GET", "GET", "POST", "PUT", "DELETE"}
	paths := []string{"/api/items/%d", "/api/users/%d/orders", "/health", "/static/app.js"}
	statuses := []string{"200", "200", "200", "201", "404", "500"}
	var lines []string
	for i := 0; i < 120; i++ {
		if i%17 == 5 {
			lines = append(lines, fmt.Sprintf("2024-05-01T10:%02d:%02d scheduler heartbeat", i/60, i%60))
			continue
		}
		path := paths[r.Intn(len(paths))]
		if strings.Contains(path, "%d") {
			path = fmt.Sprintf(path, r.Intn(50))
		}
		ms := r.Intn(400) // 0 ms makes bytes per ms a division by zero
		if i%23 == 0 {
			ms = 0
		}
		lines = append(lines, fmt.Sprintf("2024-05-01T10:%02d:%02d %s %s %s %s %d ms %d bytes",
			i/60, i%60, users[r.Intn(len(users))], methods[r.Intn(len(methods))], path,
			statuses[r.Intn(len(statuses))], ms, r.Intn(100000)))
	}
	const match = `'%{TIMESTAMP_ISO:ts} %{USERNAME:user} %{METHOD:method} %{URIPATH:path} %{STATUS:status} %{INT:ms} ms %{INT:bytes} bytes'`
	metricsV2 := `metrics:
  - type: counter
    name: app_log_lines_total
    help: Lines with a timestamp.
    match: '^%{TIMESTAMP_ISO} '
  - type: counter
    name: app_requests_total
    help: Requests by method, status and path.
    match: ` + match + `
    labels:
      method: '{{.method}}'
      status: '{{.status}}'
      path: '{{gsub .path "/[0-9]+" "/:id"}}'
  - type: gauge
    name: app_response_bytes_total
    help: Response bytes by user.
    match: ` + match + `
    value: '{{.bytes}}'
    cumulative: true
    labels:
      user: '{{.user}}'
  - type: gauge
    name: app_last_request_seconds
    help: Duration of the last request, by method.
    match: ` + match + `
    value: '{{divide .ms 1000}}'
    cumulative: false
    labels:
      method: '{{.method}}'
  - type: gauge
    name: app_last_bytes_per_ms
    help: Bytes per millisecond of the last request (not for 0 ms).
    match: ` + match + `
    value: '{{divide .bytes .ms}}'
  - type: counter
    name: app_heartbeats_total
    help: Scheduler heartbeats.
    match: 'scheduler heartbeat$'
`
	return grokCase{
		name: "requests",
		files: map[string]string{
			"patterns/core": testPatterns,
			"patterns/app":  appPatterns,
		},
		v2: `global:
  config_version: 2
input:
  type: file
  path: @LOG@
  readall: true
  fail_on_missing_logfile: true
grok:
  patterns_dir: ./patterns
  additional_patterns:
    - 'STATUS [1-5][0-9]{2}'
` + metricsV2 + `server:
  host: 127.0.0.1
  port: @PORT@
`,
		// The same with grok_patterns, an import of a pattern file and of
		// a directory, and a counter with a value instead of the
		// cumulative gauge.
		v3: `global:
  config_version: 3
input:
  type: file
  path: @LOG@
  readall: true
  fail_on_missing_logfile: true
imports:
  - type: grok_patterns
    file: patterns/core
  - type: grok_patterns
    dir: ./patterns
grok_patterns:
  - 'STATUS [1-5][0-9]{2}'
` + strings.Replace(strings.Replace(metricsV2, "  - type: gauge\n    name: app_response_bytes_total", "  - type: counter\n    name: app_response_bytes_total", 1),
			"    value: '{{.bytes}}'\n    cumulative: true\n", "    value: '{{.bytes}}'\n", 1) + `server:
  host: 127.0.0.1
  port: @PORT@
`,
		v3Counters: []string{"app_response_bytes_total"},
		log:        lines,
	}
}

// observationsCase: histograms with and without buckets, summaries with
// and without quantiles, arithmetic in values.
func observationsCase() grokCase {
	r := rand.New(rand.NewSource(2))
	jobs := []string{"build", "test", "deploy"}
	users := []string{"alice", "bob"}
	obs := map[string][]float64{}
	var lines []string
	for i := 0; i < 400; i++ {
		job, user := jobs[r.Intn(len(jobs))], users[r.Intn(len(users))]
		d := float64(r.Intn(200000)) / 100 // 0 to 2000, two decimals
		lines = append(lines, fmt.Sprintf("job=%s user=%s duration_ms=%.2f", job, user, d))
		series := fmt.Sprintf("job_duration_ms_summary{user=%q}", user)
		obs[series] = append(obs[series], d)
		obs["job_duration_shifted_summary{}"] = append(obs["job_duration_shifted_summary{}"], d+0.5)
	}
	lines = append(lines, "job=broken user=alice duration_ms=n/a")
	const match = `'job=%{WORD:job} user=%{WORD:user} duration_ms=%{NUMBER:ms}'`
	metrics := `metrics:
  - type: histogram
    name: job_duration_ms
    help: Job durations in ms.
    match: ` + match + `
    value: '{{.ms}}'
    buckets: [1, 5, 10, 50, 100, 500, 1000]
    labels:
      job: '{{.job}}'
  - type: histogram
    name: job_duration_seconds
    help: Job durations in seconds, default buckets.
    match: ` + match + `
    value: '{{divide .ms 1000}}'
  - type: summary
    name: job_duration_ms_summary
    help: Job durations by user.
    match: ` + match + `
    value: '{{.ms}}'
    quantiles: {0.5: 0.05, 0.9: 0.01, 0.99: 0.001}
    labels:
      user: '{{.user}}'
  - type: summary
    name: job_duration_shifted_summary
    help: Job durations plus half a ms, default quantiles.
    match: ` + match + `
    value: '{{add .ms 0.5}}'
  - type: counter
    name: job_broken_total
    help: Lines without a duration.
    match: 'duration_ms=n/a'
`
	return grokCase{
		name:  "observations",
		files: map[string]string{"patterns/core": testPatterns},
		v2: `global:
  config_version: 2
input:
  type: file
  path: @LOG@
  readall: true
grok:
  patterns_dir: patterns
` + metrics + `server:
  host: 127.0.0.1
  port: @PORT@
`,
		v3: `global:
  config_version: 3
input:
  type: file
  path: @LOG@
  readall: true
imports:
  - type: grok_patterns
    dir: patterns
` + metrics + `server:
  host: 127.0.0.1
  port: @PORT@
`,
		log:          lines,
		observations: obs,
		quantileErr:  0.05,
	}
}

// functionsCase: label templates with gsub (with a capture group), add,
// subtract, multiply, divide, timestamp and conditionals; in version 3
// also .logfile and base, which version 2 writes as constants.
func functionsCase() grokCase {
	var lines []string
	paths := []string{"/var/www/html/index.html", "/srv/data/report.csv", "/var/www/img/logo.png", "/home/alice/notes.txt"}
	for i := 0; i < 40; i++ {
		status := []string{"200", "200", "404", "503"}[i%4]
		lines = append(lines, fmt.Sprintf("2024-05-01T12:00:%02d served %s status=%s size=%d", i, paths[i%len(paths)], status, 100+i*37))
	}
	labels := func(v3 bool) string {
		s := `    labels:
      top: '{{gsub .file "^/([a-z]+)/.*" "\\1"}}'
      ext: '{{gsub .file ".*\\.([a-z]+)$" "ext-\\1"}}'
      outcome: '{{if eq .status "200"}}ok{{else}}error {{.status}}{{end}}'
      kib: '{{divide .size 1024}}'
      bits: '{{multiply .size 8}}'
      next: '{{add .size 1}}'
      prev: '{{subtract .size 1}}'
`
		if v3 {
			return s + "      logfile: '{{.logfile}}'\n      logname: '{{base .logfile}}'\n"
		}
		return s + "      logfile: '@LOG@'\n      logname: 'app.log'\n"
	}
	const match = `'%{TIMESTAMP_ISO:ts} served %{URIPATH:file} status=%{INT:status} size=%{INT:size}'`
	metrics := func(v3 bool) string {
		return `metrics:
  - type: counter
    name: files_served_total
    help: Files served.
    match: ` + match + `
` + labels(v3) + `  - type: gauge
    name: files_last_served_timestamp_seconds
    help: When a file was last served.
    match: ` + match + `
    value: '{{timestamp "2006-01-02T15:04:05" .ts}}'
    labels:
      top: '{{gsub .file "^/([a-z]+)/.*" "\\1"}}'
  - type: gauge
    name: files_size_kib_sum
    help: Sum of file sizes in KiB.
    match: ` + match + `
    value: '{{divide (subtract (multiply .size 2) .size) 1024}}'
    cumulative: true
`
	}
	return grokCase{
		name:  "functions",
		files: map[string]string{"patterns/core": testPatterns},
		v2: `global:
  config_version: 2
input:
  type: file
  path: @LOG@
  readall: true
grok:
  patterns_dir: patterns
` + metrics(false) + `server:
  host: 127.0.0.1
  port: @PORT@
`,
		v3: `global:
  config_version: 3
input:
  type: file
  path: @LOG@
  readall: true
imports:
  - type: grok_patterns
    file: patterns/core
` + metrics(true) + `server:
  host: 127.0.0.1
  port: @PORT@
`,
		log: lines,
	}
}

// logstashCase: grok_exporter pointed at a directory of real Logstash
// pattern files (logmeter's own copy), an Apache combined log.
func logstashCase() grokCase {
	r := rand.New(rand.NewSource(3))
	clients := []string{"192.168.1.10", "10.0.0.7", "2001:db8::1", "proxy.example.com"}
	reqs := []string{"GET /index.html HTTP/1.1", "POST /api/login HTTP/1.1", "GET /favicon.ico HTTP/1.0", "-"}
	var lines []string
	for i := 0; i < 80; i++ {
		bytes := strconv.Itoa(r.Intn(20000))
		if i%9 == 0 {
			bytes = "-"
		}
		status := []string{"200", "200", "304", "404", "500"}[r.Intn(5)]
		lines = append(lines, fmt.Sprintf(`%s - frank [10/Oct/2000:13:%02d:%02d -0700] "%s" %s %s "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`,
			clients[r.Intn(len(clients))], i/60, i%60, reqs[r.Intn(len(reqs))], status, bytes))
	}
	metrics := `metrics:
  - type: counter
    name: apache_requests_total
    help: Requests by verb and response.
    match: '%{COMBINEDAPACHELOG}'
    labels:
      verb: '{{.verb}}'
      response: '{{.response}}'
      client: '{{.clientip}}'
  - type: histogram
    name: apache_response_bytes
    help: Response sizes.
    match: '%{COMBINEDAPACHELOG}'
    value: '{{.bytes}}'
    buckets: [100, 1000, 10000]
`
	return grokCase{
		name: "logstash_patterns",
		v2: `global:
  config_version: 2
input:
  type: file
  path: @LOG@
  readall: true
grok:
  patterns_dir: @REPO@/pkg/match/patterns
` + metrics + `server:
  host: 127.0.0.1
  port: @PORT@
`,
		v3: `global:
  config_version: 3
input:
  type: file
  path: @LOG@
  readall: true
imports:
  - type: grok_patterns
    dir: @REPO@/pkg/match/patterns
` + metrics + `server:
  host: 127.0.0.1
  port: @PORT@
`,
		log: lines,
	}
}
