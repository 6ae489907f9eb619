package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logmeter/logmeter/internal/estest"
)

// dashInterval replaces Grafana's interval variables ($__rate_interval,
// $__interval, $__range): long enough to hold several 1s scrapes, short
// enough that the lines fed during the test are inside the window.
const (
	dashInterval   = "15s"
	dashIntervalMS = "15000"
	dashIntervalS  = "15"
)

// dashExemptMetric marks queries this test does not require data from:
// the Kubernetes events watcher's own metrics need a Kubernetes API server
// and a Lease (TestKubernetesEvents covers them), which this test does not
// start. A query is exempt only if it names such a metric.
const dashExemptMetric = "logmeter_kubernetes_events_"

// dashVar is a template variable of a dashboard.
type dashVar struct {
	Name  string          `json:"name"`
	Type  string          `json:"type"`
	Query json.RawMessage `json:"query"` // a string, or an object with "query"
}

// query returns the variable's query text.
func (v dashVar) query() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var obj struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(v.Query, &obj) == nil {
		return obj.Query
	}
	return ""
}

// dashQuery is one query a dashboard runs: a panel target's expression or
// a template variable's label_values query.
type dashQuery struct {
	where   string // file, row and panel title, target
	expr    string // as written in the dashboard
	query   string // with the variables replaced, ready for Prometheus
	problem string // why the expression cannot be run as written; "" if it can
	exempt  bool
	// labelOf is set for label_values queries: the label each sample must carry.
	labelOf string
}

