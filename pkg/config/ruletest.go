package config

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Rule unit tests live beside the rule file they test: NAME_test.yaml
// tests NAME.yaml. Like Go's _test.go files they are never loaded as rule
// files.
//
//	rules: [other.yaml]            # optional; default: the sibling NAME.yaml
//	tests:
//	  - name: counts GET requests
//	    input: nginx                 # optional: input name the lines are read as
//	    format: plain                # optional: auto (default), plain, cri, docker
//	    path: /var/log/containers/web-1_shop_nginx-0123456789ab.log   # optional
//	    kubernetes: {labels: {app: web}}   # optional pod metadata
//	    lines: |
//	      GET / 200
//	    expect: |
//	      requests_total{method="GET"} 1
//	    absent: [errors_total]       # optional: sample or family names without series
//	    unmatched: 0                 # optional: lines no rule matched

// RuleTestFile is one decoded rule unit test file.
type RuleTestFile struct {
	Path string
	// Rules are the rule files under test, paths or globs resolved against
	// the test file's directory. Without a rules key it holds the sibling
	// rule file (see RuleFileOfTest), and RulesDefault is set.
	Rules        []String
	RulesDefault bool
	Tests        []RuleTest
}

// RuleTest is one entry of tests.
type RuleTest struct {
	Pos    Pos // of the test's mapping
	Name   String
	Input  String // "" fits every rule
	Format String // auto, plain, cri or docker; "auto" when not given
	// Path is the file name the lines are read from, as written (it is a
	// name, not a file to open): it gives .logfile and, for kubelet's
	// container log names, .kubernetes metadata.
	Path String
	// Kubernetes completes or overrides the metadata Path gives; nil when
	// not given.
	Kubernetes *RuleTestKube
	// Lines is the log text, one line per line; LinePos holds the file
	// position of each of its lines when known (block scalars and lists),
	// else it is nil.
	Lines   String
	LinePos []Pos
	// Expect are the samples of the expect block, in file order.
	Expect []Sample
	// Absent are sample or family names that must have no series.
	Absent []String
	// Unmatched is the expected number of lines no rule matched; nil when
	// not given.
	Unmatched    *int
	UnmatchedPos Pos
}

// RuleTestKube is a test's kubernetes mapping. Empty fields leave what the
// test's path gives.
type RuleTestKube struct {
	Namespace, Pod, PodUID, Container, Node string
	Labels                                  map[string]string
}

// Sample is one sample of Prometheus' text exposition format.
type Sample struct {
	Pos    Pos // in an expect block; zero for produced samples
	Name   string
	Labels []SampleLabel // sorted by name
	Value  float64
}

// SampleLabel is one label of a Sample.
type SampleLabel struct {
	Name, Value string
}

