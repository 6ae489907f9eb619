// Package config loads and validates logmeter's rule files, keeping the
// file position of every value so that problems read FILE:LINE:COL.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// RuleFile is one decoded rule file.
type RuleFile struct {
	Path     string
	Patterns []PatternDef // in file order
	// PatternFiles are the pattern_files entries, resolved against the rule
	// file's directory; Pos is that of the entry as written.
	PatternFiles []String
	Rules        []Rule
}

// PatternDef is one entry of patterns: a grok pattern name and its
// expression, which may use %{OTHER} patterns. Name.Pos is the key's.
type PatternDef struct {
	Name, Expr String
}

// Rule is one entry of rules. A rule without metrics (the key omitted or an
// empty list) is valid: its matches are only counted, in
// logmeter_lines_matched_total.
type Rule struct {
	Pos     Pos // of the rule's mapping
	Name    String
	Match   String // grok expression; Match.ColumnOf maps offsets to columns
	Sources Sources
	Metrics []Metric

	Expire       time.Duration // expire: Go duration or days ("7d"); 0 = never
	ExpirePos    Pos
	MaxSeries    int // max_series: per metric; 0 = unlimited
	MaxSeriesPos Pos
}

// Sources restricts which lines a rule is tried on. Every non-empty list
// must have an entry that fits (entries are path.Match globs); PodLabels
// must all fit. Set tells whether the rule had a sources mapping at all.
type Sources struct {
	Inputs     []String
	Namespaces []String
	Containers []String
	PodLabels  []LabelMatch // in file order
	Set        bool
}

// LabelMatch is one pod_labels entry: a label key and a glob for its value.
type LabelMatch struct {
	Key, Value String
}

// Metric types.
const (
	Counter   = "counter"
	Gauge     = "gauge"
	Histogram = "histogram"
	Summary   = "summary"
)

// Gauge actions.
const (
	ActionSet = "set"
	ActionAdd = "add"
	ActionSub = "sub"
)

// Metric is one entry of a rule's metrics.
//
// Type-specific keys: buckets and the native histogram keys (native,
// native_bucket_factor, native_max_buckets, classic) for histograms,
// objectives for summaries, action for gauges.
type Metric struct {
	Pos    Pos // of the metric's mapping
	Name   String
	Type   String // one of Counter, Gauge, Histogram, Summary
	Help   String
	Labels []Label // in file order
	// Value is the value template; nil when absent. Required for histograms,
	// summaries and gauges with action set; a counter adds it instead of 1.
	Value *String

	// Buckets are a histogram's classic bucket bounds; nil when not given,
	// and then the client library's defaults apply (unless the histogram
	// is native with classic: false).
	Buckets       []float64
	BucketsPos    Pos
	Objectives    []Objective // summary quantiles, sorted by quantile
	ObjectivesPos Pos
	// Action is a gauge's action: "set" (the default, then with a zero
	// Pos), "add" or "sub". Empty for other types.
	Action String
	// Native is set when a histogram has `native: true`.
	Native *NativeHistogram
}

// Label is one entry of a metric's labels: a label name and the template
// giving its value.
type Label struct {
	Name, Template String
}

// Objective is one summary quantile and its allowed absolute error.
type Objective struct {
	Quantile, Error float64
}

// NativeHistogram holds the native (sparse) histogram settings of a
// histogram metric, given by these keys of the metric:
//
//	native: true               # required for the keys below
//	native_bucket_factor: 1.1  # growth factor between buckets; > 1, default 1.1
//	native_max_buckets: 160    # bucket limit, 0 = no limit; default 160
//	classic: true              # keep classic buckets too; default: true
//	                           # when buckets are given, else false
type NativeHistogram struct {
	BucketFactor float64
	MaxBuckets   uint32
	Classic      bool
}

// Defaults of NativeHistogram.
const (
	DefaultNativeBucketFactor = 1.1
	DefaultNativeMaxBuckets   = 160
)

