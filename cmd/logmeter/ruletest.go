package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/logmeter/logmeter/pkg/config"
	"github.com/logmeter/logmeter/pkg/kube"
	"github.com/logmeter/logmeter/pkg/logline"
	"github.com/logmeter/logmeter/pkg/metrics"
	"github.com/logmeter/logmeter/pkg/tail"
)

// cmdTestFiles runs rule unit test files ("logmeter test NAME_test.yaml..."):
// every test reads its lines with fresh metrics through the same pipeline
// as "logmeter test" and compares the metrics with its expectations. It
// prints PASS or FAIL per test, with a diff for failures, then a summary.
// Exit status: 0 when every test passed, 1 when one failed or a test or
// rule file has problems, 2 for usage errors.
func cmdTestFiles(fs *flag.FlagSet, files []string, maxLine int, explain bool, stdout, stderr io.Writer) error {
	first := files[slices.IndexFunc(files, config.IsRuleTestFile)]
	for _, f := range files {
		if !config.IsRuleTestFile(f) {
			return &exitError{code: 2, msg: fmt.Sprintf("test: %s is a test file but %s is not: run test files and log files in separate calls", first, f)}
		}
	}
	var misplaced []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "rules", "format", "input", "self-metrics":
			misplaced = append(misplaced, "--"+f.Name)
		}
	})
	if len(misplaced) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("test: %s cannot be used with test files: they name their rule files, and each test its input and format", strings.Join(misplaced, ", "))}
	}
	if maxLine <= 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("test: --max-line-bytes must be positive, not %d", maxLine)}
	}
	// Read every file first: an unreadable one is a usage error.
	type loaded struct {
		tf    *config.RuleTestFile
		probs config.Problems
	}
	var all []loaded
	for _, path := range files {
		tf, err := config.LoadRuleTestFile(path)
		var ps config.Problems
		if err != nil && !errors.As(err, &ps) {
			return &exitError{code: 2, msg: "test: " + err.Error()}
		}
		all = append(all, loaded{tf, ps})
	}
	rt := &ruleTester{maxLine: maxLine, stdout: stdout, stderr: stderr}
	if explain {
		rt.explain = stderr
	}
	broken := 0
	for _, l := range all {
		if !rt.runFile(l.tf, l.probs) {
			broken++
		}
	}
	summary := fmt.Sprintf("%d passed, %d failed", rt.passed, rt.failed)
	if broken > 0 {
		summary += fmt.Sprintf(", %d test file(s) with problems", broken)
	}
	fmt.Fprintln(stdout, summary)
	if rt.failed > 0 || broken > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// ruleTester runs the tests of rule test files and counts the results.
type ruleTester struct {
	maxLine        int
	explain        io.Writer // nil: no --explain
	stdout, stderr io.Writer
	passed, failed int
}

// runFile runs the tests of one file. It reports false, after printing the
// problems, when the file or its rule files have problems.
func (rt *ruleTester) runFile(tf *config.RuleTestFile, probs config.Problems) bool {
	paths, ps := ruleFilesUnderTest(tf)
	probs = append(probs, ps...)
	if len(probs) == 0 {
		// Compile once to report the rule files' problems once.
		if _, err := newTestPipeline(paths); err != nil {
			if !errors.As(err, &ps) {
				ps = config.Problems{{Pos: tf.Rules[0].Pos, Msg: err.Error()}}
			}
			probs = append(probs, ps...)
		}
	}
	if len(probs) > 0 {
		probs.Sort()
		for _, p := range probs {
			fmt.Fprintln(rt.stderr, p.Error())
		}
		return false
	}
	for i := range tf.Tests {
		t := &tf.Tests[i]
		diff, _, err := rt.runTest(paths, tf.Path, t)
		if err != nil {
			diff = []string{"error: " + err.Error()}
		}
		if len(diff) == 0 {
			rt.passed++
			fmt.Fprintf(rt.stdout, "PASS %s: %s\n", tf.Path, t.Name.Value)
			continue
		}
		rt.failed++
		fmt.Fprintf(rt.stdout, "FAIL %s: %s\n", tf.Path, t.Name.Value)
		for _, d := range diff {
			fmt.Fprintln(rt.stdout, "    "+d)
		}
	}
	return true
}

