package monitoringtest

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/logmeter/logmeter/pkg/config"
	"github.com/logmeter/logmeter/pkg/match"
	"github.com/logmeter/logmeter/pkg/metrics"
)

// root is the repository root, relative to this package's directory (where
// go test runs).
var root = filepath.Join("..", "..")

// shape is what a metric family looks like to PromQL.
type shape int

const (
	plain            shape = iota // counter, gauge, untyped: one series name
	histogram                     // classic: _bucket, _sum, _count
	nativeHistogram               // native only: the name itself
	nativeAndClassic              // both of the above
	summary                       // quantiles under the name, _sum, _count
)

func shapeOf(t dto.MetricType) shape {
	switch t {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return histogram
	case dto.MetricType_SUMMARY:
		return summary
	}
	return plain
}

// notFromRegistry are series that dashboards and alerts may use although
// the registry built by exposition does not hold them.
var notFromRegistry = map[string]shape{
	// Registered by cmd/logmeter (daemon.setUpEvents) only when
	// kubernetes.events is on.
	"logmeter_kubernetes_events_total":  plain,
	"logmeter_kubernetes_events_leader": plain,
	// Written by Prometheus itself for every scrape target.
	"up": plain,
}

// exposition returns the names of every series logmeter can expose, built
// the way the daemon builds its registry: Go and process collectors, the
// self-metrics and the families of every shipped rule file. Histograms and
// summaries contribute the series names PromQL sees (_bucket, _sum, _count).
func exposition(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	self, err := metrics.NewSelf(reg, "test", "test")
	if err != nil {
		t.Fatal(err)
	}
	rules := metrics.NewRegistry(self)
	reg.MustRegister(rules)

	paths, err := filepath.Glob(filepath.Join(root, "rules", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no shipped rule files found (%v)", err)
	}
	var files []*config.RuleFile
	for _, p := range paths {
		if config.IsRuleTestFile(p) { // rule unit tests beside the rules, as the daemon's globs skip them
			continue
		}
		rf, err := config.LoadRuleFile(p)
		if err != nil {
			t.Fatalf("loading %s: %v", p, err)
		}
		files = append(files, rf)
	}
	if ps := config.CheckRuleFiles(files); len(ps) > 0 {
		t.Fatalf("shipped rules: %v", ps)
	}
	prog, ps := metrics.Build(files, match.NewLibrary(), rules, self)
	if len(ps) > 0 {
		t.Fatalf("shipped rules: %v", ps)
	}
	if err := rules.Swap(prog.Families()); err != nil {
		t.Fatal(err)
	}

	shapes := map[string]shape{}
	for name, s := range notFromRegistry {
		shapes[name] = s
	}
	// Gather knows the type of every family with at least one child.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		shapes[mf.GetName()] = shapeOf(mf.GetType())
	}
	// Vectors without children are missing from Gather; their descriptors
	// still name them, though not their type. Today none of them is a
	// histogram or summary vector; should one be added, its _bucket, _sum
	// and _count series show up as missing until it gets a child here.
	for _, name := range describedNames(t, reg) {
		if _, ok := shapes[name]; !ok {
			shapes[name] = plain
		}
	}
	// The rule registry is an unchecked collector: it describes nothing,
	// and its families have no children before a line is processed.
	for _, f := range prog.Families() {
		o := f.Opts()
		switch {
		case o.Kind == metrics.Histogram && o.Native && o.Classic:
			shapes[o.Name] = nativeAndClassic
		case o.Kind == metrics.Histogram && o.Native:
			shapes[o.Name] = nativeHistogram
		case o.Kind == metrics.Histogram:
			shapes[o.Name] = histogram
		case o.Kind == metrics.Summary:
			shapes[o.Name] = summary
		default:
			shapes[o.Name] = plain
		}
	}

	names := map[string]bool{}
	for name, s := range shapes {
		switch s {
		case plain:
			names[name] = true
		case histogram:
			names[name+"_bucket"] = true
			names[name+"_sum"] = true
			names[name+"_count"] = true
		case nativeHistogram:
			names[name] = true
		case nativeAndClassic, summary:
			names[name] = true
			names[name+"_sum"] = true
			names[name+"_count"] = true
			if s == nativeAndClassic {
				names[name+"_bucket"] = true
			}
		}
	}
	// A sanity check that the registry was assembled: one self-metric, one
	// rule metric and one Go runtime metric.
	for _, want := range []string{"logmeter_lines_read_total", "nginx_http_request_duration_seconds_bucket", "go_goroutines"} {
		if !names[want] {
			t.Fatalf("exposition lacks %s; it has %v", want, sortedKeys(names))
		}
	}
	return names
}