// Valid keys per level and valid enum values, in the order messages list
// them. Functions rather than variables keep the package free of mutable
// state.
func topKeys() []string { return []string{"patterns", "pattern_files", "rules"} }
func ruleKeys() []string {
	return []string{"name", "match", "sources", "metrics", "expire", "max_series"}
}
func sourcesKeys() []string { return []string{"inputs", "namespaces", "containers", "pod_labels"} }
func metricKeys() []string {
	return []string{"name", "type", "help", "labels", "value", "buckets", "objectives", "action",
		"native", "native_bucket_factor", "native_max_buckets", "classic"}
}
func metricTypes() []string  { return []string{Counter, Gauge, Histogram, Summary} }
func gaugeActions() []string { return []string{ActionSet, ActionAdd, ActionSub} }

// LoadRuleFile reads and parses the rule file at path. A read failure is a
// one-line error naming the path. Content problems are returned as a
// Problems error together with what could be decoded, so that a checker can
// still compare the file with others.
func LoadRuleFile(path string) (*RuleFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading rule file: %w", err)
	}
	rf, probs := ParseRuleFile(path, data)
	return rf, probs.Err()
}

// ParseRuleFile decodes and validates the rule file data read from path.
// It checks everything that needs neither grok compilation nor other files
// (see CheckRuleFiles). The returned file is never nil; when problems are
// returned it holds what could be decoded. Problems are sorted.
func ParseRuleFile(path string, data []byte) (*RuleFile, Problems) {
	rf := &RuleFile{Path: path}
	d := newDecoder(path, data)
	if root := d.document(data, "rule file"); root != nil {
		d.ruleFile(rf, root)
		d.probs = append(d.probs, checkFiles([]*RuleFile{rf}, false)...)
	}
	d.probs.Sort()
	return rf, d.probs
}

// document parses data, which must be one YAML document, and returns its
// top-level node, or nil after reporting why there is none. what names the
// kind of file in messages ("rule file", "config file").
func (d *decoder) document(data []byte, what string) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.probs.add(Pos{File: d.file, Line: 1, Col: 1}, "%s is empty", what)
		} else {
			d.syntaxError(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.addf(&next, "a %s must hold one YAML document; remove this second one", what)
	case !errors.Is(err, io.EOF):
		d.syntaxError(err)
	}
	if len(doc.Content) == 0 || isNull(resolve(doc.Content[0])) {
		d.probs.add(Pos{File: d.file, Line: 1, Col: 1}, "%s is empty", what)
		return nil
	}
	return resolve(doc.Content[0])
}

// syntaxError turns a yaml.v3 parse error ("yaml: line N: message") into
// a problem. The parser gives no column, so the column is 1.
func (d *decoder) syntaxError(err error) {
	line, msg := 1, strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil && n > 0 {
				line, msg = n, text
			}
		}
	}
	d.probs.add(Pos{File: d.file, Line: line, Col: 1}, "invalid YAML: %s", msg)
}

func (d *decoder) ruleFile(rf *RuleFile, root *yaml.Node) {
	fields, ok := d.mapping(root, "a rule file", "at top level", topKeys())
	if !ok {
		return
	}
	for _, f := range fields {
		if isNull(f.val) {
			continue
		}
		switch f.name {
		case "patterns":
			d.patterns(rf, f.val)
		case "pattern_files":
			d.patternFiles(rf, f.val)
		case "rules":
			d.rules(rf, f.val)
		}
	}
}

func (d *decoder) patterns(rf *RuleFile, n *yaml.Node) {
	fields, _ := d.mapping(n, "patterns", "in patterns", nil)
	for _, f := range fields {
		name := d.stringOf(f.key)
		if !isPatternName(name.Value) {
			d.addf(f.key, "invalid pattern name %q: must match ^[A-Za-z0-9_]+$", name.Value)
			continue
		}
		expr, ok := d.str(f.val, fmt.Sprintf("pattern %s", name.Value))
		if !ok {
			continue
		}
		if expr.Value == "" {
			d.addf(f.val, "pattern %s must not be empty", name.Value)
			continue
		}
		rf.Patterns = append(rf.Patterns, PatternDef{Name: name, Expr: expr})
	}
}