// ruleFilesUnderTest expands the rules of a test file into rule files;
// missing files are problems at the entry that names them.
func ruleFilesUnderTest(tf *config.RuleTestFile) ([]string, config.Problems) {
	var (
		out   []string
		probs config.Problems
	)
	for _, r := range tf.Rules {
		if !strings.ContainsAny(r.Value, "*?[") {
			if _, err := os.Stat(r.Value); err != nil {
				msg := fmt.Sprintf("rule file under test: %v", err)
				if tf.RulesDefault {
					msg = fmt.Sprintf("no rule file %s beside this test file; name the rule files under test with rules: [FILE...]", filepath.Base(r.Value))
				}
				probs = append(probs, config.Problem{Pos: r.Pos, Msg: msg})
				continue
			}
			out = append(out, r.Value)
			continue
		}
		m, err := globRuleFiles(r.Value)
		if err == nil && len(m) == 0 {
			err = errors.New("no rule file matches")
		}
		if err != nil {
			probs = append(probs, config.Problem{Pos: r.Pos, Msg: fmt.Sprintf("rules %q: %v", r.Value, err)})
			continue
		}
		out = append(out, m...)
	}
	return out, probs
}

// testPipeline is a compiled program with metrics of its own.
type testPipeline struct {
	prog    *metrics.Program
	self    *metrics.Self
	rules   *prometheus.Registry // the rules' metrics
	selfReg *prometheus.Registry // logmeter_* metrics
}

func newTestPipeline(paths []string) (*testPipeline, error) {
	p := &testPipeline{rules: prometheus.NewRegistry(), selfReg: prometheus.NewRegistry()}
	var err error
	if p.self, err = metrics.NewSelf(p.selfReg, version, revision()); err != nil {
		return nil, err
	}
	reg := metrics.NewRegistry(p.self)
	if p.prog, _, err = loadProgram(paths, reg, p.self); err != nil {
		return nil, err
	}
	if err := reg.Swap(p.prog.Families()); err != nil {
		return nil, err
	}
	if err := p.rules.Register(reg); err != nil {
		return nil, err
	}
	return p, nil
}

// runTest runs one test and returns the differences from its
// expectations, none when it passes, and the samples it produced.
func (rt *ruleTester) runTest(paths []string, file string, t *config.RuleTest) ([]string, []produced, error) {
	p, err := newTestPipeline(paths)
	if err != nil {
		return nil, nil, err
	}
	format, err := tail.ParseFormat(t.Format.Value)
	if err != nil {
		return nil, nil, err // validated by config
	}
	runner := p.prog.NewRunner()
	if t.Input.Value == "" {
		runner.InputLabel = "test"
	}
	one := &oneShot{
		runner:  runner,
		self:    p.self,
		format:  format,
		input:   t.Input.Value,
		maxLine: rt.maxLine,
		now:     time.Now(),
		meta:    testKube(t),
	}
	if rt.explain != nil {
		one.explain = rt.explain
		one.where = func(_ string, physical int) string {
			if physical-1 < len(t.LinePos) {
				return config.Pos{File: file, Line: t.LinePos[physical-1].Line}.String()
			}
			return fmt.Sprintf("%s: %s: line %d", file, t.Name.Value, physical)
		}
	}
	if err := one.read(strings.NewReader(t.Lines.Value), t.Path.Value); err != nil {
		return nil, nil, err
	}
	got, err := producedSamples(p.rules, p.selfReg)
	if err != nil {
		return nil, nil, err
	}
	diff := compareSamples(t, got)
	if t.Unmatched != nil && *t.Unmatched != one.unmatched {
		diff = append(diff, fmt.Sprintf("unmatched lines: expected %d, got %d", *t.Unmatched, one.unmatched))
	}
	return diff, got, nil
}

// testKube returns the pod metadata of a test's lines when its kubernetes
// mapping sets some: what the path gives, completed or overridden. nil
// leaves the path to the pipeline's own enrichment.
func testKube(t *config.RuleTest) *logline.Kube {
	o := t.Kubernetes
	if o == nil {
		return nil
	}
	k := &logline.Kube{}
	if fromPath, ok := kube.FromPath(t.Path.Value); ok {
		*k = *fromPath
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&k.Namespace, o.Namespace)
	set(&k.Pod, o.Pod)
	set(&k.PodUID, o.PodUID)
	set(&k.Container, o.Container)
	set(&k.Node, o.Node)
	if o.Labels != nil {
		k.Labels = maps.Clone(o.Labels)
	}
	return k
}

// produced is one sample a test's pipeline produced.
type produced struct {
	family string // the metric family: NAME of NAME_bucket
	config.Sample
}

