package config

import (
	"fmt"
	"slices"
	"strings"
)

// CheckRuleFiles checks rule files against each other: rule names must be
// unique, and a metric name used in several places must have the same
// type, help, label names, buckets, objectives and native histogram
// settings everywhere. Each problem is reported at the later place and names
// the first. Conflicts inside one file are left out: ParseRuleFile reports
// those. Problems are sorted.
func CheckRuleFiles(files []*RuleFile) Problems {
	probs := checkFiles(files, true)
	probs.Sort()
	return probs
}

// checkFiles compares every later rule and metric definition with the
// first of the same name. With acrossFiles it compares only definitions in
// different files, else only definitions in the same file.
func checkFiles(files []*RuleFile, acrossFiles bool) Problems {
	type first[T any] struct {
		file int
		def  T
	}
	var probs Problems
	rules := map[string]first[Pos]{}
	metrics := map[string]first[*Metric]{}
	for fi, rf := range files {
		if rf == nil {
			continue
		}
		for ri := range rf.Rules {
			r := &rf.Rules[ri]
			if name := r.Name.Value; name != "" {
				if f, seen := rules[name]; !seen {
					rules[name] = first[Pos]{fi, r.Name.Pos}
				} else if (f.file != fi) == acrossFiles {
					probs.add(r.Name.Pos, "duplicate rule name %q (first defined at %s)", name, f.def)
				}
			}
			for mi := range r.Metrics {
				m := &r.Metrics[mi]
				if m.Name.Value == "" || m.Type.Value == "" {
					continue // already reported as invalid
				}
				f, seen := metrics[m.Name.Value]
				if !seen {
					metrics[m.Name.Value] = first[*Metric]{fi, m}
					continue
				}
				if (f.file != fi) != acrossFiles {
					continue
				}
				if diffs := metricDiffs(m, f.def); len(diffs) > 0 {
					probs.add(m.Name.Pos, "metric %q conflicts with its definition at %s: %s",
						m.Name.Value, f.def.Name.Pos, strings.Join(diffs, "; "))
				}
			}
		}
	}
	return probs
}

// metricDiffs lists how m (here) differs from o (there).
func metricDiffs(m, o *Metric) []string {
	if m.Type.Value != o.Type.Value {
		return []string{fmt.Sprintf("type is %s here but %s there", m.Type.Value, o.Type.Value)}
	}
	var diffs []string
	if m.Help.Value != o.Help.Value {
		diffs = append(diffs, fmt.Sprintf("help is %q here but %q there", m.Help.Value, o.Help.Value))
	}
	if a, b := labelNames(m), labelNames(o); !slices.Equal(a, b) {
		diffs = append(diffs, fmt.Sprintf("labels are [%s] here but [%s] there", strings.Join(a, " "), strings.Join(b, " ")))
	}
	switch m.Type.Value {
	case Histogram:
		if !slices.Equal(m.Buckets, o.Buckets) {
			diffs = append(diffs, fmt.Sprintf("buckets are %s here but %s there", formatBuckets(m.Buckets), formatBuckets(o.Buckets)))
		}
		if a, b := formatNative(m.Native), formatNative(o.Native); a != b {
			diffs = append(diffs, fmt.Sprintf("native histogram settings are %s here but %s there", a, b))
		}
	case Summary:
		if !slices.Equal(m.Objectives, o.Objectives) {
			diffs = append(diffs, fmt.Sprintf("objectives are %s here but %s there", formatObjectives(m.Objectives), formatObjectives(o.Objectives)))
		}
	}
	return diffs
}

// labelNames returns the sorted label names of m: label order does not
// matter to Prometheus.
func labelNames(m *Metric) []string {
	names := make([]string, len(m.Labels))
	for i, l := range m.Labels {
		names[i] = l.Name.Value
	}
	slices.Sort(names)
	return names
}

func formatBuckets(b []float64) string {
	if b == nil {
		return "the default"
	}
	s := make([]string, len(b))
	for i, f := range b {
		s[i] = formatFloat(f)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func formatObjectives(objs []Objective) string {
	s := make([]string, len(objs))
	for i, o := range objs {
		s[i] = formatFloat(o.Quantile) + ": " + formatFloat(o.Error)
	}
	return "{" + strings.Join(s, ", ") + "}"
}

func formatNative(n *NativeHistogram) string {
	if n == nil {
		return "off"
	}
	return fmt.Sprintf("{factor %s, max buckets %d, classic %t}", formatFloat(n.BucketFactor), n.MaxBuckets, n.Classic)
}