func (d *decoder) patternFiles(rf *RuleFile, n *yaml.Node) {
	items, _ := d.sequence(n, "pattern_files")
	for _, it := range items {
		s, ok := d.str(it, "a pattern_files entry")
		if !ok {
			continue
		}
		if s.Value == "" {
			d.addf(it, "a pattern_files entry must not be empty")
			continue
		}
		if !filepath.IsAbs(s.Value) {
			s.Value = filepath.Join(filepath.Dir(rf.Path), s.Value)
		}
		s.src = "" // Value no longer matches the source text
		rf.PatternFiles = append(rf.PatternFiles, s)
	}
}

func (d *decoder) rules(rf *RuleFile, n *yaml.Node) {
	items, _ := d.sequence(n, "rules")
	for _, it := range items {
		if r, ok := d.rule(it); ok {
			rf.Rules = append(rf.Rules, r)
		}
	}
}

func (d *decoder) rule(n *yaml.Node) (Rule, bool) {
	r := Rule{Pos: d.pos(n)}
	fields, ok := d.mapping(n, "a rule", "in rule", ruleKeys())
	if !ok {
		return r, false
	}
	var hasName, hasMatch bool
	for _, f := range fields {
		switch f.name {
		case "name":
			hasName = true
			if s, ok := d.str(f.val, "name"); ok {
				r.Name = s
				if !isRuleName(s.Value) {
					d.addf(f.val, "invalid rule name %q: must match ^[a-zA-Z_][a-zA-Z0-9_.-]*$", s.Value)
					r.Name.Value = "" // keep it out of duplicate checks
				}
			}
		case "match":
			hasMatch = true
			if s, ok := d.str(f.val, "match"); ok {
				r.Match = s
				if s.Value == "" {
					d.addf(f.val, "match must not be empty")
				}
			}
		case "sources":
			if !isNull(f.val) {
				r.Sources = d.sources(f.val)
			}
		case "metrics":
			if !isNull(f.val) {
				r.Metrics = d.metrics(f.val)
			}
		case "expire":
			r.ExpirePos = d.pos(f.val)
			if s, ok := d.str(f.val, "expire"); ok {
				exp, err := parseDuration(s.Value)
				switch {
				case err != nil:
					d.addf(f.val, "invalid expire %q: want a duration such as 90s, 10m, 2h or 7d", s.Value)
				case exp < 0:
					d.addf(f.val, "expire must not be negative, got %q", s.Value)
				default:
					r.Expire = exp
				}
			}
		case "max_series":
			r.MaxSeriesPos = d.pos(f.val)
			if v, ok := d.integer(f.val, "max_series"); ok {
				switch {
				case v < 0:
					d.addf(f.val, "max_series must not be negative, got %d", v)
				case v > math.MaxInt32:
					d.addf(f.val, "max_series must be at most %d, got %d", math.MaxInt32, v)
				default:
					r.MaxSeries = int(v)
				}
			}
		}
	}
	if !hasName {
		d.addf(n, "rule is missing required key \"name\"")
	}
	if !hasMatch {
		d.addf(n, "rule %sis missing required key \"match\"", quoteSp(r.Name.Value))
	}
	// Metric names may repeat across rules, not within one: each matching
	// line would update the metric twice.
	seen := map[string]Pos{}
	for _, m := range r.Metrics {
		if m.Name.Value == "" {
			continue
		}
		if p, dup := seen[m.Name.Value]; dup {
			d.probs.add(m.Name.Pos, "metric %q is defined twice in rule %s(first at %s)", m.Name.Value, quoteSp(r.Name.Value), p)
		} else {
			seen[m.Name.Value] = m.Name.Pos
		}
	}
	return r, true
}

