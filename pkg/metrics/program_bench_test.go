package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logmeter/logmeter/pkg/logline"
)

// nginxRuleFile is the benchmark rule shipped with the repository: one
// rule, four metrics over nginx's "timed" access log.
var nginxRuleFile = filepath.Join("..", "..", "bench", "nginx-4metrics.yaml")

func loadNginxPipeline(tb testing.TB) *pipeline {
	tb.Helper()
	data, err := os.ReadFile(nginxRuleFile)
	if err != nil {
		tb.Fatal(err)
	}
	p := newPipeline(tb)
	p.load(tb, string(data))
	return p
}

// nginxLog is a generated nginx access log in memory.
type nginxLog struct {
	lines []logline.Line
	good  []bool // whether the benchmark rule must match lines[i]
	nGood int
}

// pick returns one of items, item i with weight weights[i].
func pick[T any](r *rand.Rand, items []T, weights []int) T {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return items[i]
		}
		n -= w
	}
	return items[len(items)-1]
}

var (
	nginxMethods       = []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"}
	nginxMethodWeights = []int{700, 150, 50, 40, 30, 20, 10}
	nginxStatuses      = []int{200, 304, 301, 302, 201, 204, 400, 401, 403, 404, 499, 500, 502, 503, 504}
	nginxStatusWeights = []int{700, 80, 20, 15, 30, 20, 10, 10, 5, 60, 10, 15, 10, 10, 5}
	nginxAgents        = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
		"Prometheus/2.51.2",
		"kube-probe/1.29",
		"curl/8.5.0",
		"Go-http-client/1.1",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"-",
	}
	nginxAgentWeights = []int{30, 20, 15, 8, 5, 5, 3, 4, 5, 5}
	nginxReferrers    = []string{"-", "https://shop.example.com/", "https://shop.example.com/cart", "https://www.google.com/", `https://shop.example.com/search?q="coat"`}
	nginxRefWeights   = []int{50, 20, 10, 15, 5}
	nginxHosts        = []string{"lb-1.internal", "web-gw", "2001:db8::17", "fe80::1ff:fe23:4567:890a"}
)

func nginxPath(r *rand.Rand) (path string, static bool) {
	switch r.IntN(10) {
	case 0:
		return "/", false
	case 1, 2:
		return fmt.Sprintf("/static/js/app.%08x.js", r.Uint32()), true
	case 3:
		return fmt.Sprintf("/images/products/%d/%d.jpg", r.IntN(5000), r.IntN(8)), true
	case 4, 5:
		return fmt.Sprintf("/api/v1/products?category=%s&page=%d", pick(r, []string{"coats", "shoes", "bags", "hats"}, []int{4, 3, 2, 1}), 1+r.IntN(20)), false
	case 6:
		return fmt.Sprintf("/api/v1/orders/%d", 100000+r.IntN(900000)), false
	case 7:
		return "/metrics", false
	case 8:
		return "/healthz", false
	}
	return fmt.Sprintf("/shop/%s/item-%d.html", pick(r, []string{"women", "men", "kids"}, []int{1, 1, 1}), r.IntN(20000)), false
}

// nginxLine returns one access-log line in the benchmark rule's format.
func nginxLine(r *rand.Rand, at time.Time) string {
	var client string
	if r.IntN(20) == 0 {
		client = nginxHosts[r.IntN(len(nginxHosts))]
	} else {
		client = fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254))
	}
	user := "-"
	if r.IntN(50) == 0 {
		user = "prometheus"
	}
	method := pick(r, nginxMethods, nginxMethodWeights)
	path, static := nginxPath(r)
	status := pick(r, nginxStatuses, nginxStatusWeights)
	proto := pick(r, []string{"1.1", "2.0", "1.0"}, []int{70, 28, 2})
	bytes := 0
	switch {
	case method == "HEAD" || status == 204 || status == 304 || status == 499:
	case static && status == 200:
		bytes = 500 + r.IntN(300000)
	case status < 300:
		bytes = 100 + r.IntN(20000)
	default:
		bytes = 150 + r.IntN(40)
	}
	// Request times: log-normal around 40ms, static files near zero.
	var rt, up string
	switch {
	case static || status == 304:
		rt, up = fmt.Sprintf("%.3f", float64(r.IntN(5))/1000), "-"
	default:
		t := math.Min(30, math.Exp(math.Log(0.04)+1.1*r.NormFloat64()))
		rt, up = fmt.Sprintf("%.3f", t+0.001), fmt.Sprintf("%.3f", t)
		if status == 502 {
			up = fmt.Sprintf("%.3f, %.3f", t/2, t/2)
		}
	}
	return fmt.Sprintf(`%s - %s [%s] "%s %s HTTP/%s" %d %d "%s" "%s" %s %s`,
		client, user, at.Format("02/Jan/2006:15:04:05 -0700"), method, path, proto, status, bytes,
		pick(r, nginxReferrers, nginxRefWeights), pick(r, nginxAgents, nginxAgentWeights), rt, up)
}

