package metrics

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/logmeter/logmeter/pkg/config"
	"github.com/logmeter/logmeter/pkg/logline"
	"github.com/logmeter/logmeter/pkg/match"
)

// testLibrary is the built-in pattern library, loaded once: Build only
// clones it.
var testLibrary = sync.OnceValue(match.NewLibrary)

// ruleFileName is the path rule texts are parsed under; problems carry it.
const ruleFileName = "rules.yaml"

// pipeline is one rule version built on a fresh registry: the rule
// families and the self-metrics are gathered together.
type pipeline struct {
	reg    *Registry
	self   *Self
	gather *prometheus.Registry
	prog   *Program
	run    *Runner
}

func newPipeline(t testing.TB) *pipeline {
	t.Helper()
	gather := prometheus.NewPedanticRegistry()
	self, err := NewSelf(gather, "test", "abc")
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry(self)
	gather.MustRegister(reg)
	return &pipeline{reg: reg, self: self, gather: gather}
}

// parseRules parses rule file text as ParseRuleFile reads it from disk.
func parseRules(t testing.TB, text string) *config.RuleFile {
	t.Helper()
	rf, probs := config.ParseRuleFile(ruleFileName, []byte(text))
	if len(probs) > 0 {
		t.Fatalf("rule file does not parse:\n%v", probs)
	}
	return rf
}

// load builds text on p's registry, installs the program's families and
// makes a runner for it, as a reload does.
func (p *pipeline) load(t testing.TB, text string) {
	t.Helper()
	prog, probs := Build([]*config.RuleFile{parseRules(t, text)}, testLibrary(), p.reg, p.self)
	if len(probs) > 0 {
		t.Fatalf("Build:\n%v", probs)
	}
	if err := p.reg.Swap(prog.Families()); err != nil {
		t.Fatalf("Swap: %v", err)
	}
	p.prog, p.run = prog, prog.NewRunner()
}

func (p *pipeline) process(lines []logline.Line, now time.Time) {
	for i := range lines {
		p.run.Process(&lines[i], now, nil)
	}
}

