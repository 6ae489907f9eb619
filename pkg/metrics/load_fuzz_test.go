package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logmeter/logmeter/pkg/config"
	"github.com/logmeter/logmeter/pkg/logline"
	"github.com/logmeter/logmeter/pkg/match"
)

// FuzzRuleFile loads arbitrary rule files the whole way: YAML decoding,
// checks, grok expansion and compilation, metric registration; a file that
// loads then processes a few lines. Any input may be refused with problems;
// none may panic. pattern_files are left out: they read the file system.
func FuzzRuleFile(f *testing.F) {
	f.Add([]byte(`rules:
  - name: r
    match: '%{IPORHOST:client} %{WORD:method} %{NUMBER:bytes}'
    metrics:
      - {name: req_total, type: counter, labels: {method: '{{.method}}'}, value: '{{.bytes}}'}
      - {name: req_bytes, type: histogram, buckets: [1, 10], value: '{{.bytes}}', native: true}
      - {name: last, type: gauge, action: add, value: '{{add .bytes 1}}'}
      - {name: sizes, type: summary, objectives: {0.5: 0.05}, value: '{{.bytes}}'}
    expire: 1m
    max_series: 3
`), []byte("192.0.2.1 GET 12\nx\n"))
	f.Add([]byte(`patterns: {A: '%{B}%{B}', B: '(?>a|b)++', C: '(?<=x)y(?!z)'}
rules: [{name: r, match: '%{A:a}%{C}', sources: {inputs: [x*]}, metrics: [{name: m, type: counter}]}]
`), []byte("abxy\n"))
	lib := match.NewLibrary()
	f.Fuzz(func(t *testing.T, data, lines []byte) {
		if strings.Contains(string(data), "pattern_files") {
			return
		}
		rf, problems := config.ParseRuleFile("fuzz.yaml", data)
		if len(problems) > 0 {
			return
		}
		if ps := config.CheckRuleFiles([]*config.RuleFile{rf}); len(ps) > 0 {
			return
		}
		self, err := NewSelf(prometheus.NewRegistry(), "fuzz", "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		prog, problems := Build([]*config.RuleFile{rf}, lib, NewRegistry(self), self)
		if len(problems) > 0 {
			return
		}
		r := prog.NewRunner()
		now := time.Unix(1700000000, 0)
		for _, text := range strings.Split(string(lines), "\n") {
			l := logline.Line{Text: []byte(text), Input: "x", Source: "/var/log/containers/p_ns_c-0123.log"}
			r.Process(&l, now, nil)
		}
		_ = prog.Snapshot(now)
	})
}

// FuzzTemplate compiles arbitrary templates over two captures and renders
// those that compile.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"{{.a}}", "{{gsub .a \"x+\" \"y\"}}-{{.kubernetes.labels.app}}", "{{divide .b 0}}", "{{timestamp \"02/Jan/2006\" .a}}", "{{index . \"a\"}}{{.input}}{{.logfile}}", "{{if .a}}{{.b}}{{else}}z{{end}}", "{{range .}}x{{end}}", `{{printf "%0999999999d" 1}}`, "{{printf .a 1}}"} {
		f.Add(s, "12", "3.5")
	}
	f.Fuzz(func(t *testing.T, text, a, b string) {
		tmpl, err := CompileTemplate(text, []string{"a", "b"})
		if err != nil {
			return
		}
		line := a + b
		env := &Env{Text: []byte(line), Caps: []int{0, len(a), len(a), len(line)},
			Line: &logline.Line{Input: "in", Source: "/var/log/x.log", Kube: &logline.Kube{Namespace: "ns", Labels: map[string]string{"app": "web"}}}}
		out, err := tmpl.Render(nil, env)
		if err == nil && len(out) > 1<<20 {
			t.Fatalf("template %q rendered %d bytes", text, len(out))
		}
	})
}
