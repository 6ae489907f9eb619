package metrics

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logmeter/logmeter/pkg/config"
	"github.com/logmeter/logmeter/pkg/logline"
	"github.com/logmeter/logmeter/pkg/match"
)

// Program is a compiled set of rule files: for each line, which rules to try
// and what each match does to its metrics. It is immutable; lines are
// processed by Runners, one per goroutine.
type Program struct {
	rules      []*rule
	families   []*Family
	signatures map[*Family]string // see signature
	self       *Self
	hasSources bool
}

type rule struct {
	name    string
	file    string
	pattern *match.Pattern
	sources sources
	metrics []*ruleMetric
	matched prometheus.Counter
}

type action int8

const (
	actAdd action = iota // counter, gauge add
	actSub
	actSet
	actObserve
)

type ruleMetric struct {
	family *Family
	action action
	labels []*Template
	value  *Template // nil: 1
	feeder string    // the rule's pattern and this metric's templates, for its family's signature
}

// Build compiles rule files into a Program, creating or reusing their metric
// families in reg. base is the pattern library every file starts from (each
// file's own patterns and pattern_files are added to a copy). All problems
// are returned, each with the position it comes from.
func Build(files []*config.RuleFile, base *match.Library, reg *Registry, self *Self) (*Program, config.Problems) {
	var problems config.Problems
	prog := &Program{self: self}
	for _, f := range files {
		lib := base.Clone()
		for _, pf := range f.PatternFiles {
			if err := lib.LoadFile(pf.Value); err != nil {
				problems = append(problems, filePatternProblems(pf.Pos, err)...)
			}
		}
		// The file's own patterns come last and win over pattern files, as
		// Logstash's pattern_definitions do.
		for _, pd := range f.Patterns {
			expr := pd.Expr
			lib.Define(match.Definition{
				Name: pd.Name.Value, Expr: expr.Value,
				File: expr.Pos.File, Line: expr.Pos.Line, Col: expr.Pos.Col,
				Locate: func(off int) (int, int, bool) {
					p, ok := expr.ColumnOf(off)
					return p.Line, p.Col, ok
				},
			})
		}
		// A broken definition of the file's own is reported even when no
		// rule uses it yet.
		for _, pd := range f.Patterns {
			if _, err := lib.Compile("%{" + pd.Name.Value + "}"); err != nil {
				p := patternProblem(pd.Expr, err)
				if p.Pos.File == "" {
					p.Pos = pd.Expr.Pos
				}
				problems = append(problems, p)
			}
		}
		for i := range f.Rules {
			r, ps := buildRule(&f.Rules[i], f.Path, lib, reg, self)
			problems = append(problems, ps...)
			if r != nil {
				prog.rules = append(prog.rules, r)
				prog.hasSources = prog.hasSources || r.sources.set
				for _, m := range r.metrics {
					prog.families = appendUnique(prog.families, m.family)
				}
			}
		}
	}
	feeders := map[*Family][]string{}
	for _, r := range prog.rules {
		for _, m := range r.metrics {
			feeders[m.family] = append(feeders[m.family], m.feeder)
		}
	}
	prog.signatures = map[*Family]string{}
	for _, f := range prog.families {
		prog.signatures[f] = signature(f, feeders[f])
	}
	if len(problems) > 0 {
		problems.Sort()
		// Rules that share a broken pattern report it once.
		problems = slices.CompactFunc(problems, func(a, b config.Problem) bool { return a == b })
		return nil, problems
	}
	return prog, nil
}

func appendUnique(fams []*Family, f *Family) []*Family {
	for _, g := range fams {
		if g == f {
			return fams
		}
	}
	return append(fams, f)
}

// Families returns the metric families the program updates; install them
// with Registry.Swap once the program is accepted.
func (p *Program) Families() []*Family { return p.families }

// Rules returns the names of the rules in the order they are tried.
func (p *Program) Rules() []string {
	names := make([]string, len(p.rules))
	for i, r := range p.rules {
		names[i] = r.name
	}
	return names
}