// compare checks the exposition of the metrics named in want's TYPE lines
// and in extra (metrics expected to be absent).
func (p *pipeline) compare(t testing.TB, want string, extra ...string) {
	t.Helper()
	names := append(typeNames(want), extra...)
	if err := testutil.GatherAndCompare(p.gather, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

var typeLine = regexp.MustCompile(`(?m)^# TYPE (\S+) `)

func typeNames(exposition string) []string {
	var names []string
	for _, m := range typeLine.FindAllStringSubmatch(exposition, -1) {
		names = append(names, m[1])
	}
	return names
}

// text returns a line from no particular input.
func text(s string) logline.Line { return logline.Line{Text: []byte(s)} }

func fromInput(input, s string) logline.Line { return logline.Line{Text: []byte(s), Input: input} }

func fromPod(k *logline.Kube, s string) logline.Line { return logline.Line{Text: []byte(s), Kube: k} }

func TestProgramProcess(t *testing.T) {
	webPod := &logline.Kube{Namespace: "shop-eu", Pod: "web-1", Container: "web", Labels: map[string]string{"app": "frontend", "tier": "1"}}
	tests := []struct {
		name  string
		rules string
		lines []logline.Line
		want  string
		// absent lists metrics that must not be exposed at all.
		absent []string
	}{
		{
			name: "counter counts one per line",
			rules: `
rules:
  - name: req
    match: '^%{WORD:method} %{INT:status}$'
    metrics:
      - name: requests_total
        type: counter
        help: Requests.
        labels: {method: '{{.method}}', status: '{{.status}}'}
`,
			lines: []logline.Line{text("GET 200"), text("GET 200"), text("POST 500"), text("nonsense")},
			want: `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{method="GET",status="200"} 2
requests_total{method="POST",status="500"} 1
# HELP logmeter_lines_matched_total Lines matched by a rule.
# TYPE logmeter_lines_matched_total counter
logmeter_lines_matched_total{rule="req"} 3
# HELP logmeter_lines_unmatched_total Lines matched by no rule.
# TYPE logmeter_lines_unmatched_total counter
logmeter_lines_unmatched_total{input=""} 1
`,
		},
		{
			name: "counter adds its value",
			rules: `
rules:
  - name: bytes
    match: '^%{WORD:method} %{NUMBER:bytes}$'
    metrics:
      - name: bytes_total
        type: counter
        help: Bytes.
        value: '{{.bytes}}'
        labels: {method: '{{.method}}'}
`,
			lines: []logline.Line{text("GET 100"), text("GET 23.5"), text("PUT 0"), text("PUT 1000"), text("PUT 1e3")},
			want: `# HELP bytes_total Bytes.
# TYPE bytes_total counter
bytes_total{method="GET"} 123.5
bytes_total{method="PUT"} 1000
`,
		},
		{
			name: "gauge set add sub and several metrics per rule",
			rules: `
rules:
  - name: level
    match: 'n=%{NUMBER:n}'
    metrics:
      - {name: level_last, type: gauge, help: Last., value: '{{.n}}'}
      - {name: level_set, type: gauge, help: Set explicitly., action: set, value: '{{.n}}'}
      - {name: level_sum, type: gauge, help: Sum., action: add, value: '{{.n}}'}
      - {name: level_neg, type: gauge, help: Negated sum., action: sub, value: '{{.n}}'}
      - {name: level_lines, type: gauge, help: Lines., action: add}
      - {name: level_countdown, type: gauge, help: Minus lines., action: sub}
`,
			lines: []logline.Line{text("n=5"), text("x n=3"), text("n=-1.5")},
			want: `# HELP level_last Last.
# TYPE level_last gauge
level_last -1.5
# HELP level_set Set explicitly.
# TYPE level_set gauge
level_set -1.5
# HELP level_sum Sum.
# TYPE level_sum gauge
level_sum 6.5
# HELP level_neg Negated sum.
# TYPE level_neg gauge
level_neg -6.5
# HELP level_lines Lines.
# TYPE level_lines gauge
level_lines 3
# HELP level_countdown Minus lines.
# TYPE level_countdown gauge
level_countdown -3
`,
		},
		{
			name: "histogram with buckets",
			rules: `
rules:
  - name: dur
    match: '^%{WORD:method} %{NUMBER:seconds}$'
    metrics:
      - name: duration_seconds
        type: histogram
        help: Duration.
        value: '{{.seconds}}'
        buckets: [0.3, 1]
        labels: {method: '{{.method}}'}
`,
			lines: []logline.Line{text("GET 0.25"), text("GET 0.5"), text("GET 2"), text("GET 1"), text("POST 0.125")},
			want: `# HELP duration_seconds Duration.
# TYPE duration_seconds histogram
duration_seconds_bucket{method="GET",le="0.3"} 1
duration_seconds_bucket{method="GET",le="1"} 3
duration_seconds_bucket{method="GET",le="+Inf"} 4
duration_seconds_sum{method="GET"} 3.75
duration_seconds_count{method="GET"} 4
duration_seconds_bucket{method="POST",le="0.3"} 1
duration_seconds_bucket{method="POST",le="1"} 1
duration_seconds_bucket{method="POST",le="+Inf"} 1
duration_seconds_sum{method="POST"} 0.125
duration_seconds_count{method="POST"} 1
`,
		},
		{
			name: "histogram value through a template function",
			rules: `
rules:
  - name: dur
    match: 'took %{INT:ms}ms'
    metrics:
      - name: took_seconds
        type: histogram
        help: Duration.
        value: '{{divide .ms 1000}}'
        buckets: [0.1, 1]
`,
			lines: []logline.Line{text("took 50ms"), text("took 250ms"), text("took 2000ms")},
			want: `# HELP took_seconds Duration.
# TYPE took_seconds histogram
took_seconds_bucket{le="0.1"} 1
took_seconds_bucket{le="1"} 2
took_seconds_bucket{le="+Inf"} 3
took_seconds_sum 2.3
took_seconds_count 3
`,
		},
		{
			name: "two rules feed one metric",
			rules: `
rules:
  - name: gets
    match: '^GET %{INT:status}'
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {method: GET, status: '{{.status}}'}}
  - name: posts
    match: '^POST %{INT:code}'
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {method: POST, status: '{{.code}}'}}
`,
			lines: []logline.Line{text("GET 200"), text("POST 201"), text("POST 201"), text("GET 404")},
			want: `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{method="GET",status="200"} 1
requests_total{method="GET",status="404"} 1
requests_total{method="POST",status="201"} 2
# HELP logmeter_lines_matched_total Lines matched by a rule.
# TYPE logmeter_lines_matched_total counter
logmeter_lines_matched_total{rule="gets"} 2
logmeter_lines_matched_total{rule="posts"} 2
`,
		},
		{
			name: "every rule that fits is tried",
			rules: `
rules:
  - name: any_word
    match: '^%{WORD:w}'
    metrics:
      - {name: words_total, type: counter, help: Words., labels: {w: '{{.w}}'}}
  - name: gets
    match: '^GET '
    metrics:
      - {name: gets_total, type: counter, help: GETs.}
  - name: counted_only
    match: ' /health$'
`,
			lines: []logline.Line{text("GET /"), text("POST /"), text("GET /health"), text("/health")},
			want: `# HELP words_total Words.
# TYPE words_total counter
words_total{w="GET"} 2
words_total{w="POST"} 1
# HELP gets_total GETs.
# TYPE gets_total counter
gets_total 2
# HELP logmeter_lines_matched_total Lines matched by a rule.
# TYPE logmeter_lines_matched_total counter
logmeter_lines_matched_total{rule="any_word"} 3
logmeter_lines_matched_total{rule="gets"} 2
logmeter_lines_matched_total{rule="counted_only"} 1
# HELP logmeter_lines_unmatched_total Lines matched by no rule.
# TYPE logmeter_lines_unmatched_total counter
logmeter_lines_unmatched_total{input=""} 1
`,
		},
		{
			name: "sources inputs globs",
			rules: `
rules:
  - name: nginx
    match: '%{INT:status}'
    sources: {inputs: ["nginx-*", exact]}
    metrics:
      - {name: status_total, type: counter, help: Statuses., labels: {input: '{{.input}}'}}
`,
			lines: []logline.Line{
				fromInput("nginx-eu", "200"), fromInput("nginx-us", "200"), fromInput("exact", "200"),
				fromInput("exactly", "200"), fromInput("apache", "200"), fromInput("", "200"),
				fromInput("nginx-eu", "no number"),
			},
			want: `# HELP status_total Statuses.
# TYPE status_total counter
status_total{input=""} 1
status_total{input="exact"} 1
status_total{input="nginx-eu"} 1
status_total{input="nginx-us"} 1
# HELP logmeter_lines_unmatched_total Lines matched by no rule.
# TYPE logmeter_lines_unmatched_total counter
logmeter_lines_unmatched_total{input="apache"} 1
logmeter_lines_unmatched_total{input="exactly"} 1
logmeter_lines_unmatched_total{input="nginx-eu"} 1
`,
		},
		{
			name: "sources namespaces containers pod_labels",
			rules: `
rules:
  - name: web
    match: 'hit'
    sources:
      namespaces: ["shop-*", staging]
      containers: [web, "side?ar"]
      pod_labels: {app: "front*", tier: "1"}
    metrics:
      - {name: hits_total, type: counter, help: Hits., labels: {pod: '{{.kubernetes.pod}}'}}
`,
			lines: []logline.Line{
				fromPod(webPod, "hit"),
				fromPod(&logline.Kube{Namespace: "staging", Pod: "stage-1", Container: "sidecar", Labels: map[string]string{"app": "front", "tier": "1", "extra": "x"}}, "hit"),
				fromPod(&logline.Kube{Namespace: "shop", Pod: "bad-ns", Container: "web", Labels: webPod.Labels}, "hit"),
				fromPod(&logline.Kube{Namespace: "shop-eu", Pod: "bad-container", Container: "nginx", Labels: webPod.Labels}, "hit"),
				fromPod(&logline.Kube{Namespace: "shop-eu", Pod: "bad-label", Container: "web", Labels: map[string]string{"app": "backend", "tier": "1"}}, "hit"),
				fromPod(&logline.Kube{Namespace: "shop-eu", Pod: "missing-label", Container: "web", Labels: map[string]string{"app": "frontend"}}, "hit"),
				fromPod(&logline.Kube{Namespace: "shop-eu", Pod: "no-labels", Container: "web"}, "hit"),
				fromPod(nil, "hit"),
			},
			want: `# HELP hits_total Hits.
# TYPE hits_total counter
hits_total{pod="stage-1"} 1
hits_total{pod="web-1"} 1
# HELP logmeter_lines_unmatched_total Lines matched by no rule.
# TYPE logmeter_lines_unmatched_total counter
logmeter_lines_unmatched_total{input=""} 6
`,
		},
		{
			name: "sources inputs and namespaces together",
			rules: `
rules:
  - name: web
    match: 'hit'
    sources: {inputs: [containers], namespaces: ["shop-*"]}
    metrics:
      - {name: hits_total, type: counter, help: Hits., labels: {input: '{{.input}}', ns: '{{.kubernetes.namespace}}'}}
`,
			lines: []logline.Line{
				{Text: []byte("hit"), Input: "containers", Kube: webPod},
				{Text: []byte("hit"), Input: "other", Kube: webPod},
				{Text: []byte("hit"), Input: "containers"},
				{Text: []byte("hit"), Kube: webPod},
			},
			want: `# HELP hits_total Hits.
# TYPE hits_total counter
hits_total{input="",ns="shop-eu"} 1
hits_total{input="containers",ns="shop-eu"} 1
# HELP logmeter_lines_unmatched_total Lines matched by no rule.
# TYPE logmeter_lines_unmatched_total counter
logmeter_lines_unmatched_total{input="containers"} 1
logmeter_lines_unmatched_total{input="other"} 1
`,
		},
		{
			name: "rule without sources fits every line",
			rules: `
rules:
  - name: scoped
    match: 'hit'
    sources: {namespaces: [none]}
    metrics:
      - {name: scoped_total, type: counter, help: Scoped.}
  - name: open
    match: 'hit'
    metrics:
      - {name: open_total, type: counter, help: Open.}
`,
			lines: []logline.Line{fromPod(webPod, "hit"), fromInput("x", "hit"), text("hit")},
			want: `# HELP open_total Open.
# TYPE open_total counter
open_total 3
# HELP scoped_total Scoped.
# TYPE scoped_total counter
scoped_total 0
`,
			absent: []string{"scoped_total", "logmeter_lines_unmatched_total"},
		},
		{
			name: "label templates",
			rules: `
rules:
  - name: req
    match: '^%{WORD:method} %{NOTSPACE:path}'
    metrics:
      - name: requests_total
        type: counter
        help: Requests.
        labels:
          method: '{{.method}}'
          job: web
          route: '{{.method}} {{.path}}!'
          input: '{{.input}}'
          stream: '{{.stream}}'
          ns: '{{.kubernetes.namespace}}'
          app: '{{.kubernetes.labels.app}}'
          file: '{{base .path}}'
          lower: '{{if eq .method "GET"}}read{{else}}write{{end}}'
`,
			lines: []logline.Line{
				{Text: []byte("GET /shop/cart.html"), Input: "nginx", Stream: "stdout", Kube: webPod},
				{Text: []byte("PUT /api/items/7"), Input: "api", Stream: "stderr"},
			},
			want: `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{app="",file="7",input="api",job="web",lower="write",method="PUT",ns="",route="PUT /api/items/7!",stream="stderr"} 1
requests_total{app="frontend",file="cart.html",input="nginx",job="web",lower="read",method="GET",ns="shop-eu",route="GET /shop/cart.html!",stream="stdout"} 1
`,
		},
		{
			name: "optional capture that did not participate renders empty",
			rules: `
rules:
  - name: req
    match: '^%{WORD:method}(?: %{INT:status})?$'
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {method: '{{.method}}', status: '{{.status}}'}}
`,
			lines: []logline.Line{text("GET 200"), text("GET")},
			want: `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{method="GET",status=""} 1
requests_total{method="GET",status="200"} 1
`,
		},
		{
			name: "bad value skips only that metric",
			rules: `
rules:
  - name: req
    match: '^%{WORD:method} %{NOTSPACE:bytes} %{NOTSPACE:seconds}$'
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {method: '{{.method}}'}}
      - {name: bytes_total, type: counter, help: Bytes., value: '{{.bytes}}', labels: {method: '{{.method}}'}}
      - {name: seconds, type: histogram, help: Seconds., value: '{{.seconds}}', buckets: [1]}
      - {name: last_seconds, type: gauge, help: Last., value: '{{divide .seconds 1}}'}
`,
			lines: []logline.Line{
				text("GET 10 0.5"),
				text("GET - 0.5"),    // bytes not a number
				text("GET -5 0.5"),   // negative counter increment
				text("POST 7 slow"),  // seconds not a number: histogram and gauge skipped
				text("POST 1 NaN"),   // NaN is refused everywhere
				text("POST 2 +Inf"),  // so are infinities
				text("POST 0x10 -1"), // hex is no value for logs
			},
			want: `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{method="GET"} 3
requests_total{method="POST"} 4
# HELP bytes_total Bytes.
# TYPE bytes_total counter
bytes_total{method="GET"} 10
bytes_total{method="POST"} 10
# HELP seconds Seconds.
# TYPE seconds histogram
seconds_bucket{le="1"} 4
seconds_bucket{le="+Inf"} 4
seconds_sum 0.5
seconds_count 4
# HELP last_seconds Last.
# TYPE last_seconds gauge
last_seconds -1
# HELP logmeter_value_errors_total Rule metric values that did not parse as a usable number.
# TYPE logmeter_value_errors_total counter
logmeter_value_errors_total{metric="bytes_total"} 3
logmeter_value_errors_total{metric="last_seconds"} 3
logmeter_value_errors_total{metric="requests_total"} 0
logmeter_value_errors_total{metric="seconds"} 3
`,
		},
		{
			name: "max_series drops new label sets",
			rules: `
rules:
  - name: req
    match: '^%{WORD:method} %{INT:status}$'
    max_series: 2
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {status: '{{.status}}'}}
      - {name: methods_total, type: counter, help: Methods., labels: {method: '{{.method}}'}}
`,
			lines: []logline.Line{text("GET 200"), text("GET 404"), text("GET 500"), text("POST 200"), text("PUT 503"), text("GET 404")},
			want: `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{status="200"} 2
requests_total{status="404"} 2
# HELP methods_total Methods.
# TYPE methods_total counter
methods_total{method="GET"} 4
methods_total{method="POST"} 1
# HELP logmeter_series_dropped_total New label sets refused because the metric reached max_series.
# TYPE logmeter_series_dropped_total counter
logmeter_series_dropped_total{metric="methods_total"} 1
logmeter_series_dropped_total{metric="requests_total"} 2
# HELP logmeter_lines_matched_total Lines matched by a rule.
# TYPE logmeter_lines_matched_total counter
logmeter_lines_matched_total{rule="req"} 6
`,
		},
		{
			name: "unmatched lines by input",
			rules: `
rules:
  - name: req
    match: '^GET '
`,
			lines: []logline.Line{fromInput("a", "GET /"), fromInput("a", "POST /"), fromInput("b", "x"), fromInput("b", ""), text("y")},
			want: `# HELP logmeter_lines_matched_total Lines matched by a rule.
# TYPE logmeter_lines_matched_total counter
logmeter_lines_matched_total{rule="req"} 1
# HELP logmeter_lines_unmatched_total Lines matched by no rule.
# TYPE logmeter_lines_unmatched_total counter
logmeter_lines_unmatched_total{input=""} 1
logmeter_lines_unmatched_total{input="a"} 1
logmeter_lines_unmatched_total{input="b"} 2
`,
		},
		{
			name: "patterns defined in the rule file",
			rules: `
patterns:
  VERB: '(?:GET|POST)'
  REQ: '%{VERB:verb} %{URIPATH:path}'
rules:
  - name: req
    match: '"%{REQ}"'
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {verb: '{{.verb}}', path: '{{.path}}'}}
`,
			lines: []logline.Line{text(`x "GET /a" y`), text(`"DELETE /a"`), text(`"POST /b/c"`)},
			want: `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{path="/a",verb="GET"} 1
requests_total{path="/b/c",verb="POST"} 1
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPipeline(t)
			p.load(t, tt.rules)
			p.process(tt.lines, t0)
			p.compare(t, tt.want, tt.absent...)
		})
	}
}

// TestProgramProcessCount checks what Process returns: the number of rules
// that matched the line.
func TestProgramProcessCount(t *testing.T) {
	p := newPipeline(t)
	p.load(t, `
rules:
  - {name: a, match: 'x'}
  - {name: b, match: 'xy'}
  - {name: c, match: 'z', sources: {inputs: [zin]}}
`)
	if got := p.prog.Rules(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Rules() = %v, want [a b c] in file order", got)
	}
	tests := []struct {
		line logline.Line
		want int
	}{
		{text("x"), 1},
		{text("xy"), 2},
		{text("q"), 0},
		{fromInput("zin", "xyz"), 3},
		{fromInput("other", "xyz"), 2},
	}
	for _, tt := range tests {
		if got := p.run.Process(&tt.line, t0, nil); got != tt.want {
			t.Errorf("Process(%q from %q) = %d, want %d", tt.line.Text, tt.line.Input, got, tt.want)
		}
	}
}

func TestProgramHits(t *testing.T) {
	p := newPipeline(t)
	p.load(t, `
rules:
  - {name: kv, match: '%{WORD:key}=%{INT:val}'}
  - {name: all, match: '^%{GREEDYDATA:rest}$'}
`)
	var hits []Hit
	line := text("a=1 b=2")
	if n := p.run.Process(&line, t0, &hits); n != 2 || len(hits) != 2 {
		t.Fatalf("Process = %d with %d hits, want 2 and 2", n, len(hits))
	}
	caps := func(h Hit) map[string]string {
		out := map[string]string{}
		for i, f := range h.Fields {
			if h.Captures[2*i] >= 0 {
				out[f.Name] = string(line.Text[h.Captures[2*i]:h.Captures[2*i+1]])
			}
		}
		return out
	}
	if h := hits[0]; h.Rule != "kv" || caps(h)["key"] != "a" || caps(h)["val"] != "1" {
		t.Errorf("first hit = %s %v, want kv with key=a val=1", h.Rule, caps(h))
	}
	if h := hits[1]; h.Rule != "all" || caps(h)["rest"] != "a=1 b=2" {
		t.Errorf("second hit = %s %v, want all with rest=%q", h.Rule, caps(h), line.Text)
	}
	// The hit keeps its own captures: a later line must not change them.
	other := text("zz=99")
	p.run.Process(&other, t0, nil)
	if caps(hits[0])["val"] != "1" {
		t.Errorf("hit captures changed by a later line: %v", caps(hits[0]))
	}
}

// TestProgramLineBufferReuse checks that label values are copied: the
// producer of lines reuses its buffer.
func TestProgramLineBufferReuse(t *testing.T) {
	p := newPipeline(t)
	p.load(t, `
rules:
  - name: req
    match: '^%{WORD:method}$'
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {method: '{{.method}}'}}
`)
	buf := []byte("GET")
	line := logline.Line{Text: buf}
	p.run.Process(&line, t0, nil)
	copy(buf, "PUT")
	p.run.Process(&line, t0, nil)
	copy(buf, "XXX")
	p.compare(t, `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{method="GET"} 1
requests_total{method="PUT"} 1
`)
}

func TestProgramSummary(t *testing.T) {
	p := newPipeline(t)
	p.load(t, `
rules:
  - name: size
    match: '^%{WORD:kind} %{NUMBER:bytes}$'
    metrics:
      - name: size_bytes
        type: summary
        help: Sizes.
        value: '{{.bytes}}'
        objectives: {0.5: 0.05, 0.9: 0.01}
        labels: {kind: '{{.kind}}'}
`)
	lines := []logline.Line{text("img 1"), text("img 2"), text("img 3"), text("img 10"), text("css 0.5"), text("css x")}
	p.process(lines, t0)

	type want struct {
		count uint64
		sum   float64
	}
	wants := map[string]want{"img": {4, 16}, "css": {1, 0.5}}
	mf := gatherOne(t, p.gather, "size_bytes")
	if mf.GetType() != dto.MetricType_SUMMARY {
		t.Fatalf("type = %v, want summary", mf.GetType())
	}
	if len(mf.GetMetric()) != len(wants) {
		t.Fatalf("%d series, want %d", len(mf.GetMetric()), len(wants))
	}
	for _, m := range mf.GetMetric() {
		kind := labelValue(m, "kind")
		w, ok := wants[kind]
		if !ok {
			t.Errorf("unexpected series kind=%q", kind)
			continue
		}
		s := m.GetSummary()
		if s.GetSampleCount() != w.count || s.GetSampleSum() != w.sum {
			t.Errorf("kind=%s: count %d sum %g, want %d and %g", kind, s.GetSampleCount(), s.GetSampleSum(), w.count, w.sum)
		}
		var qs []float64
		for _, q := range s.GetQuantile() {
			qs = append(qs, q.GetQuantile())
			if v := q.GetValue(); v < 0.5 || v > 10 {
				t.Errorf("kind=%s quantile %g = %g, outside the observed values", kind, q.GetQuantile(), v)
			}
		}
		if !slices.Equal(qs, []float64{0.5, 0.9}) {
			t.Errorf("kind=%s: quantiles %v, want [0.5 0.9]", kind, qs)
		}
	}
	p.compare(t, `# HELP logmeter_value_errors_total Rule metric values that did not parse as a usable number.
# TYPE logmeter_value_errors_total counter
logmeter_value_errors_total{metric="size_bytes"} 0
`)
}

func gatherOne(t testing.TB, g prometheus.Gatherer, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("metric %s not gathered", name)
	return nil
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestProgramExpire(t *testing.T) {
	p := newPipeline(t)
	p.load(t, `
rules:
  - name: req
    match: '^%{WORD:method}$'
    expire: 10m
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {method: '{{.method}}'}}
  - name: forever
    match: '^%{WORD:method}$'
    metrics:
      - {name: kept_total, type: counter, help: Kept., labels: {method: '{{.method}}'}}
`)
	p.process([]logline.Line{text("GET"), text("PUT")}, t0)
	p.process([]logline.Line{text("PUT")}, t0.Add(time.Minute))

	p.reg.Expire(t0.Add(10 * time.Minute)) // GET is exactly 10m old: not longer than expire
	p.compare(t, `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{method="GET"} 1
requests_total{method="PUT"} 2
`)
	p.reg.Expire(t0.Add(10*time.Minute + time.Second))
	p.compare(t, `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{method="PUT"} 2
# HELP logmeter_series Label sets a rule metric currently holds.
# TYPE logmeter_series gauge
logmeter_series{metric="kept_total"} 2
logmeter_series{metric="requests_total"} 1
`)
	// An expired series starts again from zero.
	p.process([]logline.Line{text("GET")}, t0.Add(11*time.Minute))
	p.reg.Expire(t0.Add(20 * time.Minute))
	p.compare(t, `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{method="GET"} 1
`)
	p.reg.Expire(t0.Add(time.Hour))
	p.compare(t, `# HELP kept_total Kept.
# TYPE kept_total counter
kept_total{method="GET"} 2
kept_total{method="PUT"} 2
`, "requests_total")
}

func TestProgramReloadCarriesOver(t *testing.T) {
	const v1 = `
rules:
  - name: req
    match: '^%{WORD:method} %{INT:status}$'
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {method: '{{.method}}'}}
      - {name: status_total, type: counter, help: Statuses., labels: {status: '{{.status}}'}}
      - {name: gone_total, type: counter, help: Dropped in v2.}
`
	// v2 keeps requests_total under another rule name and pattern, changes
	// the help of status_total (a different metric now) and drops gone_total.
	const v2 = `
rules:
  - name: requests
    match: '^%{WORD:verb} %{INT:code} %{NUMBER:seconds}$'
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {method: '{{.verb}}'}}
      - {name: status_total, type: counter, help: Responses by status., labels: {status: '{{.code}}'}}
`
	p := newPipeline(t)
	p.load(t, v1)
	p.process([]logline.Line{text("GET 200"), text("GET 200"), text("POST 500")}, t0)
	p.load(t, v2)
	p.process([]logline.Line{text("GET 404 0.1"), text("PUT 200 1"), text("GET 200")}, t0)
	p.compare(t, `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{method="GET"} 3
requests_total{method="POST"} 1
requests_total{method="PUT"} 1
# HELP status_total Responses by status.
# TYPE status_total counter
status_total{status="200"} 1
status_total{status="404"} 1
# HELP logmeter_lines_matched_total Lines matched by a rule.
# TYPE logmeter_lines_matched_total counter
logmeter_lines_matched_total{rule="req"} 3
logmeter_lines_matched_total{rule="requests"} 2
`, "gone_total")
}

// TestProgramRejectedBuildKeepsRunning checks that a version that does not
// build leaves the running program and its values alone.
func TestProgramRejectedBuildKeepsRunning(t *testing.T) {
	p := newPipeline(t)
	p.load(t, `
rules:
  - name: req
    match: '^%{WORD:method}$'
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {method: '{{.method}}'}}
`)
	p.process([]logline.Line{text("GET")}, t0)
	bad := parseRules(t, `