// dashPanel is the part of a Grafana panel the test reads. Rows of the
// current schema are panels of type "row" holding their panels when
// collapsed; the old schema has a top-level "rows" list.
type dashPanel struct {
	Title      string `json:"title"`
	Type       string `json:"type"`
	Datasource any    `json:"datasource"`
	Targets    []struct {
		RefID      string `json:"refId"`
		Expr       string `json:"expr"`
		Datasource any    `json:"datasource"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"`
}

type dashboard struct {
	Title      string      `json:"title"`
	Panels     []dashPanel `json:"panels"`
	Rows       []dashPanel `json:"rows"`
	Templating struct {
		List []dashVar `json:"list"`
	} `json:"templating"`
}

// loadDashboard reads a dashboard file (the dashboard model itself, or the
// API's {"dashboard": ...} wrapper) and lists its queries.
func loadDashboard(path string) ([]dashQuery, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var wrapped struct {
		Dashboard *dashboard `json:"dashboard"`
	}
	var d dashboard
	if err := json.Unmarshal(data, &wrapped); err == nil && wrapped.Dashboard != nil {
		d = *wrapped.Dashboard
	} else if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	vars := map[string]dashVar{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	file := filepath.Base(path)
	var out []dashQuery
	add := func(where, expr string) {
		q := dashQuery{where: where, expr: expr, exempt: strings.Contains(expr, dashExemptMetric)}
		var problems []string
		q.query, problems = substituteVars(expr, vars)
		q.problem = strings.Join(problems, "; ")
		out = append(out, q)
	}
	var walk func(row string, ps []dashPanel)
	walk = func(row string, ps []dashPanel) {
		for _, p := range ps {
			if p.Type == "row" {
				row = p.Title
				walk(row, p.Panels)
				continue
			}
			for i, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" || !prometheusDatasource(tg.Datasource, p.Datasource) {
					continue
				}
				ref := tg.RefID
				if ref == "" {
					ref = fmt.Sprintf("#%d", i+1)
				}
				where := fmt.Sprintf("%s: panel %q, target %s", file, p.Title, ref)
				if row != "" {
					where = fmt.Sprintf("%s: row %q, panel %q, target %s", file, row, p.Title, ref)
				}
				add(where, tg.Expr)
			}
			walk(row, p.Panels)
		}
	}
	walk("", d.Panels)
	for _, r := range d.Rows {
		walk(r.Title, r.Panels)
	}
	// Template variables filled from Prometheus must find values too.
	labelValues := regexp.MustCompile(`^\s*label_values\((.*),\s*([A-Za-z_]\w*)\s*\)\s*$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.query())
		if m == nil {
			continue
		}
		where := fmt.Sprintf("%s: variable $%s", file, v.Name)
		add(where, fmt.Sprintf("count by (%s) (%s)", m[2], m[1]))
		out[len(out)-1].labelOf = m[2]
	}
	return out, nil
}

// prometheusDatasource reports whether a target runs on Prometheus: its
// datasource (or its panel's) is unset, a variable, or of type prometheus.
func prometheusDatasource(target, panel any) bool {
	ds := target
	if ds == nil {
		ds = panel
	}
	switch v := ds.(type) {
	case map[string]any:
		typ, _ := v["type"].(string)
		return typ == "" || typ == "prometheus" || strings.HasPrefix(typ, "$")
	default:
		return true
	}
}

// dashVarRE matches a Grafana variable: ${name}, ${name:format}, [[name]],
// [[name:format]] or $name. $1 (a label_replace reference) is not one.
var dashVarRE = regexp.MustCompile(`\$\{([A-Za-z_]\w*)(?:[:.][^}]*)?\}|\[\[([A-Za-z_]\w*)(?::[^\]]*)?\]\]|\$([A-Za-z_]\w*)`)

// substituteVars replaces the variables of a dashboard query the way the
// test runs it: Grafana's interval variables become dashInterval; a
// variable in a regular-expression matcher (label=~"$v") becomes ".*",
// what "All" selects; an interval variable becomes dashInterval and a
// constant its value. Anything else (a variable after "=", "!=" or "!~",
// in another string, in the expression itself, or one the dashboard does
// not define) is a problem: the query would not work for every selection.
func substituteVars(expr string, vars map[string]dashVar) (string, []string) {
	var problems []string
	replace := func(text, ctx string) string {
		return dashVarRE.ReplaceAllStringFunc(text, func(m string) string {
			sub := dashVarRE.FindStringSubmatch(m)
			name := sub[1] + sub[2] + sub[3]
			switch name {
			case "__rate_interval", "__interval", "__range":
				return dashInterval
			case "__rate_interval_ms", "__interval_ms", "__range_ms":
				return dashIntervalMS
			case "__range_s":
				return dashIntervalS
			}
			v, ok := vars[name]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s is not a variable of the dashboard", m))
				return m
			}
			switch v.Type {
			case "interval":
				return dashInterval
			case "constant":
				return v.query()
			}
			switch ctx {
			case "=~":
				return ".*"
			case "=", "!=":
				problems = append(problems, fmt.Sprintf("%s is used with %q: a multi-value or All selection needs =~", m, ctx))
			case "!~":
				problems = append(problems, fmt.Sprintf("%s is used with \"!~\": All (.*) would exclude every series", m))
			case "string":
				problems = append(problems, fmt.Sprintf("%s is used in a string that is not a label matcher", m))
			default:
				problems = append(problems, fmt.Sprintf("%s is used outside a label matcher", m))
			}
			return m
		})
	}
	var b strings.Builder
	code := 0 // start of the text outside strings not yet written
	for i := 0; i < len(expr); i++ {
		quote := expr[i]
		if quote != '"' && quote != '\'' && quote != '`' {
			continue
		}
		end := i + 1
		for end < len(expr) && expr[end] != quote {
			if expr[end] == '\\' && quote != '`' {
				end++
			}
			end++
		}
		if end >= len(expr) {
			problems = append(problems, "unterminated string")
			break
		}
		b.WriteString(replace(expr[code:i], "code"))
		b.WriteByte(quote)
		b.WriteString(replace(expr[i+1:end], matcherOp(expr[:i])))
		b.WriteByte(quote)
		code = end + 1
		i = end
	}
	if code < len(expr) {
		b.WriteString(replace(expr[code:], "code"))
	}
	return b.String(), problems
}

// matcherOp returns the label matcher operator before a string ("=~",
// "!~", "!=", "="), or "string" when the string is not a matcher's value.
func matcherOp(before string) string {
	s := strings.TrimRight(before, " \t\n")
	for _, op := range []string{"=~", "!~", "!="} {
		if strings.HasSuffix(s, op) {
			return op
		}
	}
	if strings.HasSuffix(s, "=") && !strings.HasSuffix(s, "==") {
		return "="
	}
	return "string"
}