// nginxBadLine returns a line from the same container the access rule must
// not match: error-log lines, requests nginx could not parse, lines cut short.
func nginxBadLine(r *rand.Rand, at time.Time) string {
	stamp := at.Format("02/Jan/2006:15:04:05 -0700")
	switch r.IntN(5) {
	case 0:
		return fmt.Sprintf(`%s [error] 29#29: *%d open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: 10.1.2.3, server: shop.example.com, request: "GET /favicon.ico HTTP/1.1", host: "shop.example.com"`,
			at.Format("2006/01/02 15:04:05"), 1000+r.IntN(90000))
	case 1:
		return fmt.Sprintf(`%s [warn] 29#29: *%d an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/3/00/000%05d while reading upstream`,
			at.Format("2006/01/02 15:04:05"), 1000+r.IntN(90000), r.IntN(99999))
	case 2:
		return fmt.Sprintf(`10.9.8.7 - - [%s] "-" 400 0 "-" "-" 0.000 -`, stamp)
	case 3:
		return fmt.Sprintf(`10.9.8.7 - - [%s] "GET /" 400 157 "-" "-" 0.001 -`, stamp)
	}
	full := nginxLine(r, at)
	return full[:len(full)/3+r.IntN(len(full)/3)]
}

// genNginxLog generates n lines, a fraction bad of them not access-log
// lines. The same arguments give the same log.
func genNginxLog(n int, bad float64, seed uint64) *nginxLog {
	r := rand.New(rand.NewPCG(seed, 0x6c6f676d65746572))
	start := time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("", 2*3600))
	l := &nginxLog{lines: make([]logline.Line, n), good: make([]bool, n)}
	for i := range n {
		at := start.Add(time.Duration(i) * 7 * time.Millisecond)
		var s string
		if r.Float64() < bad {
			s = nginxBadLine(r, at)
		} else {
			s = nginxLine(r, at)
			l.good[i] = true
			l.nGood++
		}
		l.lines[i] = logline.Line{Text: []byte(s), Input: "nginx", Stream: "stdout"}
	}
	return l
}

// TestNginxGeneratedLog checks the benchmark's input: the rule matches
// exactly the lines generated as access-log lines, and the four metrics
// count them all.
func TestNginxGeneratedLog(t *testing.T) {
	p := loadNginxPipeline(t)
	log := genNginxLog(5000, 0.05, 1)
	if log.nGood < 4600 || log.nGood > 4900 {
		t.Fatalf("%d of 5000 lines are access-log lines, want about 95%%", log.nGood)
	}
	for i := range log.lines {
		want := 0
		if log.good[i] {
			want = 1
		}
		if got := p.run.Process(&log.lines[i], t0, nil); got != want {
			t.Errorf("Process(%q) = %d, want %d", log.lines[i].Text, got, want)
		}
	}
	good := float64(log.nGood)
	sum := func(name string) float64 {
		var s float64
		for _, m := range gatherOne(t, p.gather, name).GetMetric() {
			switch {
			case m.GetCounter() != nil:
				s += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				s += float64(m.GetHistogram().GetSampleCount())
			}
		}
		return s
	}
	if got := sum("nginx_http_requests_total"); got != good {
		t.Errorf("nginx_http_requests_total adds up to %g, want %g", got, good)
	}
	if got := sum("nginx_http_request_duration_seconds"); got != good {
		t.Errorf("nginx_http_request_duration_seconds counts %g observations, want %g", got, good)
	}
	if got := sum("nginx_http_response_bytes_total"); got <= 0 {
		t.Errorf("nginx_http_response_bytes_total adds up to %g, want more than 0", got)
	}
	if got := testutil.ToFloat64(p.self.LinesUnmatched.WithLabelValues("nginx")); got != float64(len(log.lines)-log.nGood) {
		t.Errorf("unmatched lines = %g, want %d", got, len(log.lines)-log.nGood)
	}
	if got := testutil.ToFloat64(p.self.ValueErrors.WithLabelValues("nginx_http_response_bytes_total")); got != 0 {
		t.Errorf("%g value errors, want 0", got)
	}
}