rules:
  - name: req
    match: '^%{WORD:method}$'
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {method: '{{.nope}}'}}
      - {name: other_total, type: counter, help: Other.}
`)
	if prog, probs := Build([]*config.RuleFile{bad}, testLibrary(), p.reg, p.self); prog != nil || len(probs) == 0 {
		t.Fatalf("Build of a bad version = %v, %v; want no program and problems", prog, probs)
	}
	p.process([]logline.Line{text("GET")}, t0)
	p.compare(t, `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{method="GET"} 2
`, "other_total")
}

func TestBuildProblems(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		// want are the problems, each "FILE:LINE:COL: " followed by a
		// substring of the message.
		want []string
	}{
		{
			name: "unknown pattern in match",
			rules: `
rules:
  - name: r
    match: '%{WORD:a} %{NOPE:b}'
`,
			want: []string{"rules.yaml:4:23: NOPE"},
		},
		{
			name: "unknown pattern in a double-quoted match with escapes",
			rules: `
rules:
  - name: r
    match: "\t%{WORD:a} %{NOPE:b}"
`,
			want: []string{"rules.yaml:4:25: NOPE"},
		},
		{
			name: "unknown pattern inside a plain rule file pattern",
			rules: `
patterns:
  MINE: x %{MISSING}
rules:
  - name: r
    match: 'x %{MINE:m}'