// quoteSp returns `"name" ` for messages that mention an optional name.
func quoteSp(name string) string {
	if name == "" {
		return ""
	}
	return strconv.Quote(name) + " "
}

func (d *decoder) sources(n *yaml.Node) Sources {
	var s Sources
	fields, ok := d.mapping(n, "sources", "in sources", sourcesKeys())
	if !ok {
		return s
	}
	s.Set = true
	for _, f := range fields {
		if isNull(f.val) {
			continue
		}
		switch f.name {
		case "inputs":
			s.Inputs = d.globList(f.val, "inputs")
		case "namespaces":
			s.Namespaces = d.globList(f.val, "namespaces")
		case "containers":
			s.Containers = d.globList(f.val, "containers")
		case "pod_labels":
			labels, _ := d.mapping(f.val, "pod_labels", "in pod_labels", nil)
			for _, l := range labels {
				key := d.stringOf(l.key)
				if key.Value == "" {
					d.addf(l.key, "pod label keys must not be empty")
					continue
				}
				v, ok := d.glob(l.val, fmt.Sprintf("pod label %s", key.Value))
				if ok {
					s.PodLabels = append(s.PodLabels, LabelMatch{Key: key, Value: v})
				}
			}
		}
	}
	return s
}

func (d *decoder) globList(n *yaml.Node, what string) []String {
	items, _ := d.sequence(n, what)
	var out []String
	for _, it := range items {
		if g, ok := d.glob(it, "an entry of "+what); ok {
			out = append(out, g)
		}
	}
	return out
}

// glob returns scalar n, which must be a non-empty valid path.Match pattern.
func (d *decoder) glob(n *yaml.Node, what string) (String, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return s, false
	}
	if s.Value == "" {
		d.addf(n, "%s must not be empty", what)
		return s, false
	}
	if _, err := path.Match(s.Value, ""); err != nil {
		d.addf(n, "invalid glob %q: %v", s.Value, err)
		return s, false
	}
	return s, true
}

func (d *decoder) metrics(n *yaml.Node) []Metric {
	items, _ := d.sequence(n, "metrics")
	var out []Metric
	for _, it := range items {
		if m, ok := d.metric(it); ok {
			out = append(out, m)
		}
	}
	return out
}