func buildRule(cr *config.Rule, file string, lib *match.Library, reg *Registry, self *Self) (*rule, config.Problems) {
	var problems config.Problems
	pat, err := lib.Compile(cr.Match.Value)
	if err != nil {
		return nil, config.Problems{patternProblem(cr.Match, err)}
	}
	r := &rule{name: cr.Name.Value, file: file, pattern: pat, sources: compileSources(cr.Sources)}
	if self != nil {
		r.matched = self.LinesMatched.WithLabelValues(r.name)
	}
	names := make([]string, len(pat.Fields()))
	for i, f := range pat.Fields() {
		names[i] = f.Name
	}
	for i := range cr.Metrics {
		cm := &cr.Metrics[i]
		rm, ps := buildMetric(cm, cr, names, reg, self)
		problems = append(problems, ps...)
		if rm != nil {
			r.metrics = append(r.metrics, rm)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return r, nil
}

func buildMetric(cm *config.Metric, cr *config.Rule, fields []string, reg *Registry, self *Self) (*ruleMetric, config.Problems) {
	var problems config.Problems
	kind, err := ParseKind(cm.Type.Value)
	if err != nil {
		return nil, config.Problems{{Pos: cm.Type.Pos, Msg: err.Error()}}
	}
	opts := FamilyOpts{
		Name:      cm.Name.Value,
		Help:      cm.Help.Value,
		Kind:      kind,
		Buckets:   cm.Buckets,
		MaxSeries: cr.MaxSeries,
		Expire:    cr.Expire,
	}
	if len(cm.Objectives) > 0 || cm.ObjectivesPos.Line > 0 {
		// Given, even empty ({}: count and sum only): not the defaults.
		opts.Objectives = make(map[float64]float64, len(cm.Objectives))
		for _, o := range cm.Objectives {
			opts.Objectives[o.Quantile] = o.Error
		}
	}
	if cm.Native != nil {
		opts.Native = true
		opts.NativeBucketFactor = cm.Native.BucketFactor
		opts.NativeMaxBuckets = cm.Native.MaxBuckets
		opts.Classic = cm.Native.Classic
	}
	rm := &ruleMetric{}
	// Label names are kept sorted, so that rules (or versions of a rule)
	// listing the same labels in another order feed the same family.
	labels := slices.SortedFunc(slices.Values(cm.Labels), func(a, b config.Label) int {
		return strings.Compare(a.Name.Value, b.Name.Value)
	})
	for _, l := range labels {
		opts.LabelNames = append(opts.LabelNames, l.Name.Value)
		t, err := CompileTemplate(l.Template.Value, fields)
		if err != nil {
			problems = append(problems, templateProblem(l.Template, err))
			continue
		}
		rm.labels = append(rm.labels, t)
	}
	if cm.Value != nil {
		t, err := CompileTemplate(cm.Value.Value, fields)
		if err != nil {
			problems = append(problems, templateProblem(*cm.Value, err))
		}
		rm.value = t
	}
	switch kind {
	case Counter:
		rm.action = actAdd
	case Gauge:
		switch cm.Action.Value {
		case "add":
			rm.action = actAdd
		case "sub":
			rm.action = actSub
		default:
			rm.action = actSet
		}
	default:
		rm.action = actObserve
	}
	if len(problems) > 0 {
		return nil, problems
	}
	fam, err := reg.Family(opts)
	if err != nil {
		return nil, config.Problems{{Pos: cm.Name.Pos, Msg: err.Error()}}
	}
	rm.family = fam
	rm.feeder = feederOf(cr, cm, labels)
	return rm, nil
}

// patternProblem positions a grok compilation error: inside a pattern
// definition it already carries its own file position; inside the rule's
// match it is mapped onto the match string's column.
func patternProblem(m config.String, err error) config.Problem {
	var ee *match.ExpandError
	if errors.As(err, &ee) && ee.File == "" {
		if pos, ok := m.ColumnOf(ee.Offset); ok {
			return config.Problem{Pos: pos, Msg: ee.Msg}
		}
		return config.Problem{Pos: m.Pos, Msg: ee.Msg}
	}
	var ce *match.CompileError
	if errors.As(err, &ce) && ce.File != "" {
		return config.Problem{Pos: config.Pos{File: ce.File, Line: ce.Line, Col: ce.Col}, Msg: ce.Message()}
	}
	if errors.As(err, &ee) && ee.File != "" {
		return config.Problem{Pos: config.Pos{File: ee.File, Line: ee.Line, Col: ee.Col}, Msg: ee.Message()}
	}
	return config.Problem{Pos: m.Pos, Msg: err.Error()}
}

func templateProblem(s config.String, err error) config.Problem {
	var te *TemplateError
	if errors.As(err, &te) {
		if te.Offset >= 0 {
			if pos, ok := s.ColumnOf(te.Offset); ok {
				return config.Problem{Pos: pos, Msg: te.Msg}
			}
		}
		return config.Problem{Pos: s.Pos, Msg: te.Msg}
	}
	return config.Problem{Pos: s.Pos, Msg: err.Error()}
}

// filePatternProblems turns the error of loading a pattern file into
// problems: each bad line at its own position, anything else (such as a
// missing file) at the pattern_files entry.
func filePatternProblems(at config.Pos, err error) config.Problems {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out config.Problems
	for _, e := range errs {
		var pe *match.ParseError
		if errors.As(e, &pe) {
			out = append(out, config.Problem{Pos: config.Pos{File: pe.File, Line: pe.Line, Col: pe.Col}, Msg: pe.Msg})
			continue
		}
		out = append(out, config.Problem{Pos: at, Msg: e.Error()})
	}
	return out
}

// sources is a rule's compiled `sources` block.
type sources struct {
	set                            bool
	inputs, namespaces, containers []string
	labelKeys, labelValues         []string
}

func compileSources(s config.Sources) sources {
	out := sources{set: s.Set}
	for _, v := range s.Inputs {
		out.inputs = append(out.inputs, v.Value)
	}
	for _, v := range s.Namespaces {
		out.namespaces = append(out.namespaces, v.Value)
	}
	for _, v := range s.Containers {
		out.containers = append(out.containers, v.Value)
	}
	for _, lm := range s.PodLabels {
		out.labelKeys = append(out.labelKeys, lm.Key.Value)
		out.labelValues = append(out.labelValues, lm.Value.Value)
	}
	return out
}

// fits reports whether a line from the given input and pod may be tried
// with the rule. An empty input (as in `logmeter test` without --input)
// fits any input list.
func (s *sources) fits(input string, k *logline.Kube) bool {
	if !s.set {
		return true
	}
	if len(s.inputs) > 0 && input != "" && !anyGlob(s.inputs, input) {
		return false
	}
	if len(s.namespaces) == 0 && len(s.containers) == 0 && len(s.labelKeys) == 0 {
		return true
	}
	if k == nil {
		return false
	}
	if len(s.namespaces) > 0 && !anyGlob(s.namespaces, k.Namespace) {
		return false
	}
	if len(s.containers) > 0 && !anyGlob(s.containers, k.Container) {
		return false
	}
	for i, key := range s.labelKeys {
		v, ok := k.Labels[key]
		if !ok || !glob(s.labelValues[i], v) {
			return false
		}
	}
	return true
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

func glob(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// Runner applies a Program to lines. It holds per-goroutine matching state
// and scratch buffers, so the hot path does not allocate.
type Runner struct {
	// InputLabel is the input label of self-metrics for lines whose Input
	// is empty (lines not read through a configured input).
	InputLabel string

	prog      *Program
	matchers  []*match.Matcher
	caps      []int
	labelBufs [][]byte
	labelVals [][]byte
	valBuf    []byte
	env       Env
	unmatched map[string]prometheus.Counter
	// scope caches which rules fit the lines of one file: `sources` is
	// evaluated once per file (and again when its metadata changes), not
	// per line.
	scope map[string]*fileScope
}

type fileScope struct {
	input string
	kube  *logline.Kube // the metadata the answer was computed for
	fits  []bool
}

// fits reports whether rule i applies to line, from the per-file cache.
func (r *Runner) fits(i int, line *logline.Line) bool {
	sc := r.scope[line.Source]
	if sc == nil || sc.input != line.Input || sc.kube != line.Kube {
		if sc == nil {
			if len(r.scope) >= 20000 {
				clear(r.scope) // bounded: file names of a node change slowly
			}
			sc = &fileScope{fits: make([]bool, len(r.prog.rules))}
			r.scope[line.Source] = sc
		}
		sc.input, sc.kube = line.Input, line.Kube
		for j, rl := range r.prog.rules {
			sc.fits[j] = rl.sources.fits(line.Input, line.Kube)
		}
	}
	return sc.fits[i]
}

// NewRunner returns a Runner for p.
func (p *Program) NewRunner() *Runner {
	r := &Runner{
		prog:      p,
		matchers:  make([]*match.Matcher, len(p.rules)),
		unmatched: map[string]prometheus.Counter{},
		scope:     map[string]*fileScope{},
	}
	maxFields, maxLabels := 0, 0
	for i, rl := range p.rules {
		r.matchers[i] = rl.pattern.NewMatcher()
		maxFields = max(maxFields, len(rl.pattern.Fields()))
		for _, m := range rl.metrics {
			maxLabels = max(maxLabels, len(m.labels))
		}
	}
	r.caps = make([]int, 2*maxFields)
	r.labelBufs = make([][]byte, maxLabels)
	r.labelVals = make([][]byte, maxLabels)
	return r
}

// Hit is one rule that matched a line, for --explain.
type Hit struct {
	Rule     string
	Fields   []match.Field
	Captures []int
}

// Process runs every applicable rule against line at time now, updates their
// metrics and reports how many rules matched. When hits is non-nil, the
// matches are also appended to it (for explaining, not on the hot path).
func (r *Runner) Process(line *logline.Line, now time.Time, hits *[]Hit) int {
	n := 0
	for i, rl := range r.prog.rules {
		if r.prog.hasSources && !r.fits(i, line) {
			continue
		}
		caps := r.caps[:2*len(rl.pattern.Fields())]
		if !r.matchers[i].Match(line.Text, caps) {
			continue
		}
		n++
		if rl.matched != nil {
			rl.matched.Inc()
		}
		if hits != nil {
			*hits = append(*hits, Hit{Rule: rl.name, Fields: rl.pattern.Fields(), Captures: append([]int(nil), caps...)})
		}
		r.env = Env{Text: line.Text, Caps: caps, Line: line}
		for _, m := range rl.metrics {
			r.update(m, now)
		}
	}
	if n == 0 && r.prog.self != nil {
		c, ok := r.unmatched[line.Input]
		if !ok {
			label := line.Input
			if label == "" {
				label = r.InputLabel
			}
			c = r.prog.self.LinesUnmatched.WithLabelValues(label)
			r.unmatched[line.Input] = c
		}
		c.Inc()
	}
	return n
}

// Match runs the applicable rules against line without touching any metric
// and appends one Hit per matching rule: what the forwarder attaches to a
// document as its captures.
func (r *Runner) Match(line *logline.Line, hits []Hit) []Hit {
	for i, rl := range r.prog.rules {
		if r.prog.hasSources && !r.fits(i, line) {
			continue
		}
		caps := r.caps[:2*len(rl.pattern.Fields())]
		if r.matchers[i].Match(line.Text, caps) {
			hits = append(hits, Hit{Rule: rl.name, Fields: rl.pattern.Fields(), Captures: append([]int(nil), caps...)})
		}
	}
	return hits
}

// Diagnose explains why no rule matched line: the rule that got furthest,
// how many bytes of the line it accounted for and what it expected next.
func (r *Runner) Diagnose(line *logline.Line) (rule string, d match.Diagnosis, ok bool) {
	best := -1
	for i, rl := range r.prog.rules {
		if r.prog.hasSources && !r.fits(i, line) {
			continue
		}
		dd := rl.pattern.Diagnose(line.Text)
		if dd.Consumed > best {
			best, rule, d, ok = dd.Consumed, rl.name, dd, true
		}
	}
	return rule, d, ok
}

func (r *Runner) update(m *ruleMetric, now time.Time) {
	var err error
	for i, t := range m.labels {
		r.labelBufs[i], err = t.Render(r.labelBufs[i][:0], &r.env)
		if err != nil {
			r.labelBufs[i] = append(r.labelBufs[i][:0], "<error>"...)
		}
		r.labelVals[i] = r.labelBufs[i]
	}
	labels := r.labelVals[:len(m.labels)]
	v := 1.0
	if m.value != nil {
		r.valBuf, err = m.value.Render(r.valBuf[:0], &r.env)
		var ok bool
		if err == nil {
			v, ok = ParseValue(r.valBuf)
		}
		if err != nil || !ok {
			m.family.CountValueError()
			return
		}
	}
	switch m.action {
	case actAdd:
		err = m.family.Add(labels, v, now)
	case actSub:
		err = m.family.Add(labels, -v, now)
	case actSet:
		err = m.family.Set(labels, v, now)
	case actObserve:
		err = m.family.Observe(labels, v, now)
	}
	// Refused series and unusable values are already counted by the family.
	_ = err
}

// feederOf describes what a rule metric puts into its family: a change of
// pattern, templates or gauge action changes the family's signature.
func feederOf(cr *config.Rule, cm *config.Metric, sorted []config.Label) string {
	var b strings.Builder
	fmt.Fprintf(&b, "match=%q action=%q", cr.Match.Value, cm.Action.Value)
	for _, l := range sorted {
		fmt.Fprintf(&b, " %s=%q", l.Name.Value, l.Template.Value)
	}
	if cm.Value != nil {
		fmt.Fprintf(&b, " value=%q", cm.Value.Value)
	}
	return b.String()
}