`,
			want: []string{"rules.yaml:3:11: MISSING"},
		},
		// Columns inside a quoted patterns: entry, escapes included.
		{
			name:  "unknown pattern after an escape in a double-quoted rule file pattern",
			rules: "patterns:\n  MINE: \"\\tx %{MISSING}\"\nrules:\n  - {name: r, match: 'x %{MINE:m}'}\n",
			want:  []string{"rules.yaml:2:14: MISSING"},
		},
		{
			name:  "unknown pattern inside a quoted rule file pattern",
			rules: "patterns:\n  MINE: '%{INT} %{MISSING}'\nrules:\n  - {name: r, match: 'x %{MINE:m}'}\n",
			want:  []string{"rules.yaml:2:17: MISSING"},
		},
		{
			name: "label template references a missing capture",
			rules: `
rules:
  - name: r
    match: '%{WORD:method}'
    metrics:
      - name: m_total
        type: counter
        labels: {method: '{{.method}}', status: '{{.method}}-{{.status}}'}
`,
			want: []string{`rules.yaml:8:64: capture "status"`},
		},
		{
			name: "value template references a missing capture",
			rules: `
rules:
  - name: r
    match: '%{WORD:method}'
    metrics:
      - {name: m, type: gauge, value: '{{.bytes}}'}
