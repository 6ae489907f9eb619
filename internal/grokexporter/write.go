package grokexporter

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// rule is a group of metrics that grok_exporter would update on the same
// lines: same match, same retention, same log file restriction.
type rule struct {
	name      string
	match     string
	retention time.Duration
	paths     []string
	metrics   []*metric
}

// rules groups the metrics, in the order their match first appears.
func (cfg *config) rules() []*rule {
	var out []*rule
	names := map[string]bool{}
	for _, m := range cfg.metrics {
		i := slices.IndexFunc(out, func(r *rule) bool {
			return r.match == m.match && r.retention == m.retention && slices.Equal(r.paths, m.paths)
		})
		if i >= 0 {
			out[i].metrics = append(out[i].metrics, m)
			continue
		}
		out = append(out, &rule{name: ruleName(m.name, names), match: m.match, retention: m.retention, paths: m.paths, metrics: []*metric{m}})
	}
	return out
}

// ruleName derives a unique rule name (^[a-zA-Z_][a-zA-Z0-9_.-]*$) from a
// metric name.
func ruleName(metricName string, taken map[string]bool) string {
	b := []byte(metricName)
	for i, c := range b {
		if !(c == '_' || c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b[i] = '_'
		}
	}
	name := string(b)
	if name == "" || name[0] == '.' || name[0] == '-' || name[0] >= '0' && name[0] <= '9' {
		name = "rule_" + name
	}
	unique := name
	for i := 2; taken[unique]; i++ {
		unique = fmt.Sprintf("%s_%d", name, i)
	}
	taken[unique] = true
	return unique
}

// write renders the rule file. Pattern files are written relative to
// rulesDir when it is set.
func (cfg *config) write(rulesDir string) ([]byte, error) {
	var w writer
	w.comment("", fmt.Sprintf("Imported from the grok_exporter configuration %s (config_version %d) by `logmeter import grok_exporter`. Validate it with `logmeter check --rules FILE`.", cfg.name, cfg.version))
	for _, n := range cfg.notes {
		w.line("#")
		w.comment("", n)
	}
	w.line("")
	if len(cfg.patterns) > 0 {
		w.line("patterns:")
		for _, p := range cfg.patterns {
			w.line("  %s: %s", p.name, quoted(p.expr))
		}
	}
	if len(cfg.files) > 0 {
		w.line("pattern_files:")
		for _, f := range cfg.files {
			p, err := relPath(f, rulesDir)
			if err != nil {
				return nil, err
			}
			w.line("  - %s", scalar(p))
		}
	}
	w.line("rules:")
	for i, r := range cfg.rules() {
		if i > 0 {
			w.line("")
		}
		w.line("  - name: %s", r.name)
		w.line("    match: %s", quoted(r.match))
		if r.retention > 0 {
			w.line("    expire: %s", r.retention)
		}
		if len(r.paths) > 0 {
			w.comment("    ", fmt.Sprintf("not carried over: %s %s: grok_exporter applies these metrics to those log files only. In logmeter, read them as an input of their own and add `sources: {inputs: [NAME]}` to this rule.", plural("path", len(r.paths)), strings.Join(r.paths, ", ")))
		}
		w.line("    metrics:")
		for _, m := range r.metrics {
			m.write(&w)
		}
	}
	return []byte(w.b.String()), nil
}