// producedSamples gathers the rules' metrics and the self-metrics of a
// one-shot run as text-format samples: histograms as _bucket (with le),
// _sum and _count, summaries as quantiles, _sum and _count.
func producedSamples(rules, self prometheus.Gatherer) ([]produced, error) {
	mfs, err := prometheus.Gatherers{rules, self}.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	var out []produced
	for _, mf := range mfs {
		name := mf.GetName()
		if strings.HasPrefix(name, "logmeter_") && !oneShotSelfMetric(name) {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := make([]config.SampleLabel, 0, len(m.GetLabel())+1)
			for _, l := range m.GetLabel() {
				labels = append(labels, config.SampleLabel{Name: l.GetName(), Value: l.GetValue()})
			}
			add := func(suffix string, v float64, extra ...config.SampleLabel) {
				ls := append(slices.Clip(labels), extra...)
				config.SortSampleLabels(ls)
				out = append(out, produced{family: name, Sample: config.Sample{Name: name + suffix, Labels: ls, Value: v}})
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				add("", m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add("", m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add("", m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				h := m.GetHistogram()
				inf := false
				for _, b := range h.GetBucket() {
					inf = inf || math.IsInf(b.GetUpperBound(), 1)
					add("_bucket", float64(b.GetCumulativeCount()), config.SampleLabel{Name: "le", Value: config.FormatSampleValue(b.GetUpperBound())})
				}
				if !inf {
					add("_bucket", float64(h.GetSampleCount()), config.SampleLabel{Name: "le", Value: "+Inf"})
				}
				add("_sum", h.GetSampleSum())
				add("_count", float64(h.GetSampleCount()))
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					add("", q.GetValue(), config.SampleLabel{Name: "quantile", Value: config.FormatSampleValue(q.GetQuantile())})
				}
				add("_sum", s.GetSampleSum())
				add("_count", float64(s.GetSampleCount()))
			}
		}
	}
	return out, nil
}

// compareSamples compares what a test expects with what was produced and
// returns the differences as "- expected" and "+ produced" lines, sorted
// by series. For every sample name in expect, the produced series of that
// name must be exactly the expected ones; absent names must have none.
// Self-metric (logmeter_*) series at 0 count as not there, so expecting
// 0 and leaving a series out mean the same.
func compareSamples(t *config.RuleTest, got []produced) []string {
	isSelf := func(name string) bool { return strings.HasPrefix(name, "logmeter_") }
	ignored := func(name string, v float64) bool { return v == 0 && isSelf(name) }
	want := map[string]map[string]config.Sample{} // name -> series -> sample
	for _, s := range t.Expect {
		if want[s.Name] == nil {
			want[s.Name] = map[string]config.Sample{}
		}
		want[s.Name][s.Series()] = s
	}
	have := map[string]map[string]config.Sample{}
	for _, g := range got {
		if want[g.Name] == nil || ignored(g.Name, g.Value) {
			continue
		}
		if have[g.Name] == nil {
			have[g.Name] = map[string]config.Sample{}
		}
		have[g.Name][g.Series()] = g.Sample
	}
	var diff []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		w, h := want[name], have[name]
		series := slices.Sorted(maps.Keys(w))
		for k := range h {
			if _, ok := w[k]; !ok {
				series = append(series, k)
			}
		}
		slices.Sort(series)
		for _, k := range series {
			ws, inW := w[k]
			hs, inH := h[k]
			if inW && !inH && isSelf(name) {
				hs, inH = ws, true // a self-metric series not there is 0
				hs.Value = 0
			}
			if inW && inH && sameValue(ws.Value, hs.Value) {
				continue
			}
			if inW {
				diff = append(diff, "- "+ws.String())
			}
			if inH {
				diff = append(diff, "+ "+hs.String())
			}
		}
	}
	for _, a := range t.Absent {
		var extra []string
		for _, g := range got {
			if (g.Name == a.Value || g.family == a.Value) && !ignored(g.Name, g.Value) {
				extra = append(extra, "+ "+g.String())
			}
		}
		slices.Sort(extra)
		diff = append(diff, extra...)
	}
	return diff
}

// sameValue compares sample values: equal, both NaN, or within a relative
// 1e-9 (sums of floats depend on the order of additions).
func sameValue(a, b float64) bool {
	if a == b || math.IsNaN(a) && math.IsNaN(b) {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}