`,
			want: []string{`rules.yaml:6:42: capture "bytes"`},
		},
		{
			name: "template syntax error",
			rules: `
rules:
  - name: r
    match: '%{WORD:method}'
    metrics:
      - {name: m, type: gauge, value: '{{.method'}
`,
			want: []string{"rules.yaml:6:39: template syntax"},
		},
		{
			name: "several problems in file order",
			rules: `
rules:
  - name: r1
    match: '%{WORD:method}'
    metrics:
      - {name: m1, type: gauge, value: '{{.x}}'}
  - name: r2
    match: '%{NOPE}'
  - name: r3
    match: '%{INT:n}'
    metrics:
      - {name: m3_total, type: counter, labels: {a: '{{.y}}'}}
`,
			want: []string{
				`rules.yaml:6:43: capture "x"`,
				"rules.yaml:8:13: NOPE",
				`rules.yaml:12:56: capture "y"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPipeline(t)
			prog, probs := Build([]*config.RuleFile{parseRules(t, tt.rules)}, testLibrary(), p.reg, p.self)
			if prog != nil {
				t.Error("Build returned a program along with problems")
			}
			if len(probs) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(probs), len(tt.want), probs)
			}
			for i, w := range tt.want {
				pos, msg, _ := strings.Cut(w, ": ")
				got := probs[i].Error()
				if !strings.HasPrefix(got, pos+": ") || !strings.Contains(got, msg) {
					t.Errorf("problem %d = %q, want %q", i, got, w)
				}
			}
		})
	}
}