// describedNames returns the metric name of every descriptor reg's
// collectors describe. A Desc does not reveal its name directly, so each
// one is turned into a constant metric (with as many empty label values as
// it takes) and gathered.
func describedNames(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	ch := make(chan *prometheus.Desc)
	go func() {
		reg.Describe(ch)
		close(ch)
	}()
	var c constCollector
	for d := range ch {
		m, err := constMetric(d)
		if err != nil {
			t.Fatalf("%v: %v", d, err)
		}
		c = append(c, m)
	}
	tmp := prometheus.NewRegistry()
	tmp.MustRegister(c)
	mfs, err := tmp.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	if len(names) != len(c) {
		t.Fatalf("%d descriptors gave %d names", len(c), len(names))
	}
	return names
}

func constMetric(d *prometheus.Desc) (prometheus.Metric, error) {
	var err error
	for n := 0; n <= 32; n++ {
		var m prometheus.Metric
		if m, err = prometheus.NewConstMetric(d, prometheus.UntypedValue, 0, make([]string, n)...); err == nil {
			return m, nil
		}
	}
	return nil, err
}

// constCollector is an unchecked collector of fixed metrics.
type constCollector []prometheus.Metric

func (constCollector) Describe(chan<- *prometheus.Desc) {}

func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}

// grafanaDurations are Grafana's built-in interval variables, which stand
// where PromQL expects a duration.
var grafanaDurations = regexp.MustCompile(`\$\{?__(?:rate_interval|interval|range)\}?`)

// metricNameLiteral is a metric name with nothing a regular expression
// would treat specially.
var metricNameLiteral = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// metricNames parses a PromQL expression (after putting a duration in
// place of Grafana's interval variables; other variables are expected
// inside label matcher strings) and returns the metric names its selectors
// use. A selector whose names cannot be told (no name, or a __name__ regex
// other than a list of alternatives) is an error.
func metricNames(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaDurations.ReplaceAllString(expr, "5m"))
	if err != nil {
		return nil, err
	}
	var names []string
	var errs []error
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if vs.Name != "" {
			names = append(names, vs.Name)
			return nil
		}
		found := false
		for _, m := range vs.LabelMatchers {
			if m.Name != "__name__" {
				continue
			}
			// Compared by spelling to keep this package's imports to the parser.
			switch m.Type.String() {
			case "=":
				names = append(names, m.Value)
				found = true
			case "=~":
				for _, alt := range strings.Split(m.Value, "|") {
					if !metricNameLiteral.MatchString(alt) {
						errs = append(errs, fmt.Errorf("selector %s: cannot tell the metric names of __name__=~%q", vs, m.Value))
						return nil
					}
					names = append(names, alt)
				}
				found = true
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("selector %s names no metric", vs))
		}
		return nil
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(names) == 0 {
		return nil, errors.New("the expression uses no metric")
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// checkExpr reports, under where, a PromQL expression that does not parse
// or uses a metric logmeter does not expose.
func checkExpr(t *testing.T, known map[string]bool, where, expr string) {
	t.Helper()
	names, err := metricNames(expr)
	if err != nil {
		t.Errorf("%s: %q: %v", where, expr, err)
		return
	}
	for _, n := range names {
		if !known[n] {
			t.Errorf("%s: %q uses %s, which logmeter does not expose", where, expr, n)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestMetricNames(t *testing.T) {
	for _, c := range []struct {
		expr  string
		names []string
		err   bool
	}{
		{`rate(a_total{job=~"$job"}[$__rate_interval])`, []string{"a_total"}, false},
		{`histogram_quantile(0.9, sum by (le) (rate(h_bucket[${__rate_interval}]))) / b`, []string{"b", "h_bucket"}, false},
		{`{__name__=~"x_total|y_total", job="j"}`, []string{"x_total", "y_total"}, false},
		{`{__name__="x"} + x`, []string{"x"}, false},
		{`{__name__=~"x.*"}`, nil, true},
		{`{job="j"}`, nil, true},
		{`vector(1)`, nil, true},
		{`rate(a[5m]`, nil, true},
	} {
		got, err := metricNames(c.expr)
		if (err != nil) != c.err || !slices.Equal(got, c.names) {
			t.Errorf("metricNames(%q) = %v, %v; want %v, error %v", c.expr, got, err, c.names, c.err)
		}
	}
}

// TestExpositionIsComplete guards the exposition the other tests compare
// against: it must hold vectors without children and rule histograms.
func TestExpositionIsComplete(t *testing.T) {
	names := exposition(t)
	for _, want := range []string{
		"logmeter_lag_bytes", "logmeter_decode_errors_total", "logmeter_forward_docs_total",
		"logmeter_forward_bulk_duration_seconds_bucket", "logmeter_build_info",
		"nginx_http_requests_total", "apache_http_response_bytes_total",
		"nginx_http_request_duration_seconds_count", "process_resident_memory_bytes",
	} {
		if !names[want] {
			t.Errorf("exposition lacks %s", want)
		}
	}
	for _, unwanted := range []string{"logmeter_lines_read_total_bucket", "nginx_http_request_duration_seconds", "nginx_http_requests_total_count"} {
		if names[unwanted] {
			t.Errorf("exposition has %s", unwanted)
		}
	}
}