// TestDashboardVariableSubstitution pins the rules TestDashboardQueriesReturnData
// runs dashboard queries by.
func TestDashboardVariableSubstitution(t *testing.T) {
	vars := map[string]dashVar{}
	for _, v := range []dashVar{
		{Name: "job", Type: "query"}, {Name: "instance", Type: "query"}, {Name: "method", Type: "custom"},
		{Name: "window", Type: "interval"}, {Name: "q", Type: "constant", Query: json.RawMessage(`"0.99"`)},
	} {
		vars[v.Name] = v
	}
	for _, c := range []struct {
		in, want string
		problem  bool
	}{
		{`rate(x{job=~"$job", instance=~"${instance}"}[$__rate_interval])`, `rate(x{job=~".*", instance=~".*"}[15s])`, false},
		{`sum(x{method=~"[[method]]|GET"}) by (method)`, `sum(x{method=~".*|GET"}) by (method)`, false},
		{`x{job =~ "${job:regex}"}[$__interval] offset $__range`, `x{job =~ ".*"}[15s] offset 15s`, false},
		{`histogram_quantile($q, rate(x_bucket[$window]))`, `histogram_quantile(0.99, rate(x_bucket[15s]))`, false},
		{`label_replace(x{job=~"$job"}, "a", "$1", "b", "(.*)")`, `label_replace(x{job=~".*"}, "a", "$1", "b", "(.*)")`, false},
		{`x{le="+Inf", path=~"/a\"$job"}`, `x{le="+Inf", path=~"/a\".*"}`, false},
		{`x{job="$job"}`, `x{job="$job"}`, true},
		{`x{job!="$job"}`, `x{job!="$job"}`, true},
		{`x{job!~"$job"}`, `x{job!~"$job"}`, true},
		{`topk($method, x)`, `topk($method, x)`, true},
		{`x{job=~"$nosuch"}`, `x{job=~"$nosuch"}`, true},
	} {
		got, problems := substituteVars(c.in, vars)
		if got != c.want || (len(problems) > 0) != c.problem {
			t.Errorf("substituteVars(%s) = %s, problems %q; want %s, problem %v", c.in, got, problems, c.want, c.problem)
		}
	}
}

// TestDashboardQueriesReturnData runs every query of the Grafana dashboards
// in examples/dashboards against a Prometheus that scraped a logmeter which
// loaded every shipped rule file, read every example log (fed over a few
// seconds, so rates are not zero) and forwarded the lines to the test
// Elasticsearch server. Each panel query, and each template variable's
// label_values query, must return data (not nothing, not only NaN).
// Variables become ".*" in =~ matchers and the interval variables 15s; see
// substituteVars.
func TestDashboardQueriesReturnData(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(repoRoot, "examples", "dashboards")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no dashboards (*.json) in examples/dashboards")
	}
	var queries []dashQuery
	for _, f := range files {
		qs, err := loadDashboard(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) == 0 {
			t.Errorf("%s: no Prometheus queries found (panels[].targets[].expr)", filepath.Base(f))
		}
		queries = append(queries, qs...)
	}
	promBinary(t, "prometheus")

	es := estest.Start(t)
	a := startAllRulesAgent(t, es)
	p := startPrometheus(t, fmt.Sprintf("- job_name: logmeter\n  static_configs:\n    - targets: [%q]\n", a.addr))
	p.waitValue(t, 20*time.Second, `up{job="logmeter"}`, 1)
	const parts = 4
	for i := range parts {
		if i > 0 {
			time.Sleep(time.Second) // spread the lines over several scrapes
		}
		a.feed.write(t, i, parts)
	}
	p.waitValue(t, 30*time.Second, `sum(logmeter_lines_read_total)`, float64(a.feed.lines))
	waitFor(t, 30*time.Second, "every line forwarded, as Prometheus sees it", func() (bool, string) {
		v, desc, ok := p.scalarOf(`sum(logmeter_forward_docs_total{result="sent"})`)
		return ok && v >= float64(a.feed.lines), desc
	})

	var failures []string
	ran := 0
	for _, q := range queries {
		if q.exempt {
			t.Logf("exempt (%s metrics need a Kubernetes API server): %s: %s", dashExemptMetric, q.where, q.expr)
			continue
		}
		if q.problem != "" {
			failures = append(failures, fmt.Sprintf("%s: %s\n      %s", q.where, q.problem, q.expr))
			continue
		}
		ran++
		r, err := p.query(q.query)
		switch {
		case err != nil:
			failures = append(failures, fmt.Sprintf("%s: %v", q.where, err))
		case r.empty():
			failures = append(failures, fmt.Sprintf("%s: no data\n      %s", q.where, q.query))
		case r.allNaN():
			failures = append(failures, fmt.Sprintf("%s: only NaN (%s)\n      %s", q.where, describeSamples(r.Samples), q.query))
		case q.labelOf != "" && !slices.ContainsFunc(r.Samples, func(s promSample) bool { return s.Metric[q.labelOf] != "" }):
			failures = append(failures, fmt.Sprintf("%s: no value of label %s (%s)\n      %s", q.where, q.labelOf, describeSamples(r.Samples), q.query))
		}
	}
	t.Logf("%d dashboards, %d queries, %d run, %d failed", len(files), len(queries), ran, len(failures))
	if len(failures) > 0 {
		t.Errorf("%d of %d dashboard queries fail:\n  %s", len(failures), len(queries), strings.Join(failures, "\n  "))
	}
}