// TestProgramWithoutSelf builds and runs a program without self-metrics,
// as NewRegistry and Build allow.
func TestProgramWithoutSelf(t *testing.T) {
	reg := NewRegistry(nil)
	rf := parseRules(t, `
rules:
  - name: req
    match: '^%{WORD:method} %{NOTSPACE:bytes}$'
    max_series: 1
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {method: '{{.method}}'}}
      - {name: bytes_total, type: counter, help: Bytes., value: '{{.bytes}}'}
`)
	prog, probs := Build([]*config.RuleFile{rf}, testLibrary(), reg, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	mustNil(t, reg.Swap(prog.Families()))
	r := prog.NewRunner()
	for _, l := range []logline.Line{text("GET 1"), text("PUT 2"), text("GET x"), text("junk")} {
		r.Process(&l, t0, nil)
	}
	gather := prometheus.NewPedanticRegistry()
	gather.MustRegister(reg)
	if err := testutil.GatherAndCompare(gather, strings.NewReader(`# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{method="GET"} 2
# HELP bytes_total Bytes.
# TYPE bytes_total counter
bytes_total 3
`)); err != nil {
		t.Error(err)
	}
}

// TestProgramConcurrentRunners runs one program from several goroutines,
// each with its own Runner, as the pipeline does per input (run with -race).
func TestProgramConcurrentRunners(t *testing.T) {
	p := newPipeline(t)
	p.load(t, `
rules:
  - name: req
    match: '^%{WORD:method} %{NUMBER:seconds}$'
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {method: '{{.method}}'}}
      - {name: seconds, type: histogram, help: Seconds., value: '{{.seconds}}', buckets: [1], labels: {method: '{{.method}}'}}
`)
	const workers, perWorker = 4, 500
	var wg sync.WaitGroup
	for w := range workers {
		r := p.prog.NewRunner()
		wg.Go(func() {
			lines := []logline.Line{text("GET 0.5"), text("POST 2"), fromInput("in", "junk")}
			for i := range perWorker {
				r.Process(&lines[(i+w)%len(lines)], t0, nil)
			}
		})
	}
	wg.Wait()
	mf := gatherOne(t, p.gather, "requests_total")
	var total float64
	for _, m := range mf.GetMetric() {
		total += m.GetCounter().GetValue()
	}
	unmatched := testutil.ToFloat64(p.self.LinesUnmatched.WithLabelValues("in"))
	if total+unmatched != workers*perWorker {
		t.Errorf("%g matched + %g unmatched lines, want %d in all", total, unmatched, workers*perWorker)
	}
}

// One metric fed by two rules that list its labels in different orders is
// one family; each rule's values land under the right label names.
func TestProgramMetricLabelOrder(t *testing.T) {
	p := newPipeline(t)
	p.load(t, `
rules:
  - name: a
    match: '^A %{WORD:m} %{INT:s}$'
    metrics:
      - {name: req_total, type: counter, help: R., labels: {method: '{{.m}}', status: '{{.s}}'}}
  - name: b
    match: '^B %{WORD:m} %{INT:s}$'
    metrics:
      - {name: req_total, type: counter, help: R., labels: {status: '{{.s}}', method: '{{.m}}'}}
`)
	p.process([]logline.Line{text("A GET 200"), text("B GET 200"), text("B PUT 404")}, t0)
	p.compare(t, `# HELP req_total R.
# TYPE req_total counter
req_total{method="GET",status="200"} 2
req_total{method="PUT",status="404"} 1
`)
}

// TestInlinePatternsWinOverPatternFiles: a rule file's own patterns take
// precedence over a pattern file defining the same name, as in Logstash.
func TestInlinePatternsWinOverPatternFiles(t *testing.T) {
	dir := t.TempDir()
	patterns := filepath.Join(dir, "extra")
	if err := os.WriteFile(patterns, []byte("WHO alice\nVERB \\w+\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t)
	p.load(t, `
patterns: {WHO: bob}
pattern_files: [`+strconv.Quote(patterns)+`]
rules:
  - name: r
    match: '^%{WHO:who} %{VERB:verb}$'
    metrics: [{name: said_total, type: counter, labels: {who: '{{.who}}'}}]
`)
	p.process([]logline.Line{{Text: []byte("alice says")}, {Text: []byte("bob says")}}, time.Unix(1, 0))
	p.compare(t, `# HELP said_total 
# TYPE said_total counter
said_total{who="bob"} 1
`)
}

// TestUpstreamEmailPatternFile: logstash-patterns-core's ecs-v1
// EMAILLOCALPART nests counts beyond what Go's regexp accepts; a pattern
// file with it loads, with the bounds relaxed.
func TestUpstreamEmailPatternFile(t *testing.T) {
	dir := t.TempDir()
	patterns := filepath.Join(dir, "grok-patterns")
	data := "EMAILLOCALPART [a-zA-Z0-9!#$%&'*+\\-/=?^_`{|}~]{1,64}(?:\\.[a-zA-Z0-9!#$%&'*+\\-/=?^_`{|}~]{1,62}){0,63}\n" +
		"EMAILADDRESS %{EMAILLOCALPART}@%{HOSTNAME}\n"
	if err := os.WriteFile(patterns, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t)
	p.load(t, `
pattern_files: [`+strconv.Quote(patterns)+`]
rules:
  - name: r
    match: 'from=<%{EMAILADDRESS:e}>'
    metrics: [{name: mails_total, type: counter, labels: {from: '{{.e}}'}}]
`)
	p.process([]logline.Line{{Text: []byte("from=<a.b+c@example.com> ok")}, {Text: []byte("from=<..@x>")}}, time.Unix(1, 0))
	p.compare(t, `# HELP mails_total 
# TYPE mails_total counter
mails_total{from="a.b+c@example.com"} 1
`)
}

// TestSummaryWithoutObjectives: objectives: {} is a summary of count and
// sum only; leaving the key out gives the default quantiles.
func TestSummaryWithoutObjectives(t *testing.T) {
	p := newPipeline(t)
	p.load(t, `
rules:
  - name: r
    match: '^%{NUMBER:v}$'
    metrics:
      - {name: plain_seconds, type: summary, value: '{{.v}}', objectives: {}}
      - {name: default_seconds, type: summary, value: '{{.v}}'}
`)
	p.process([]logline.Line{{Text: []byte("2")}}, time.Unix(1, 0))
	if q := gatherOne(t, p.gather, "plain_seconds").GetMetric()[0].GetSummary().GetQuantile(); len(q) != 0 {
		t.Errorf("objectives: {} exposes quantiles %v", q)
	}
	if q := gatherOne(t, p.gather, "default_seconds").GetMetric()[0].GetSummary().GetQuantile(); len(q) == 0 {
		t.Error("a summary without objectives has no quantiles")
	}
}