func (d *decoder) metric(n *yaml.Node) (Metric, bool) {
	m := Metric{Pos: d.pos(n)}
	fields, ok := d.mapping(n, "a metric", "in metric", metricKeys())
	if !ok {
		return m, false
	}
	keys := map[string]*yaml.Node{} // key nodes, for "only valid for" messages
	var native *yaml.Node
	for _, f := range fields {
		keys[f.name] = f.key
		switch f.name {
		case "name":
			if s, ok := d.str(f.val, "name"); ok {
				m.Name = s
				switch {
				case !isMetricName(s.Value):
					d.addf(f.val, "invalid metric name %q: must match ^[a-zA-Z_:][a-zA-Z0-9_:]*$", s.Value)
					m.Name.Value = ""
				case strings.HasPrefix(s.Value, "logmeter_"):
					d.addf(f.val, "metric name %q is reserved: the logmeter_ prefix belongs to logmeter's own metrics", s.Value)
					m.Name.Value = ""
				}
			}
		case "type":
			if s, ok := d.str(f.val, "type"); ok {
				m.Type = s
				if !slices.Contains(metricTypes(), s.Value) {
					d.addf(f.val, "unknown metric type %q (valid: %s)", s.Value, strings.Join(metricTypes(), ", "))
					m.Type.Value = ""
				}
			}
		case "help":
			m.Help, _ = d.str(f.val, "help")
		case "labels":
			if !isNull(f.val) {
				m.Labels = d.labels(f.val)
			}
		case "value":
			if s, ok := d.str(f.val, "value"); ok {
				m.Value = &s
			}
		case "buckets":
			m.BucketsPos = d.pos(f.val)
			m.Buckets = d.buckets(f.val)
		case "objectives":
			m.ObjectivesPos = d.pos(f.val)
			m.Objectives = d.objectives(f.val)
		case "action":
			if s, ok := d.str(f.val, "action"); ok {
				m.Action = s
				if !slices.Contains(gaugeActions(), s.Value) {
					d.addf(f.val, "unknown gauge action %q (valid: %s)", s.Value, strings.Join(gaugeActions(), ", "))
				}
			}
		case "native":
			native = f.val
		}
	}
	name := quoteSp(m.Name.Value)
	if _, ok := keys["name"]; !ok {
		d.addf(n, "metric is missing required key \"name\"")
	}
	if _, ok := keys["type"]; !ok {
		d.addf(n, "metric %sis missing required key \"type\"", name)
	}
	typ := m.Type.Value
	if typ == "" {
		return m, true // type-specific checks need a valid type
	}
	// Keys that belong to one type only.
	only := []struct{ key, typ string }{
		{"buckets", Histogram}, {"native", Histogram}, {"native_bucket_factor", Histogram},
		{"native_max_buckets", Histogram}, {"classic", Histogram},
		{"objectives", Summary}, {"action", Gauge},
	}
	for _, o := range only {
		if k, ok := keys[o.key]; ok && typ != o.typ {
			d.addf(k, "key %q is only valid for type %s, not %s", o.key, o.typ, typ)
		}
	}
	if m.Value == nil {
		switch {
		case typ == Histogram || typ == Summary:
			d.addf(n, "%s %sneeds a \"value\"", typ, name)
		case typ == Gauge && (m.Action.Value == "" || m.Action.Value == ActionSet):
			d.addf(n, "gauge %swith action set needs a \"value\"", name)
		}
	}
	if typ == Gauge && m.Action.Value == "" {
		m.Action = String{Value: ActionSet}
	} else if typ != Gauge {
		m.Action = String{}
	}
	for _, l := range m.Labels {
		switch {
		case typ == Histogram && l.Name.Value == "le":
			d.probs.add(l.Name.Pos, "label name \"le\" is reserved for histogram buckets")
		case typ == Summary && l.Name.Value == "quantile":
			d.probs.add(l.Name.Pos, "label name \"quantile\" is reserved for summary quantiles")
		}
	}
	if typ == Histogram {
		m.Native = d.native(fields, keys, native, m.Buckets != nil)
	}
	return m, true
}

// native decodes the native histogram keys of a histogram. nativeVal is
// the value of `native`, nil when absent.
func (d *decoder) native(fields []field, keys map[string]*yaml.Node, nativeVal *yaml.Node, hasBuckets bool) *NativeHistogram {
	on := false
	if nativeVal != nil {
		var ok bool
		if on, ok = d.boolean(nativeVal, "native"); !ok {
			return nil // one problem is enough
		}
	}
	if !on {
		for _, k := range []string{"native_bucket_factor", "native_max_buckets", "classic"} {
			if kn, ok := keys[k]; ok {
				d.addf(kn, "key %q needs \"native: true\"", k)
			}
		}
		return nil
	}
	nh := &NativeHistogram{BucketFactor: DefaultNativeBucketFactor, MaxBuckets: DefaultNativeMaxBuckets, Classic: hasBuckets}
	for _, f := range fields {
		switch f.name {
		case "native_bucket_factor":
			if v, ok := d.number(f.val, "native_bucket_factor"); ok {
				if !(v > 1) || math.IsInf(v, 1) {
					d.addf(f.val, "native_bucket_factor must be greater than 1, got %s", formatFloat(v))
				} else {
					nh.BucketFactor = v
				}
			}
		case "native_max_buckets":
			if v, ok := d.integer(f.val, "native_max_buckets"); ok {
				if v < 0 || v > math.MaxUint32 {
					d.addf(f.val, "native_max_buckets must be between 0 and %d, got %d", uint32(math.MaxUint32), v)
				} else {
					nh.MaxBuckets = uint32(v)
				}
			}
		case "classic":
			if v, ok := d.boolean(f.val, "classic"); ok {
				nh.Classic = v
			}
		}
	}
	return nh
}