// Series returns the sample's name and labels as the text format writes
// them: name{a="x",b="y"}, or just the name without labels.
func (s Sample) Series() string {
	if len(s.Labels) == 0 {
		return s.Name
	}
	var b strings.Builder
	b.WriteString(s.Name)
	b.WriteByte('{')
	for i, l := range s.Labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		b.WriteString(`="`)
		b.WriteString(escapeLabelValue(l.Value))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// String returns the sample as a line of the text format.
func (s Sample) String() string { return s.Series() + " " + FormatSampleValue(s.Value) }

// FormatSampleValue formats a sample value (or an le or quantile label
// value) the way the text format does: shortest decimal form, +Inf, -Inf
// and NaN.
func FormatSampleValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// SortSampleLabels sorts labels by name and writes the values of the
// numeric labels le and quantile in the form FormatSampleValue gives, so
// that le="1.0" and le="1" name the same bucket.
func SortSampleLabels(labels []SampleLabel) {
	for i, l := range labels {
		if l.Name == "le" || l.Name == "quantile" {
			if v, err := strconv.ParseFloat(l.Value, 64); err == nil {
				labels[i].Value = FormatSampleValue(v)
			}
		}
	}
	slices.SortFunc(labels, func(a, b SampleLabel) int { return strings.Compare(a.Name, b.Name) })
}

func escapeLabelValue(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

// IsRuleTestFile reports whether the file at path is a rule unit test
// file: its name ends in _test.yaml or _test.yml. Rule globs skip such
// files.
func IsRuleTestFile(path string) bool {
	base := filepath.Base(path)
	return strings.HasSuffix(base, "_test.yaml") || strings.HasSuffix(base, "_test.yml")
}

// RuleFileOfTest returns the rule file a test file tests by default: the
// sibling without _test (rules/nginx_test.yaml tests rules/nginx.yaml).
func RuleFileOfTest(path string) string {
	for _, ext := range []string{".yaml", ".yml"} {
		if p, ok := strings.CutSuffix(path, "_test"+ext); ok {
			return p + ext
		}
	}
	return path
}

func ruleTestTopKeys() []string { return []string{"rules", "tests"} }
func ruleTestKeys() []string {
	return []string{"name", "input", "format", "path", "kubernetes", "lines", "expect", "absent", "unmatched"}
}
func ruleTestKubeKeys() []string {
	return []string{"namespace", "pod", "pod_uid", "container", "node", "labels"}
}

// LoadRuleTestFile reads and parses the rule test file at path. A read
// failure is a one-line error naming the path; content problems are
// returned as a Problems error together with what could be decoded.
func LoadRuleTestFile(path string) (*RuleTestFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading test file: %w", err)
	}
	tf, probs := ParseRuleTestFile(path, data)
	return tf, probs.Err()
}

// ParseRuleTestFile decodes and validates the rule test file data read
// from path. It opens no files: whether the rule files under test exist is
// up to the caller. The returned file is never nil. Problems are sorted.
func ParseRuleTestFile(path string, data []byte) (*RuleTestFile, Problems) {
	tf := &RuleTestFile{Path: path}
	d := newDecoder(path, data)
	if root := d.document(data, "test file"); root != nil {
		d.ruleTestFile(tf, root)
	}
	d.probs.Sort()
	return tf, d.probs
}

func (d *decoder) ruleTestFile(tf *RuleTestFile, root *yaml.Node) {
	fields, ok := d.mapping(root, "a test file", "at top level", ruleTestTopKeys())
	if !ok {
		return
	}
	hasRules, hasTests := false, false
	for _, f := range fields {
		switch f.name {
		case "rules":
			hasRules = true
			tf.Rules = d.testRules(f.val)
		case "tests":
			hasTests = true
			items, ok := d.sequence(f.val, "tests")
			if ok && len(items) == 0 {
				d.addf(f.val, "tests must not be empty")
			}
			seen := map[string]Pos{}
			for _, it := range items {
				t, ok := d.ruleTest(it)
				if !ok {
					continue
				}
				if name := t.Name.Value; name != "" {
					if p, dup := seen[name]; dup {
						d.probs.add(t.Name.Pos, "duplicate test name %q (first defined at %s)", name, p)
					} else {
						seen[name] = t.Name.Pos
					}
				}
				tf.Tests = append(tf.Tests, t)
			}
		}
	}
	if !hasTests {
		d.probs.add(d.pos(root), "test file is missing required key \"tests\"")
	}
	if !hasRules {
		tf.Rules = []String{{Value: RuleFileOfTest(d.file), Pos: Pos{File: d.file, Line: 1, Col: 1}}}
		tf.RulesDefault = true
	}
}

// testRules decodes the rules list of a test file.
func (d *decoder) testRules(n *yaml.Node) []String {
	items, ok := d.sequence(n, "rules")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.addf(n, "rules must not be empty; leave the key out to test %s", filepath.Base(RuleFileOfTest(d.file)))
		return nil
	}
	var out []String
	for _, it := range items {
		s, ok := d.nonEmpty(it, "an entry of rules")
		if !ok {
			continue
		}
		if IsRuleTestFile(s.Value) {
			d.addf(it, "%q is a test file, not a rule file", s.Value)
			continue
		}
		out = append(out, d.resolvePath(s))
	}
	return out
}

func (d *decoder) ruleTest(n *yaml.Node) (RuleTest, bool) {
	t := RuleTest{Pos: d.pos(n), Format: String{Value: FormatAuto}}
	fields, ok := d.mapping(n, "a test", "in test", ruleTestKeys())
	if !ok {
		return t, false
	}
	has := map[string]bool{}
	for _, f := range fields {
		has[f.name] = true
		switch f.name {
		case "name":
			t.Name, _ = d.nonEmpty(f.val, "name")
		case "input":
			t.Input, _ = d.nonEmpty(f.val, "input")
		case "format":
			if s, ok := d.enum(f.val, "format", inputFormats()); ok {
				t.Format = s
			}
		case "path":
			t.Path, _ = d.nonEmpty(f.val, "path")
		case "kubernetes":
			t.Kubernetes = d.testKube(f.val)
		case "lines":
			t.Lines, t.LinePos = d.testLines(f.val)
		case "expect":
			if s, ok := d.str(f.val, "expect"); ok {
				t.Expect = d.samples(f.val, s)
			}
		case "absent":
			items, _ := d.sequence(f.val, "absent")
			for _, it := range items {
				s, ok := d.str(it, "an entry of absent")
				if !ok {
					continue
				}
				if !isMetricName(s.Value) {
					d.addf(it, "invalid metric name %q: must match ^[a-zA-Z_:][a-zA-Z0-9_:]*$", s.Value)
					continue
				}
				t.Absent = append(t.Absent, s)
			}
		case "unmatched":
			t.UnmatchedPos = d.pos(f.val)
			if v, ok := d.intRange(f.val, "unmatched", 0, math.MaxInt32); ok {
				t.Unmatched = &v
			}
		}
	}
	name := quoteSp(t.Name.Value)
	if !has["name"] {
		d.addf(n, "test is missing required key \"name\"")
	}
	if !has["lines"] {
		d.addf(n, "test %sis missing required key \"lines\"", name)
	}
	if !has["expect"] && !has["absent"] && !has["unmatched"] {
		d.addf(n, "test %schecks nothing: give expect, absent or unmatched", name)
	}
	expected := map[string]bool{}
	for _, s := range t.Expect {
		expected[s.Name] = true
	}
	for _, a := range t.Absent {
		if expected[a.Value] {
			d.probs.add(a.Pos, "%s is both expected and absent", a.Value)
		}
	}
	return t, true
}

