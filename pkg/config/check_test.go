package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestCheckRuleFiles(t *testing.T) {
	const a = `rules:
  - name: x
    match: a
    metrics:
      - {name: m, type: counter, help: Things., labels: {a: '{{.a}}', b: '{{.b}}'}}
      - {name: h, type: histogram, value: v, buckets: [1, 2]}
`
	const b = `rules:
  - name: x
    match: b
  - name: w
    match: b
  - name: w
    match: b
  - name: y
    match: b
    metrics:
      - {name: m, type: gauge, value: v}
      - {name: h, type: histogram, value: v, buckets: [1, 3]}
  - name: z
    match: b
    metrics:
      - {name: m, type: counter, help: Things., labels: {b: x, a: y}}
`
	tests := []struct {
		name  string
		files map[string]string // path -> content, parsed in path order
		want  []string
	}{
		{"one file", map[string]string{"a.yaml": a}, nil},
		{"two files", map[string]string{"a.yaml": a, "b.yaml": b}, []string{
			`b.yaml:2:11: duplicate rule name "x" (first defined at a.yaml:2:11)`,
			`b.yaml:11:16: metric "m" conflicts with its definition at a.yaml:5:16: type is gauge here but counter there`,
			`b.yaml:12:16: metric "h" conflicts with its definition at a.yaml:6:16: buckets are [1, 3] here but [1, 2] there`,
		}},
		{"same content twice", map[string]string{"a.yaml": a, "a2.yaml": a}, []string{
			`a2.yaml:2:11: duplicate rule name "x" (first defined at a.yaml:2:11)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var paths []string
			for p := range tt.files {
				paths = append(paths, p)
			}
			slices.Sort(paths)
			files := []*RuleFile{nil} // a nil entry is skipped
			for _, p := range paths {
				rf, _ := ParseRuleFile(p, []byte(tt.files[p]))
				files = append(files, rf)
			}
			got := problemStrings(CheckRuleFiles(files))
			if !reflect.DeepEqual(got, append([]string{}, tt.want...)) {
				t.Errorf("problems:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

// TestParseLeavesCrossFileChecks makes sure ParseRuleFile reports in-file
// duplicates exactly once and CheckRuleFiles does not repeat them.
func TestParseLeavesCrossFileChecks(t *testing.T) {
	data := "rules:\n  - {name: w, match: b}\n  - {name: w, match: b}\n"
	rf, probs := ParseRuleFile("b.yaml", []byte(data))
	want := []string{`b.yaml:3:12: duplicate rule name "w" (first defined at b.yaml:2:12)`}
	if got := problemStrings(probs); !reflect.DeepEqual(got, want) {
		t.Errorf("ParseRuleFile: got %q, want %q", got, want)
	}
	if probs := CheckRuleFiles([]*RuleFile{rf}); len(probs) != 0 {
		t.Errorf("CheckRuleFiles repeated in-file problems:\n%v", probs)
	}
}