func (d *decoder) labels(n *yaml.Node) []Label {
	fields, _ := d.mapping(n, "labels", "in labels", nil)
	var out []Label
	for _, f := range fields {
		name := d.stringOf(f.key)
		switch {
		case !isLabelName(name.Value):
			d.addf(f.key, "invalid label name %q: must match ^[a-zA-Z_][a-zA-Z0-9_]*$", name.Value)
			continue
		case strings.HasPrefix(name.Value, "__"):
			d.addf(f.key, "label name %q is reserved: names starting with __ are internal to Prometheus", name.Value)
			continue
		}
		tmpl, ok := d.str(f.val, fmt.Sprintf("label %s", name.Value))
		if !ok {
			continue
		}
		out = append(out, Label{Name: name, Template: tmpl})
	}
	return out
}

func (d *decoder) buckets(n *yaml.Node) []float64 {
	items, ok := d.sequence(n, "buckets")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.addf(n, "buckets must not be empty; leave the key out for the default buckets")
		return nil
	}
	out := make([]float64, 0, len(items))
	for _, it := range items {
		v, ok := d.number(it, "a bucket")
		if !ok {
			continue
		}
		switch {
		case math.IsNaN(v):
			d.addf(it, "a bucket must not be NaN")
			continue
		case len(out) > 0 && v <= out[len(out)-1]:
			d.addf(it, "buckets must be strictly increasing, but %s follows %s", formatFloat(v), formatFloat(out[len(out)-1]))
			continue
		}
		out = append(out, v)
	}
	return out
}

func (d *decoder) objectives(n *yaml.Node) []Objective {
	fields, ok := d.mapping(n, "objectives", "in objectives", nil)
	if !ok {
		return nil
	}
	out := []Objective{}
	first := map[float64]Pos{}
	for _, f := range fields {
		q, ok := d.number(f.key, "a quantile")
		if !ok {
			continue
		}
		if !(q > 0 && q < 1) {
			d.addf(f.key, "quantile %s must be greater than 0 and less than 1", formatFloat(q))
			continue
		}
		if p, dup := first[q]; dup {
			d.addf(f.key, "duplicate quantile %s (first defined at %s)", formatFloat(q), p)
			continue
		}
		first[q] = d.pos(f.key)
		e, ok := d.number(f.val, fmt.Sprintf("the error of quantile %s", formatFloat(q)))
		if !ok {
			continue
		}
		if !(e >= 0 && e < 1) {
			d.addf(f.val, "the error of quantile %s must be at least 0 and less than 1, got %s", formatFloat(q), formatFloat(e))
			continue
		}
		out = append(out, Objective{Quantile: q, Error: e})
	}
	slices.SortFunc(out, func(a, b Objective) int { return cmp.Compare(a.Quantile, b.Quantile) })
	return out
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// parseDuration accepts Go durations plus a leading days part: "7d",
// "1d12h", "1.5d".
func parseDuration(s string) (time.Duration, error) {
	sign, rest := time.Duration(1), s
	if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
		if rest[0] == '-' {
			sign = -1
		}
		rest = rest[1:]
	}
	i := strings.IndexByte(rest, 'd')
	if i < 0 {
		d, err := time.ParseDuration(rest)
		return sign * d, err
	}
	days, err := strconv.ParseFloat(rest[:i], 64)
	if err != nil || rest[:i] == "" || strings.ContainsAny(rest[:i], "+-eEinfINFxX_") {
		return 0, fmt.Errorf("invalid days in duration %q", s)
	}
	total := days * float64(24*time.Hour)
	if tail := rest[i+1:]; tail != "" {
		if strings.HasPrefix(tail, "-") || strings.HasPrefix(tail, "+") {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		d, err := time.ParseDuration(tail)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: %w", s, err)
		}
		total += float64(d)
	}
	if total >= math.MaxInt64 {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	return sign * time.Duration(total), nil
}