func (d *decoder) testKube(n *yaml.Node) *RuleTestKube {
	fields, ok := d.mapping(n, "kubernetes", "in kubernetes", ruleTestKubeKeys())
	if !ok {
		return nil
	}
	k := &RuleTestKube{}
	for _, f := range fields {
		if f.name == "labels" {
			labels, _ := d.mapping(f.val, "labels", "in labels", nil)
			k.Labels = map[string]string{}
			for _, l := range labels {
				key := d.stringOf(l.key)
				if key.Value == "" {
					d.addf(l.key, "pod label keys must not be empty")
					continue
				}
				if v, ok := d.str(l.val, fmt.Sprintf("pod label %s", key.Value)); ok {
					k.Labels[key.Value] = v.Value
				}
			}
			continue
		}
		s, ok := d.nonEmpty(f.val, f.name)
		if !ok {
			continue
		}
		switch f.name {
		case "namespace":
			k.Namespace = s.Value
		case "pod":
			k.Pod = s.Value
		case "pod_uid":
			k.PodUID = s.Value
		case "container":
			k.Container = s.Value
		case "node":
			k.Node = s.Value
		}
	}
	return k
}

// testLines decodes lines: a string holding the log text, or a list of
// strings, one per line.
func (d *decoder) testLines(n *yaml.Node) (String, []Pos) {
	if n.Kind == yaml.SequenceNode {
		items, _ := d.sequence(n, "lines")
		var b strings.Builder
		var pos []Pos
		for _, it := range items {
			s, ok := d.str(it, "an entry of lines")
			if !ok {
				continue
			}
			if strings.ContainsAny(s.Value, "\r\n") {
				d.addf(it, "an entry of lines must be one line; use a block (lines: |) for text")
				continue
			}
			b.WriteString(s.Value)
			b.WriteByte('\n')
			pos = append(pos, d.pos(it))
		}
		return String{Value: b.String(), Pos: d.pos(n)}, pos
	}
	s, ok := d.str(n, "lines")
	if !ok {
		return s, nil
	}
	locate := d.textLocator(n, s)
	var pos []Pos
	// The lines a reader sees: a final newline ends the last line.
	for i := range strings.Count(strings.TrimSuffix(s.Value, "\n"), "\n") + 1 {
		p, ok := locate(i, 0)
		if !ok {
			return s, nil
		}
		pos = append(pos, p)
	}
	return s, pos
}

// textLocator returns a function that maps byte offset off of line i of
// scalar n's value s (lines split at \n) to its position in the file. It
// knows literal block scalars (expect: |) and one-line scalars; ok is
// false elsewhere.
func (d *decoder) textLocator(n *yaml.Node, s String) func(i, off int) (Pos, bool) {
	textLines := strings.Split(s.Value, "\n")
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		return func(i, off int) (Pos, bool) {
			line := n.Line + 1 + i // the content starts below the | indicator
			if i < 0 || i >= len(textLines) || off > len(textLines[i]) || line > len(d.lines) {
				return Pos{}, false
			}
			src, text := d.lines[line-1], textLines[i]
			indent, ok := strings.CutSuffix(src, text)
			if !ok || strings.Trim(indent, " ") != "" {
				return Pos{}, false
			}
			return Pos{File: d.file, Line: line, Col: len(indent) + 1 + utf8.RuneCountInString(text[:off])}, true
		}
	case len(textLines) == 1:
		return func(i, off int) (Pos, bool) {
			if i != 0 {
				return Pos{}, false
			}
			return s.ColumnOf(off)
		}
	}
	return func(int, int) (Pos, bool) { return Pos{}, false }
}