func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func (m *metric) write(w *writer) {
	const ind = "        "
	w.line("      - name: %s", scalar(m.name))
	w.line(ind+"type: %s", m.typ)
	if m.help != "" {
		w.line(ind+"help: %s", scalar(m.help))
	}
	if m.value != nil && *m.value != "" {
		w.line(ind+"value: %s", quoted(*m.value))
	}
	switch m.typ {
	case "gauge":
		if m.cumulative {
			w.line(ind + "action: add")
		} else {
			w.line(ind + "action: set")
		}
	case "histogram":
		if m.buckets != nil {
			bs := make([]string, len(m.buckets))
			for i, b := range m.buckets {
				bs[i] = formatFloat(b)
			}
			w.line(ind+"buckets: [%s]", strings.Join(bs, ", "))
		}
	case "summary":
		qs := m.quantiles
		if qs == nil {
			qs = defaultQuantiles()
		}
		parts := make([]string, len(qs))
		for i, q := range qs {
			parts[i] = formatFloat(q.quantile) + ": " + formatFloat(q.err)
		}
		w.line(ind+"objectives: {%s}", strings.Join(parts, ", "))
	}
	if len(m.labels) > 0 {
		w.line(ind + "labels:")
		for _, l := range m.labels {
			w.line(ind+"  %s: %s", scalar(l.name), quoted(l.template))
		}
	}
	if m.typ == "gauge" && len(m.labels) == 0 {
		w.comment(ind, "differs: grok_exporter shows this gauge as 0 until the first matching line; logmeter shows it from then on.")
	}
	if m.maxAge != 0 && m.maxAge != summaryMaxAge {
		w.comment(ind, fmt.Sprintf("not carried over: max_age %s: logmeter's summaries always cover the last %s (in 5 steps).", m.maxAge, summaryMaxAge))
	}
	if m.deleteMatch != "" {
		what := "all of its series"
		if len(m.deleteLabels) > 0 {
			var ls []string
			for _, l := range m.deleteLabels {
				ls = append(ls, l.name+"="+strconv.Quote(l.template))
			}
			what = "the series with " + strings.Join(ls, ", ")
		}
		w.comment(ind, fmt.Sprintf("not carried over: delete_match %q, which deletes %s: logmeter does not delete series when a line matches; expire drops series no line has updated for a while.", m.deleteMatch, what))
	}
	for _, n := range m.notes {
		w.comment(ind, n)
	}
}

// writer builds the output line by line.
type writer struct{ b strings.Builder }

func (w *writer) line(format string, args ...any) {
	fmt.Fprintf(&w.b, format, args...)
	w.b.WriteByte('\n')
}

// comment writes text as '#' lines wrapped at 78 columns.
func (w *writer) comment(indent, text string) {
	text = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`).Replace(text)
	if !strings.HasSuffix(text, ".") {
		text += "."
	}
	width := 78 - len(indent) - 2
	line := ""
	for _, word := range strings.Split(text, " ") {
		if line != "" && len(line)+1+len(word) > width {
			w.line("%s# %s", indent, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	w.line("%s# %s", indent, line)
}

// quoted writes s as a single-quoted YAML scalar, the style rule files use
// for matches and templates, or double-quoted when it holds characters a
// single-quoted scalar cannot carry.
func quoted(s string) string {
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff {
			return strconv.Quote(s) // valid YAML for valid UTF-8, which YAML input always is
		}
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// scalar writes s plain when YAML (1.2, and 1.1 for booleans) reads that
// back as the same string, quoted otherwise.
func scalar(s string) string {
	if s == "" || s != strings.TrimSpace(s) || strings.ContainsAny(s, "\n\r\t#'\"") {
		return quoted(s)
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off": // booleans to YAML 1.1 readers
		return quoted(s)
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil || len(n.Content) != 1 {
		return quoted(s)
	}
	v := n.Content[0]
	if v.Kind != yaml.ScalarNode || v.Style != 0 || v.ShortTag() != "!!str" || v.Value != s {
		return quoted(s)
	}
	return s
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if len(s) > 16 {
		s = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return s
}

// relPath writes an absolute pattern file path relative to dir, in slash
// form; without dir it stays absolute.
func relPath(p, dir string) (string, error) {
	if dir == "" {
		return filepath.ToSlash(p), nil
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(absDir, p)
	if err != nil {
		return filepath.ToSlash(p), nil
	}
	return filepath.ToSlash(rel), nil
}
