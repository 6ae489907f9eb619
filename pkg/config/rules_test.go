package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// problemStrings renders problems the way `logmeter check` prints them.
func problemStrings(ps Problems) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Error()
	}
	return out
}

func TestParseRuleFileProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		// Documents and syntax.
		{"empty file", ``, []string{
			`r.yaml:1:1: rule file is empty`}},
		{"only comments", "# nothing yet\n", []string{
			`r.yaml:1:1: rule file is empty`}},
		{"null document", "~\n", []string{
			`r.yaml:1:1: rule file is empty`}},
		{"syntax error", "rules:\n  - name: a\n - match: b\n", []string{
			`r.yaml:2:1: invalid YAML: did not find expected key`}},
		{"tab indentation", "rules:\n\t- name: a\n", []string{
			`r.yaml:2:1: invalid YAML: found character that cannot start any token`}},
		{"syntax error without line", "rules: *nope\n", []string{
			`r.yaml:1:1: invalid YAML: unknown anchor 'nope' referenced`}},
		{"two documents", "rules: []\n---\nrules: []\n", []string{
			`r.yaml:2:1: a rule file must hold one YAML document; remove this second one`}},
		{"top level list", "- name: a\n", []string{
			`r.yaml:1:1: a rule file must be a mapping, got a list`}},
		{"unknown top key", "rule: []\n", []string{
			`r.yaml:1:1: unknown key "rule" at top level (valid: patterns, pattern_files, rules)`}},
		{"duplicate top key", "rules: []\nrules: []\n", []string{
			`r.yaml:2:1: duplicate key "rules" at top level (first defined at r.yaml:1:1)`}},
		{"merge key", "rules: []\n<<: {patterns: {}}\n", []string{
			`r.yaml:2:1: merge keys (<<) are not supported at top level`}},
		{"list as key", "? [a]\n: b\n", []string{
			`r.yaml:1:3: keys at top level must be scalars, got a list`}},

		// patterns and pattern_files.
		{"patterns not a mapping", "patterns: [A]\n", []string{
			`r.yaml:1:11: patterns must be a mapping, got a list`}},
		{"bad pattern name", "patterns:\n  MY-PAT: x\n", []string{
			`r.yaml:2:3: invalid pattern name "MY-PAT": must match ^[A-Za-z0-9_]+$`}},
		{"pattern not a string", "patterns:\n  A: [x]\n  B: ''\n", []string{
			`r.yaml:2:6: pattern A must be a string, got a list`,
			`r.yaml:3:6: pattern B must not be empty`}},
		{"duplicate pattern", "patterns:\n  A: x\n  A: y\n", []string{
			`r.yaml:3:3: duplicate key "A" in patterns (first defined at r.yaml:2:3)`}},
		{"pattern_files not a list", "pattern_files: extra\n", []string{
			`r.yaml:1:16: pattern_files must be a list, got "extra"`}},
		{"pattern_files entries", "pattern_files: [{a: b}, '', ~]\n", []string{
			`r.yaml:1:17: a pattern_files entry must be a string, got a mapping`,
			`r.yaml:1:25: a pattern_files entry must not be empty`,
			`r.yaml:1:29: a pattern_files entry must be a string, got null`}},

		// Rules.
		{"rules not a list", "rules: {name: a}\n", []string{
			`r.yaml:1:8: rules must be a list, got a mapping`}},
		{"rule not a mapping", "rules:\n  - just a string\n", []string{
			`r.yaml:2:5: a rule must be a mapping, got "just a string"`}},
		{"unknown rule key", "rules:\n  - name: a\n    match: x\n    metric: []\n", []string{
			`r.yaml:4:5: unknown key "metric" in rule (valid: name, match, sources, metrics, expire, max_series)`}},
		{"missing name and match", "rules:\n  - metrics: []\n", []string{
			`r.yaml:2:5: rule is missing required key "name"`,
			`r.yaml:2:5: rule is missing required key "match"`}},
		{"missing match", "rules:\n  - name: a\n", []string{
			`r.yaml:2:5: rule "a" is missing required key "match"`}},
		{"bad match", "rules:\n  - name: a\n    match: ''\n  - name: b\n    match: [x]\n", []string{
			`r.yaml:3:12: match must not be empty`,
			`r.yaml:5:12: match must be a string, got a list`}},
		{"invalid rule name", "rules:\n  - name: 9lives\n    match: x\n  - name: 'a b'\n    match: x\n", []string{
			`r.yaml:2:11: invalid rule name "9lives": must match ^[a-zA-Z_][a-zA-Z0-9_.-]*$`,
			`r.yaml:4:11: invalid rule name "a b": must match ^[a-zA-Z_][a-zA-Z0-9_.-]*$`}},
		{"duplicate rule name", "rules:\n  - name: a\n    match: x\n  - name: b\n    match: x\n  - name: a\n    match: y\n", []string{
			`r.yaml:6:11: duplicate rule name "a" (first defined at r.yaml:2:11)`}},
		{"duplicate key in rule", "rules:\n  - name: a\n    match: x\n    name: b\n", []string{
			`r.yaml:4:5: duplicate key "name" in rule (first defined at r.yaml:2:5)`}},
		{"bad expire", "rules:\n  - {name: a, match: x, expire: 10 minutes}\n  - {name: b, match: x, expire: -5m}\n  - {name: c, match: x, expire: 600}\n", []string{
			`r.yaml:2:33: invalid expire "10 minutes": want a duration such as 90s, 10m, 2h or 7d`,
			`r.yaml:3:33: expire must not be negative, got "-5m"`,
			`r.yaml:4:33: invalid expire "600": want a duration such as 90s, 10m, 2h or 7d`}},
		{"bad max_series", "rules:\n  - {name: a, match: x, max_series: -1}\n  - {name: b, match: x, max_series: many}\n  - {name: c, match: x, max_series: 1e3}\n", []string{
			`r.yaml:2:37: max_series must not be negative, got -1`,
			`r.yaml:3:37: max_series must be a whole number, got "many"`,
			`r.yaml:4:37: max_series must be a whole number, got 1e3`}},

		// Sources.
		{"sources not a mapping", "rules:\n  - name: a\n    match: x\n    sources: [nginx]\n", []string{
			`r.yaml:4:14: sources must be a mapping, got a list`}},
		{"unknown sources key", "rules:\n  - name: a\n    match: x\n    sources: {input: [nginx]}\n", []string{
			`r.yaml:4:15: unknown key "input" in sources (valid: inputs, namespaces, containers, pod_labels)`}},
		{"bad source lists", "rules:\n  - name: a\n    match: x\n    sources:\n      inputs: nginx\n      namespaces: ['', 'shop-[']\n      containers: [{a: b}]\n", []string{
			`r.yaml:5:15: inputs must be a list, got "nginx"`,
			`r.yaml:6:20: an entry of namespaces must not be empty`,
			`r.yaml:6:24: invalid glob "shop-[": syntax error in pattern`,
			`r.yaml:7:20: an entry of containers must be a string, got a mapping`}},
		{"bad pod_labels", "rules:\n  - name: a\n    match: x\n    sources: {pod_labels: [app]}\n  - name: b\n    match: x\n    sources: {pod_labels: {app: '[', '': x, tier: [a]}}\n", []string{
			`r.yaml:4:27: pod_labels must be a mapping, got a list`,
			`r.yaml:7:33: invalid glob "[": syntax error in pattern`,
			`r.yaml:7:38: pod label keys must not be empty`,
			`r.yaml:7:51: pod label tier must be a string, got a list`}},

		// Metrics: structure and names.
		{"metrics not a list", "rules:\n  - name: a\n    match: x\n    metrics: {name: m}\n", []string{
			`r.yaml:4:14: metrics must be a list, got a mapping`}},
		{"metric not a mapping", "rules:\n  - name: a\n    match: x\n    metrics: [m]\n", []string{
			`r.yaml:4:15: a metric must be a mapping, got "m"`}},
		{"unknown metric key", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: m, type: counter, label: {a: b}}\n", []string{
			`r.yaml:5:34: unknown key "label" in metric (valid: name, type, help, labels, value, buckets, objectives, action, native, native_bucket_factor, native_max_buckets, classic)`}},
		{"missing name and type", "rules:\n  - name: a\n    match: x\n    metrics:\n      - help: h\n      - name: m\n", []string{
			`r.yaml:5:9: metric is missing required key "name"`,
			`r.yaml:5:9: metric is missing required key "type"`,
			`r.yaml:6:9: metric "m" is missing required key "type"`}},
		{"unknown type", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: m, type: countr}\n", []string{
			`r.yaml:5:25: unknown metric type "countr" (valid: counter, gauge, histogram, summary)`}},
		{"invalid metric names", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: http-requests, type: counter}\n      - {name: logmeter_lines_total, type: counter}\n", []string{
			`r.yaml:5:16: invalid metric name "http-requests": must match ^[a-zA-Z_:][a-zA-Z0-9_:]*$`,
			`r.yaml:6:16: metric name "logmeter_lines_total" is reserved: the logmeter_ prefix belongs to logmeter's own metrics`}},
		{"metric twice in one rule", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: m, type: counter}\n      - {name: m, type: counter}\n", []string{
			`r.yaml:6:16: metric "m" is defined twice in rule "a" (first at r.yaml:5:16)`}},
		{"bad labels", "rules:\n  - name: a\n    match: x\n    metrics:\n      - name: m\n        type: counter\n        labels:\n          method-name: x\n          __name: x\n          status: x\n          status: y\n          code: [x]\n", []string{
			`r.yaml:8:11: invalid label name "method-name": must match ^[a-zA-Z_][a-zA-Z0-9_]*$`,
			`r.yaml:9:11: label name "__name" is reserved: names starting with __ are internal to Prometheus`,
			`r.yaml:11:11: duplicate key "status" in labels (first defined at r.yaml:10:11)`,
			`r.yaml:12:17: label code must be a string, got a list`}},
		{"labels not a mapping", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: m, type: counter, labels: [a]}\n", []string{
			`r.yaml:5:42: labels must be a mapping, got a list`}},
		{"reserved labels per type", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: h, type: histogram, value: v, labels: {le: x}}\n      - {name: s, type: summary, value: v, labels: {quantile: x}}\n      - {name: c, type: counter, labels: {le: x, quantile: y}}\n", []string{
			`r.yaml:5:55: label name "le" is reserved for histogram buckets`,
			`r.yaml:6:53: label name "quantile" is reserved for summary quantiles`}},

		// Metrics: values and actions.
		{"values required", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: h, type: histogram}\n      - {name: s, type: summary}\n      - {name: g, type: gauge}\n      - {name: g2, type: gauge, action: set}\n", []string{
			`r.yaml:5:9: histogram "h" needs a "value"`,
			`r.yaml:6:9: summary "s" needs a "value"`,
			`r.yaml:7:9: gauge "g" with action set needs a "value"`,
			`r.yaml:8:9: gauge "g2" with action set needs a "value"`}},
		{"values optional", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: c, type: counter, value: '{{.bytes}}'}\n      - {name: g, type: gauge, action: add}\n      - {name: g2, type: gauge, action: sub}\n", nil},
		{"bad actions", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: g, type: gauge, value: v, action: inc}\n      - {name: c, type: counter, action: add}\n", []string{
			`r.yaml:5:50: unknown gauge action "inc" (valid: set, add, sub)`,
			`r.yaml:6:34: key "action" is only valid for type gauge, not counter`}},
		{"value not a string", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: c, type: counter, value: {a: b}}\n", []string{
			`r.yaml:5:41: value must be a string, got a mapping`}},

		// Metrics: buckets and objectives.
		{"buckets on a counter", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: c, type: counter, buckets: [1]}\n", []string{
			`r.yaml:5:34: key "buckets" is only valid for type histogram, not counter`}},
		{"bad buckets", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: h, type: histogram, value: v, buckets: [0.1, 1, 0.5, 1, .nan, '2', 5, .inf]}\n", []string{
			`r.yaml:5:64: buckets must be strictly increasing, but 0.5 follows 1`,
			`r.yaml:5:69: buckets must be strictly increasing, but 1 follows 1`,
			`r.yaml:5:72: a bucket must not be NaN`,
			`r.yaml:5:78: a bucket must be a number, got "2"`}},
		{"buckets not a list", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: h, type: histogram, value: v, buckets: 5}\n      - {name: i, type: histogram, value: v, buckets: []}\n", []string{
			`r.yaml:5:55: buckets must be a list, got 5`,
			`r.yaml:6:55: buckets must not be empty; leave the key out for the default buckets`}},
		{"objectives on a histogram", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: h, type: histogram, value: v, objectives: {0.5: 0.1}}\n", []string{
			`r.yaml:5:46: key "objectives" is only valid for type summary, not histogram`}},
		{"bad objectives", "rules:\n  - name: a\n    match: x\n    metrics:\n      - name: s\n        type: summary\n        value: v\n        objectives:\n          0: 0.1\n          1: 0.1\n          0.5: 1\n          0.9: -0.1\n          p99: 0.1\n          0.90: 0.01\n          0.99: x\n", []string{
			`r.yaml:9:11: quantile 0 must be greater than 0 and less than 1`,
			`r.yaml:10:11: quantile 1 must be greater than 0 and less than 1`,
			`r.yaml:11:16: the error of quantile 0.5 must be at least 0 and less than 1, got 1`,
			`r.yaml:12:16: the error of quantile 0.9 must be at least 0 and less than 1, got -0.1`,
			`r.yaml:13:11: a quantile must be a number, got "p99"`,
			`r.yaml:14:11: duplicate quantile 0.9 (first defined at r.yaml:12:11)`,
			`r.yaml:15:17: the error of quantile 0.99 must be a number, got "x"`}},
		{"objectives not a mapping", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: s, type: summary, value: v, objectives: [0.5]}\n", []string{
			`r.yaml:5:56: objectives must be a mapping, got a list`}},

		// Metrics: native histograms.
		{"native on a summary", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: s, type: summary, value: v, native: true, classic: true}\n", []string{
			`r.yaml:5:44: key "native" is only valid for type histogram, not summary`,
			`r.yaml:5:58: key "classic" is only valid for type histogram, not summary`}},
		{"native keys without native", "rules:\n  - name: a\n    match: x\n    metrics:\n      - name: h\n        type: histogram\n        value: v\n        native: false\n        native_bucket_factor: 1.5\n        native_max_buckets: 10\n        classic: false\n", []string{
			`r.yaml:9:9: key "native_bucket_factor" needs "native: true"`,
			`r.yaml:10:9: key "native_max_buckets" needs "native: true"`,
			`r.yaml:11:9: key "classic" needs "native: true"`}},
		{"bad native values", "rules:\n  - name: a\n    match: x\n    metrics:\n      - name: h\n        type: histogram\n        value: v\n        native: true\n        native_bucket_factor: 1\n        native_max_buckets: -1\n        classic: 'no'\n      - {name: i, type: histogram, value: v, native: yes}\n      - {name: j, type: histogram, value: v, native: true, native_max_buckets: 4294967296, native_bucket_factor: x}\n", []string{
			`r.yaml:9:31: native_bucket_factor must be greater than 1, got 1`,
			`r.yaml:10:29: native_max_buckets must be between 0 and 4294967295, got -1`,
			`r.yaml:11:18: classic must be true or false, got "no"`,
			`r.yaml:12:54: native must be true or false, got "yes"`,
			`r.yaml:13:80: native_max_buckets must be between 0 and 4294967295, got 4294967296`,
			`r.yaml:13:114: native_bucket_factor must be a number, got "x"`}},

		// Metric definitions that disagree within one file.
		{"conflicting type", "rules:\n  - name: a\n    match: x\n    metrics: [{name: m, type: counter}]\n  - name: b\n    match: y\n    metrics: [{name: m, type: gauge, action: add}]\n", []string{
			`r.yaml:7:22: metric "m" conflicts with its definition at r.yaml:4:22: type is gauge here but counter there`}},
		{"conflicting help and labels", "rules:\n  - name: a\n    match: x\n    metrics: [{name: m, type: counter, help: A, labels: {a: x, b: y}}]\n  - name: b\n    match: y\n    metrics: [{name: m, type: counter, help: B, labels: {a: x}}]\n  - name: c\n    match: z\n    metrics: [{name: m, type: counter, help: A, labels: {b: x, a: y}}]\n", []string{
			`r.yaml:7:22: metric "m" conflicts with its definition at r.yaml:4:22: help is "B" here but "A" there; labels are [a] here but [a b] there`}},
		{"conflicting buckets and objectives", "rules:\n  - name: a\n    match: x\n    metrics:\n      - {name: h, type: histogram, value: v, buckets: [1, 2]}\n      - {name: s, type: summary, value: v, objectives: {0.5: 0.05}}\n  - name: b\n    match: y\n    metrics:\n      - {name: h, type: histogram, value: v}\n      - {name: s, type: summary, value: v}\n  - name: c\n    match: z\n    metrics:\n      - {name: h, type: histogram, value: v, buckets: [1, 2], native: true}\n", []string{
			`r.yaml:10:16: metric "h" conflicts with its definition at r.yaml:5:16: buckets are the default here but [1, 2] there`,
			`r.yaml:11:16: metric "s" conflicts with its definition at r.yaml:6:16: objectives are {} here but {0.5: 0.05} there`,
			`r.yaml:15:16: metric "h" conflicts with its definition at r.yaml:5:16: native histogram settings are {factor 1.1, max buckets 160, classic true} here but off there`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := ParseRuleFile("r.yaml", []byte(tt.yaml))
			if got := problemStrings(probs); !reflect.DeepEqual(got, append([]string{}, tt.want...)) {
				t.Errorf("problems:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

func TestParseRuleFileFull(t *testing.T) {
	const path = "testdata/full.yaml"
	rf, err := LoadRuleFile(path)
	if err != nil {
		t.Fatalf("LoadRuleFile: %v", err)
	}
	at := func(line, col int) Pos { return Pos{File: path, Line: line, Col: col} }

	if got, want := len(rf.Patterns), 2; got != want {
		t.Fatalf("patterns: got %d, want %d", got, want)
	}
	if p := rf.Patterns[0]; p.Name.Value != "NGINX_UPSTREAM" || p.Name.Pos != at(3, 3) || p.Expr.Value != "%{IPORHOST}:%{POSINT}" || p.Expr.Pos != at(3, 19) {
		t.Errorf("patterns[0] = %+v", p)
	}
	if got, want := rf.PatternFiles, filepath.Join("testdata", "patterns", "extra"); len(got) != 1 || got[0].Value != want || got[0].Pos != at(5, 17) {
		t.Errorf("pattern files = %+v, want %q at 5:17", got, want)
	}
	if got := len(rf.Rules); got != 3 {
		t.Fatalf("got %d rules, want 3", got)
	}

	r := rf.Rules[0]
	if r.Pos != at(7, 5) || r.Name.Value != "nginx_access" || r.Match.Pos != at(8, 12) || !strings.HasPrefix(r.Match.Value, "%{IPORHOST:client} ") {
		t.Errorf("rule 0 header: pos %v name %q match %v %q", r.Pos, r.Name.Value, r.Match.Pos, r.Match.Value)
	}
	if r.Expire != 10*time.Minute || r.ExpirePos != at(50, 13) || r.MaxSeries != 10000 || r.MaxSeriesPos != at(51, 17) {
		t.Errorf("rule 0 expire %v at %v, max_series %d at %v", r.Expire, r.ExpirePos, r.MaxSeries, r.MaxSeriesPos)
	}
	src := r.Sources
	if !src.Set || values(src.Inputs) != "nginx" || values(src.Namespaces) != "shop-*" || values(src.Containers) != "nginx" ||
		len(src.PodLabels) != 1 || src.PodLabels[0].Key.Value != "app" || src.PodLabels[0].Value.Value != "web" || src.PodLabels[0].Value.Pos != at(13, 25) {
		t.Errorf("rule 0 sources = %+v", src)
	}
	if got := len(r.Metrics); got != 6 {
		t.Fatalf("rule 0: got %d metrics, want 6", got)
	}

	c := r.Metrics[0]
	if c.Pos != at(15, 9) || c.Name.Value != "nginx_http_requests_total" || c.Type.Value != Counter || c.Help.Value != "Requests by method and status." ||
		c.Value != nil || c.Action.Value != "" || c.Native != nil {
		t.Errorf("counter = %+v", c)
	}
	var labels []string
	for _, l := range c.Labels {
		labels = append(labels, l.Name.Value+"="+l.Template.Value+"@"+l.Template.Pos.String())
	}
	wantLabels := []string{
		"method={{.method}}@" + at(19, 19).String(),
		"status={{.status}}@" + at(20, 19).String(),
		"namespace={{.kubernetes.namespace}}@" + at(21, 22).String(),
	}
	if !reflect.DeepEqual(labels, wantLabels) {
		t.Errorf("counter labels = %q, want %q", labels, wantLabels)
	}
	if v := r.Metrics[1].Value; v == nil || v.Value != "{{.bytes}}" || v.Pos != at(25, 16) {
		t.Errorf("counter value = %+v", v)
	}

	h := r.Metrics[2]
	if want := []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}; !reflect.DeepEqual(h.Buckets, want) || h.BucketsPos != at(30, 18) || h.Native != nil {
		t.Errorf("histogram buckets %v at %v, native %+v", h.Buckets, h.BucketsPos, h.Native)
	}
	n := r.Metrics[3]
	if want := (NativeHistogram{BucketFactor: 1.05, MaxBuckets: 100, Classic: false}); n.Native == nil || *n.Native != want || n.Buckets != nil {
		t.Errorf("native histogram = %+v, buckets %v", n.Native, n.Buckets)
	}
	s := r.Metrics[4]
	if want := []Objective{{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}}; !reflect.DeepEqual(s.Objectives, want) || s.ObjectivesPos != at(44, 21) {
		t.Errorf("summary objectives %v at %v", s.Objectives, s.ObjectivesPos)
	}
	if g := r.Metrics[5]; g.Action.Value != ActionSet || g.Action.Pos != at(49, 17) {
		t.Errorf("gauge action = %+v", g.Action)
	}

	r1 := rf.Rules[1]
	if r1.Name.Value != "shop.orders-failed" || r1.Sources.Set || r1.Expire != 7*24*time.Hour || r1.MaxSeries != 0 {
		t.Errorf("rule 1 = %+v", r1)
	}
	if g := r1.Metrics[0]; g.Action.Value != ActionAdd || g.Value != nil {
		t.Errorf("rule 1 gauge = %+v", g)
	}
	if r2 := rf.Rules[2]; r2.Name.Value != "heartbeat" || r2.Metrics != nil || r2.Match.Value != "^heartbeat$" {
		t.Errorf("rule 2 = %+v", r2)
	}
}

// values joins the values of ss with commas.
func values(ss []String) string {
	v := make([]string, len(ss))
	for i, s := range ss {
		v[i] = s.Value
	}
	return strings.Join(v, ",")
}

func TestParseRuleFileDefaults(t *testing.T) {
	data := `
rules:
  - name: a
    match: x
    sources: {}
    metrics:
      - {name: g, type: gauge, value: v}
      - {name: h1, type: histogram, value: v, native: true}
      - {name: h2, type: histogram, value: v, buckets: [1], native: true}
      - {name: c, type: counter}
`
	rf, probs := ParseRuleFile("d.yaml", []byte(data))
	if len(probs) > 0 {
		t.Fatalf("unexpected problems:\n%v", probs)
	}
	r := rf.Rules[0]
	if !r.Sources.Set || r.Expire != 0 || r.MaxSeries != 0 {
		t.Errorf("rule = %+v", r)
	}
	ms := r.Metrics
	if ms[0].Action != (String{Value: ActionSet}) {
		t.Errorf("gauge default action = %+v, want set with zero Pos", ms[0].Action)
	}
	if want := (NativeHistogram{BucketFactor: 1.1, MaxBuckets: 160, Classic: false}); *ms[1].Native != want {
		t.Errorf("native without buckets = %+v, want %+v", *ms[1].Native, want)
	}
	if want := (NativeHistogram{BucketFactor: 1.1, MaxBuckets: 160, Classic: true}); *ms[2].Native != want {
		t.Errorf("native with buckets = %+v, want %+v", *ms[2].Native, want)
	}
	if ms[3].Action != (String{}) || ms[3].Buckets != nil || ms[3].Objectives != nil {
		t.Errorf("counter = %+v", ms[3])
	}
}

func TestParseRuleFileAliases(t *testing.T) {
	data := `
rules:
  - name: a
    match: x
    metrics:
      - name: m
        type: counter
        labels: &common {pod: '{{.kubernetes.pod}}'}
  - name: b
    match: y
    metrics:
      - name: m
        type: counter
        labels: *common
`
	rf, probs := ParseRuleFile("a.yaml", []byte(data))
	if len(probs) > 0 {
		t.Fatalf("unexpected problems:\n%v", probs)
	}
	l := rf.Rules[1].Metrics[0].Labels
	if len(l) != 1 || l[0].Name.Value != "pod" || l[0].Template.Pos != (Pos{"a.yaml", 8, 31}) {
		t.Errorf("aliased labels = %+v", l)
	}
}

func TestPatternFilesResolved(t *testing.T) {
	abs := filepath.Join(t.TempDir(), "shared")
	data := "pattern_files: [extra, sub/more, '" + abs + "']\n"
	rf, probs := ParseRuleFile(filepath.Join("rules", "app.yaml"), []byte(data))
	if len(probs) > 0 {
		t.Fatalf("unexpected problems:\n%v", probs)
	}
	want := []string{filepath.Join("rules", "extra"), filepath.Join("rules", "sub", "more"), abs}
	if got := strings.Split(values(rf.PatternFiles), ","); !reflect.DeepEqual(got, want) {
		t.Errorf("pattern files = %q, want %q", got, want)
	}
}

func TestLoadRuleFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	_, err := LoadRuleFile(missing)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want a one-line error naming %s", err, missing)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  - name: a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rf, err := LoadRuleFile(bad)
	var probs Problems
	if !errors.As(err, &probs) || len(probs) != 1 || probs[0].Pos != (Pos{bad, 2, 5}) {
		t.Fatalf("bad file: got %v, want one Problem at 2:5", err)
	}
	if rf == nil || len(rf.Rules) != 1 || rf.Rules[0].Name.Value != "a" {
		t.Errorf("bad file: partial result %+v", rf)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"10m", 10 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"0", 0, false},
		{"7d", 7 * 24 * time.Hour, false},
		{"1.5d", 36 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"-1d", -24 * time.Hour, false},
		{"d", 0, true},
		{"1d-1h", 0, true},
		{"1e2d", 0, true},
		{"infd", 0, true},
		{"600", 0, true},
		{"1w", 0, true},
		{"200000000d", 0, true},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, error %t", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