// TestRunnerSteadyStateAllocs checks that, once a line's series exist,
// processing it allocates nothing.
func TestRunnerSteadyStateAllocs(t *testing.T) {
	meta := `
rules:
  - name: web
    match: '^%{WORD:method} %{INT:status} %{NUMBER:seconds}$'
    sources: {inputs: ["web-*"], namespaces: ["shop-*"], pod_labels: {app: "front*"}}
    max_series: 1000
    expire: 10m
    metrics:
      - name: requests_total
        type: counter
        help: Requests.
        labels: {method: '{{.method}}', code: 'HTTP {{.status}}', ns: '{{.kubernetes.namespace}}', app: '{{.kubernetes.labels.app}}', input: '{{.input}}', stream: '{{.stream}}', job: web}
      - {name: inflight, type: gauge, help: In flight., action: add, value: '{{.seconds}}', labels: {pod: '{{.kubernetes.pod}}'}}
      - {name: last_seconds, type: gauge, help: Last., value: '{{.seconds}}'}
      - {name: seconds, type: histogram, help: Seconds., value: '{{.seconds}}', labels: {method: '{{.method}}'}}
      - {name: seconds_summary, type: summary, help: Seconds., value: '{{.seconds}}', labels: {method: '{{.method}}'}}
  - name: other_namespace
    match: '^%{WORD:method} '
    sources: {namespaces: ["kube-*"]}
    metrics:
      - {name: kube_lines_total, type: counter, help: Lines.}
`
	pod := &logline.Kube{Namespace: "shop-eu", Pod: "web-1", Container: "web", Labels: map[string]string{"app": "frontend"}}
	metaLines := func() []logline.Line {
		var lines []logline.Line
		for i, s := range []string{"GET 200 0.25", "POST 201 1.5", "GET 404 0.01", "DELETE 500 3"} {
			lines = append(lines, logline.Line{Text: []byte(s), Input: fmt.Sprintf("web-%d", i%2), Stream: "stdout", Kube: pod})
		}
		return lines
	}
	nginx := func(bad float64) func() []logline.Line {
		return func() []logline.Line { return genNginxLog(2000, bad, 7).lines }
	}
	tests := []struct {
		name  string
		rules string // "" for the nginx benchmark rule
		lines func() []logline.Line
	}{
		{"nginx matched lines", "", nginx(0)},
		{"nginx with unmatched lines", "", nginx(0.05)},
		{"line metadata in labels, every metric type", meta, metaLines},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p *pipeline
			if tt.rules == "" {
				p = loadNginxPipeline(t)
			} else {
				p = newPipeline(t)
				p.load(t, tt.rules)
			}
			lines := tt.lines()
			matched := 0
			for i := range lines { // warm-up: creates the series
				matched += p.run.Process(&lines[i], t0, nil)
			}
			if matched == 0 {
				t.Fatal("no line matched")
			}
			allocs := testing.AllocsPerRun(5, func() {
				for i := range lines {
					p.run.Process(&lines[i], t0, nil)
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per pass over %d lines (%d matches), want 0", allocs, len(lines), matched)
			}
		})
	}
}

func benchmarkRunnerNginx(b *testing.B, bad float64) {
	const n = 100_000
	p := loadNginxPipeline(b)
	log := genNginxLog(n, bad, 42)
	lines := log.lines
	// One pass outside the measurement creates the series, as a running
	// agent has them, and checks that the rule matches what it should.
	matched := 0
	for i := range lines {
		matched += p.run.Process(&lines[i], t0, nil)
	}
	if matched != log.nGood {
		b.Fatalf("%d lines matched, want %d", matched, log.nGood)
	}
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	passes := 0
	for b.Loop() {
		for i := range lines {
			p.run.Process(&lines[i], t0, nil)
		}
		passes++
	}
	runtime.ReadMemStats(&after)
	perLine := float64(passes * len(lines))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/perLine, "ns/line")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/perLine, "allocs/line")
	b.ReportMetric(float64(len(lines)), "lines/op")
}

// BenchmarkRunnerNginx processes a generated nginx access log, 5% of it
// lines the rule does not match, with the four-metric benchmark rule.
// One op is one pass over 100,000 lines; see ns/line and allocs/line.
func BenchmarkRunnerNginx(b *testing.B) { benchmarkRunnerNginx(b, 0.05) }

// BenchmarkRunnerNginxAllMatch is BenchmarkRunnerNginx with every line an
// access-log line.
func BenchmarkRunnerNginxAllMatch(b *testing.B) { benchmarkRunnerNginx(b, 0) }