// samples parses the expect block s (scalar n): samples in Prometheus'
// text exposition format. Blank lines and # lines (HELP, TYPE, comments)
// are skipped; timestamps are refused, and so is a series listed twice.
func (d *decoder) samples(n *yaml.Node, s String) []Sample {
	locate := d.textLocator(n, s)
	var out []Sample
	first := map[string]Pos{}
	for i, line := range strings.Split(s.Value, "\n") {
		at := func(off int) Pos {
			if p, ok := locate(i, off); ok {
				return p
			}
			return d.pos(n)
		}
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		start := len(line) - len(trimmed)
		sm, off, msg := parseSample(line, start)
		if msg != "" {
			d.probs.add(at(off), "%s", msg)
			continue
		}
		sm.Pos = at(start)
		key := sm.Series()
		if p, dup := first[key]; dup {
			d.probs.add(sm.Pos, "sample %s is listed twice (first at %s)", key, p)
			continue
		}
		first[key] = sm.Pos
		out = append(out, sm)
	}
	return out
}

// parseSample parses one sample line from offset i: NAME[{LABELS}] VALUE.
// On error it returns the offset of the problem and a message.
func parseSample(line string, i int) (Sample, int, string) {
	var s Sample
	isNameByte := func(c byte, first bool) bool {
		return isLetter(c) || c == '_' || c == ':' || !first && isDigit(c)
	}
	j := i
	for j < len(line) && isNameByte(line[j], j == i) {
		j++
	}
	if j == i {
		return s, i, "invalid sample: want a metric name, labels in {} and a value, as in requests_total{code=\"200\"} 3"
	}
	s.Name = line[i:j]
	i = j
	skipBlanks := func() {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
	}
	skipBlanks()
	if i < len(line) && line[i] == '{' {
		i++
		seen := map[string]bool{}
		for {
			skipBlanks()
			if i < len(line) && line[i] == '}' {
				i++
				break
			}
			j := i
			for j < len(line) && (isLetter(line[j]) || line[j] == '_' || j > i && isDigit(line[j])) {
				j++
			}
			if j == i {
				return s, i, "invalid sample: want a label name or }"
			}
			name := line[i:j]
			if seen[name] {
				return s, i, fmt.Sprintf("invalid sample: label %q is given twice", name)
			}
			seen[name] = true
			i = j
			skipBlanks()
			if i >= len(line) || line[i] != '=' {
				return s, i, fmt.Sprintf("invalid sample: want = after label name %q", name)
			}
			i++
			skipBlanks()
			if i >= len(line) || line[i] != '"' {
				return s, i, fmt.Sprintf("invalid sample: the value of label %q must be in double quotes", name)
			}
			valueStart := i
			i++
			var v strings.Builder
			for {
				if i >= len(line) {
					return s, valueStart, fmt.Sprintf("invalid sample: the value of label %q has no closing quote", name)
				}
				c := line[i]
				if c == '"' {
					i++
					break
				}
				if c == '\\' {
					if i+1 >= len(line) {
						return s, i, "invalid sample: a label value ends in a backslash"
					}
					switch line[i+1] {
					case '\\':
						v.WriteByte('\\')
					case '"':
						v.WriteByte('"')
					case 'n':
						v.WriteByte('\n')
					default:
						return s, i, fmt.Sprintf(`invalid sample: unknown escape \%c in a label value (valid: \\, \", \n)`, line[i+1])
					}
					i += 2
					continue
				}
				v.WriteByte(c)
				i++
			}
			s.Labels = append(s.Labels, SampleLabel{Name: name, Value: v.String()})
			skipBlanks()
			if i < len(line) && line[i] == ',' {
				i++
				continue
			}
			if i < len(line) && line[i] == '}' {
				i++
				break
			}
			return s, i, "invalid sample: want , or } after a label"
		}
		skipBlanks()
	} else if i < len(line) && i == j {
		return s, i, fmt.Sprintf("invalid sample: want { or a blank after %q", s.Name)
	}
	if i >= len(line) {
		return s, i, fmt.Sprintf("invalid sample: %s has no value", s.Name)
	}
	end := i
	for end < len(line) && line[end] != ' ' && line[end] != '\t' {
		end++
	}
	text := line[i:end]
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return s, i, fmt.Sprintf("invalid sample value %q: want a number, +Inf, -Inf or NaN", text)
		}
	}
	s.Value = v
	i = end
	skipBlanks()
	if i < len(line) {
		return s, i, "invalid sample: timestamps and other text after the value are not supported"
	}
	SortSampleLabels(s.Labels)
	return s, 0, ""
}
