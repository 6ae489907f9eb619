package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// writeFiles creates files (relative path -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// lines splits command output into lines, without the final empty one.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestCheckProblems runs "logmeter check" on broken rule files and freezes
// every FILE:LINE:COL: message line it prints. The files are written into a
// temporary directory that becomes the working directory, so the paths in
// the messages are the relative ones given on the command line.
func TestCheckProblems(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		args  []string // after "check"; default: --rules r.yaml
		want  []string // stderr, exactly
	}{
		// YAML and structure.
		// yaml.v3 gives a line but no column. For some errors the line is
		// that of the enclosing block, not the offending one (e.g. a
		// mis-indented key on line 4 is reported at 1:1); this case is one
		// where the line is right.
		{
			name:  "yaml syntax error",
			files: map[string]string{"r.yaml": "rules:\n  - name: a\n    match: x\n  bad\n"},
			want:  []string{`r.yaml:4:1: invalid YAML: could not find expected ':'`},
		},
		{
			name:  "unknown key at top level",
			files: map[string]string{"r.yaml": "rule:\n  - name: a\n    match: x\n"},
			want:  []string{`r.yaml:1:1: unknown key "rule" at top level (valid: patterns, pattern_files, rules)`},
		},
		{
			name:  "unknown key in rule",
			files: map[string]string{"r.yaml": "rules:\n  - name: a\n    match: x\n    metric: []\n"},
			want:  []string{`r.yaml:4:5: unknown key "metric" in rule (valid: name, match, sources, metrics, expire, max_series)`},
		},
		{
			name: "unknown key in metric",
			files: map[string]string{"r.yaml": `rules:
  - name: a
    match: x
    metrics:
      - name: m
        type: counter
        lables: {a: b}
`},
			want: []string{`r.yaml:7:9: unknown key "lables" in metric (valid: name, type, help, labels, value, buckets, objectives, action, native, native_bucket_factor, native_max_buckets, classic)`},
		},
		{
			name:  "unknown metric type",
			files: map[string]string{"r.yaml": "rules:\n  - name: a\n    match: x\n    metrics:\n      - name: m\n        type: countr\n"},
			want:  []string{`r.yaml:6:15: unknown metric type "countr" (valid: counter, gauge, histogram, summary)`},
		},
		{
			name:  "invalid metric name",
			files: map[string]string{"r.yaml": "rules:\n  - name: a\n    match: x\n    metrics:\n      - name: http-requests\n        type: counter\n"},
			want:  []string{`r.yaml:5:15: invalid metric name "http-requests": must match ^[a-zA-Z_:][a-zA-Z0-9_:]*$`},
		},
		{
			name: "invalid label name",
			files: map[string]string{"r.yaml": `rules:
  - name: a
    match: x
    metrics:
      - name: m
        type: counter
        labels:
          bad-label: x
`},
			want: []string{`r.yaml:8:11: invalid label name "bad-label": must match ^[a-zA-Z_][a-zA-Z0-9_]*$`},
		},

		// Templates: the column points at the reference inside the string.
		{
			name: "template references undefined capture",
			files: map[string]string{"r.yaml": `rules:
  - name: a
    match: '%{WORD:method} %{INT:status}'
    metrics:
      - name: m
        type: counter
        labels:
          method: '{{.method}}'
          code: 'c{{.code}}'
      - name: h
        type: histogram
        value: "{{.bytes}}"
`},
			want: []string{
				`r.yaml:9:21: template references capture "code", which the pattern does not define`,
				`r.yaml:12:19: template references capture "bytes", which the pattern does not define`,
			},
		},

		// Grok: the column points at the "%{" inside the match string,
		// whatever the quoting; block scalars fall back to the value.
		{
			name: "unknown pattern",
			files: map[string]string{"r.yaml": `rules:
  - name: plain
    match: a %{WORD:w} %{NOPE:x}
  - name: single
    match: 'it''s %{WORD:w} %{NOPE:x}'
  - name: double
    match: "\t\"%{WORD:w}\" %{NOPE:x}"
  - name: unicode
    match: "é\u00e9 %{NOPE:x}"
  - name: block
    match: >-
      a %{NOPE:x}
`},
			want: []string{
				`r.yaml:3:24: unknown pattern %{NOPE}`,
				`r.yaml:5:29: unknown pattern %{NOPE}`,
				`r.yaml:7:29: unknown pattern %{NOPE}`,
				`r.yaml:9:21: unknown pattern %{NOPE}`,
				`r.yaml:11:12: unknown pattern %{NOPE}`,
			},
		},
		{
			name:  "malformed pattern reference",
			files: map[string]string{"r.yaml": "rules:\n  - name: a\n    match: 'a %{WORD:w %{NOPE}'\n"},
			want:  []string{`r.yaml:3:15: malformed pattern reference %{WORD:w %{NOPE}: invalid field name "w %{NOPE"`},
		},
		// Only the unbalanced parenthesis and the backreference are placed
		// at the character; the other regexp errors point at the start of
		// the scalar (column 12), which is correct but could be sharper.
		{
			name: "regexp does not compile",
			files: map[string]string{"r.yaml": `rules:
  - name: paren
    match: 'x %{WORD:w} (unclosed'
  - name: range
    match: 'x [z-a]'
  - name: repeat
    match: 'x a{2,1}'
  - name: backref
    match: 'x (\w+) \1'
  - name: lookbehind
    match: 'x (?<=a+)b'
`},
			want: []string{
				`r.yaml:3:25: missing )`,
				`r.yaml:5:12: invalid regular expression: invalid character class range: ` + "`z-a`",
				`r.yaml:7:12: invalid regular expression: invalid repeat count: ` + "`{2,1}`",
				`r.yaml:9:21: uses a backreference \1, which is not supported`,
				`r.yaml:11:12: uses lookbehind, which is not supported`,
			},
		},

		// Metric semantics.
		{
			name: "value missing",
			files: map[string]string{"r.yaml": `rules:
  - name: a
    match: '%{NUMBER:n}'
    metrics:
      - name: h
        type: histogram
      - name: s
        type: summary
      - name: g
        type: gauge
        action: set
      - name: g2
        type: gauge
      - name: g3
        type: gauge
        action: add
`},
			want: []string{
				`r.yaml:5:9: histogram "h" needs a "value"`,
				`r.yaml:7:9: summary "s" needs a "value"`,
				`r.yaml:9:9: gauge "g" with action set needs a "value"`,
				`r.yaml:12:9: gauge "g2" with action set needs a "value"`,
			},
		},
		{
			name: "metric conflicts in one file",
			files: map[string]string{"r.yaml": `rules:
  - name: a
    match: '%{WORD:w}'
    metrics:
      - {name: m, type: counter, labels: {w: '{{.w}}'}}
      - {name: n, type: counter, labels: {w: '{{.w}}'}}
  - name: b
    match: '%{WORD:w}'
    metrics:
      - {name: m, type: gauge, value: '1'}
      - {name: n, type: counter, labels: {x: '{{.w}}'}}
`},
			want: []string{
				`r.yaml:10:16: metric "m" conflicts with its definition at r.yaml:5:16: type is gauge here but counter there`,
				`r.yaml:11:16: metric "n" conflicts with its definition at r.yaml:6:16: labels are [x] here but [w] there`,
			},
		},
		{
			name:  "duplicate rule name in one file",
			files: map[string]string{"r.yaml": "rules:\n  - name: a\n    match: x\n  - name: a\n    match: y\n"},
			want:  []string{`r.yaml:4:11: duplicate rule name "a" (first defined at r.yaml:2:11)`},
		},
		{
			name:  "conflicts across files",
			files: map[string]string{"a.yaml": crossA, "b.yaml": crossB},
			args:  []string{"--rules", "a.yaml", "--rules", "b.yaml"},
			want: []string{
				`b.yaml:2:11: duplicate rule name "web" (first defined at a.yaml:2:11)`,
				`b.yaml:7:15: metric "hits_total" conflicts with its definition at a.yaml:5:15: labels are [v] here but [w] there`,
				`b.yaml:10:15: metric "size" conflicts with its definition at a.yaml:8:15: type is counter here but gauge there`,
			},
		},
		{
			name:  "conflicts across files, first named file wins",
			files: map[string]string{"a.yaml": crossA, "b.yaml": crossB},
			args:  []string{"--rules", "b.yaml", "--rules", "a.yaml"},
			want: []string{
				`a.yaml:2:11: duplicate rule name "web" (first defined at b.yaml:2:11)`,
				`a.yaml:5:15: metric "hits_total" conflicts with its definition at b.yaml:7:15: labels are [w] here but [v] there`,
				`a.yaml:8:15: metric "size" conflicts with its definition at b.yaml:10:15: type is gauge here but counter there`,
			},
		},
		{
			name:  "conflicts across files through a glob",
			files: map[string]string{"rules/a.yaml": crossA, "rules/b.yaml": crossB},
			args:  []string{"--rules", "rules/*.yaml"},
			want: []string{
				`rules/b.yaml:2:11: duplicate rule name "web" (first defined at rules/a.yaml:2:11)`,
				`rules/b.yaml:7:15: metric "hits_total" conflicts with its definition at rules/a.yaml:5:15: labels are [v] here but [w] there`,
				`rules/b.yaml:10:15: metric "size" conflicts with its definition at rules/a.yaml:8:15: type is counter here but gauge there`,
			},
		},
		{
			name:  "conflicts across files when the later file has its own problems",
			files: map[string]string{"a.yaml": crossA, "b.yaml": crossB + "    bogus: 1\n"},
			args:  []string{"--rules", "a.yaml", "b.yaml"},
			want: []string{
				`b.yaml:2:11: duplicate rule name "web" (first defined at a.yaml:2:11)`,
				`b.yaml:7:15: metric "hits_total" conflicts with its definition at a.yaml:5:15: labels are [v] here but [w] there`,
				`b.yaml:10:15: metric "size" conflicts with its definition at a.yaml:8:15: type is counter here but gauge there`,
				`b.yaml:12:5: unknown key "bogus" in rule (valid: name, match, sources, metrics, expire, max_series)`,
			},
		},

		// Patterns defined in the rule file and in pattern files.
		{
			name: "inline pattern with backreference, plain scalar",
			files: map[string]string{"r.yaml": `patterns:
  REPEAT: (\w+) \1
rules:
  - name: a
    match: 'x %{REPEAT:r}'
`},
			want: []string{`r.yaml:2:17: pattern REPEAT uses a backreference \1, which is not supported`},
		},
		{
			name: "inline pattern with backreference, quoted scalars",
			files: map[string]string{"r.yaml": `patterns:
  SINGLE: '(\w+) \1'
  DOUBLE: "(\\w+) \\1"
  LOOK: '(?<=a+)b'
rules:
  - {name: a, match: 'x %{SINGLE}'}
  - {name: b, match: 'x %{DOUBLE}'}
  - {name: c, match: 'x %{LOOK}'}
`},
			want: []string{
				`r.yaml:2:18: pattern SINGLE uses a backreference \1, which is not supported`,
				`r.yaml:3:19: pattern DOUBLE uses a backreference \1, which is not supported`,
				`r.yaml:4:10: pattern LOOK uses lookbehind, which is not supported`,
			},
		},
		{
			name: "pattern file with a bad line and a missing pattern file",
			files: map[string]string{
				"r.yaml":   "pattern_files: [pats/bad, pats/missing]\nrules:\n  - name: a\n    match: 'x %{GOOD:g}'\n",
				"pats/bad": "# comment\nGOOD [a-z]+\nBROKEN\n",
			},
			want: []string{
				`pats/bad:3:7: pattern BROKEN has no regex`,
				`r.yaml:1:27: read pattern file: open pats/missing: no such file or directory`,
				// The good lines of a pattern file with an error are defined.
			},
		},
		{
			name: "pattern file with variable-length lookbehind",
			files: map[string]string{
				"r.yaml":  "pattern_files:\n  - pats/lb\nrules:\n  - name: a\n    match: 'x %{LB:g}'\n",
				"pats/lb": "# lookbehind\nLB foo (?<=a+)b\n",
			},
			want: []string{`pats/lb:2:8: pattern LB uses lookbehind, which is not supported`},
		},
		{
			name: "pattern file relative to the rule file",
			files: map[string]string{
				"conf/r.yaml":      "pattern_files: [pats/br]\nrules:\n  - name: a\n    match: 'x %{X}'\n",
				"conf/pats/br":     "X\t(a)\\1\n",
				"pats/br-not-used": "X a\n",
			},
			args: []string{"--rules", "conf/r.yaml"},
			want: []string{`conf/pats/br:1:6: pattern X uses a backreference \1, which is not supported`},
		},

		// A definition that does not compile on its own is reported where
		// it is defined, with its name, whichever rule or pattern uses it;
		// for one in the rule file that is its YAML node.
		{
			name: "pattern file with a pattern that does not compile",
			files: map[string]string{
				"r.yaml": "pattern_files: [pats/x]\nrules:\n  - name: a\n    match: 'x %{FOO:f}'\n  - name: b\n    match: 'y %{BAR}'\n",
				"pats/x": "# comment\nOK [a-z]+\nFOO   a{2,1}\nBAR %{OK}-%{FOO}\n",
			},
			want: []string{"pats/x:3:7: pattern FOO: invalid regular expression: invalid repeat count: `{2,1}`"},
		},
		{
			name: "inline patterns that do not compile",
			files: map[string]string{"r.yaml": `patterns:
  RANGE: 'x[z-a]'
  COUNT: "x{2,1}"
  UNUSED: (?i)*
  GOOD: '%{RANGE}?'
rules:
  - name: a
    match: '%{GOOD} %{COUNT}'
`},
			want: []string{
				"r.yaml:2:10: pattern RANGE: invalid regular expression: invalid character class range: `z-a`",
				"r.yaml:3:10: pattern COUNT: invalid regular expression: invalid repeat count: `{2,1}`",
				"r.yaml:4:11: pattern UNUSED: invalid regular expression: missing argument to repetition operator: `*`",
			},
		},
		{
			name: "pattern that compiles alone but not where the rule repeats it",
			files: map[string]string{
				"r.yaml": "pattern_files: [pats/x]\nrules:\n  - name: a\n    match: 'x (?:%{PAIR}){2,1}'\n",
				"pats/x": "PAIR [a-z]{2}\n",
			},
			want: []string{"r.yaml:4:12: invalid regular expression: invalid repeat count: `{2,1}`"},
		},

		// Several problems: all reported, sorted by file, line, column.
		{
			name: "several structural problems",
			files: map[string]string{"r.yaml": `rules:
  - name: b
    bogus: 1
    match: x
    metrics:
      - name: 9m
        type: countr
  - name: a
    match: y
    metrics:
      - {name: h, type: histogram, labels: {a-b: x}}
  - name: b
    match: z
`},
			want: []string{
				`r.yaml:3:5: unknown key "bogus" in rule (valid: name, match, sources, metrics, expire, max_series)`,
				`r.yaml:6:15: invalid metric name "9m": must match ^[a-zA-Z_:][a-zA-Z0-9_:]*$`,
				`r.yaml:7:15: unknown metric type "countr" (valid: counter, gauge, histogram, summary)`,
				`r.yaml:11:9: histogram "h" needs a "value"`,
				`r.yaml:11:45: invalid label name "a-b": must match ^[a-zA-Z_][a-zA-Z0-9_]*$`,
				`r.yaml:12:11: duplicate rule name "b" (first defined at r.yaml:2:11)`,
			},
		},
		{
			name: "several pattern and template problems",
			files: map[string]string{"r.yaml": `rules:
  - name: b
    match: 'b %{WORD:w}'
    metrics:
      - name: m2
        type: counter
        labels: {x: '{{.x}}', y: '{{.w}}', z: '{{.z}}'}
  - name: a
    match: 'a %{NOPE} %{WORD:w}'
`},
			want: []string{
				`r.yaml:7:24: template references capture "x", which the pattern does not define`,
				`r.yaml:7:50: template references capture "z", which the pattern does not define`,
				`r.yaml:9:15: unknown pattern %{NOPE}`,
			},
		},
		{
			name: "problems in several files",
			files: map[string]string{
				"a.yaml": "rules:\n  - name: a\n    match: 'a %{NOPE}'\n",
				"b.yaml": "rules:\n  - name: b\n    match: 'b %{ALSO_NOPE}'\n",
				"c.yaml": "rules:\n  - name: c\n    match: 'c %{WORD}'\n",
			},
			args: []string{"--rules", "c.yaml", "--rules", "b.yaml", "a.yaml"},
			want: []string{
				`a.yaml:3:15: unknown pattern %{NOPE}`,
				`b.yaml:3:15: unknown pattern %{ALSO_NOPE}`,
			},
		},
		{
			name:  "structural problems in several files",
			files: map[string]string{"a.yaml": "rules:\n  - name: a\n    match: ''\n", "b.yaml": "rule: []\n"},
			args:  []string{"--rules", "b.yaml", "a.yaml"},
			want: []string{
				`a.yaml:3:12: match must not be empty`,
				`b.yaml:1:1: unknown key "rule" at top level (valid: patterns, pattern_files, rules)`,
			},
		},
		{
			name: "structural and pattern problems together",
			files: map[string]string{"r.yaml": `rules:
  - name: a
    match: 'a %{NOPE}'
  - name: b
    match: 'b'
    bogus: 1
`},
			want: []string{
				`r.yaml:3:15: unknown pattern %{NOPE}`,
				`r.yaml:6:5: unknown key "bogus" in rule (valid: name, match, sources, metrics, expire, max_series)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			t.Chdir(dir)
			args := tt.args
			if args == nil {
				args = []string{"--rules", "r.yaml"}
			}
			stdout, stderr, code := runTest(t, append([]string{"check"}, args...)...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if got := lines(stderr); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("stderr:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

// crossA and crossB disagree about a rule name and two metrics.
const crossA = `rules:
  - name: web
    match: '%{WORD:w}'
    metrics:
      - name: hits_total
        type: counter
        labels: {w: '{{.w}}'}
      - name: size
        type: gauge
        value: '1'
`

const crossB = `rules:
  - name: web
    match: '%{WORD:w}'
  - name: other
    match: '%{WORD:w}'
    metrics:
      - name: hits_total
        type: counter
        labels: {v: '{{.w}}'}
      - name: size
        type: counter
`

// validA and validB are valid together: no names are shared.
const validA = `patterns:
  ITEM: '[a-z]+'
rules:
  - name: a
    match: '%{ITEM:item} %{NUMBER:n}'
    metrics:
      - {name: items_total, type: counter, help: Items., labels: {item: '{{.item}}'}}
      - {name: item_size, type: histogram, value: '{{.n}}', buckets: [1, 10]}
`

const validB = `rules:
  - name: b
    match: '%{WORD:w}'
    metrics:
      - {name: words_total, type: counter}
      - {name: items_total, type: counter, help: Items., labels: {item: '{{.w}}'}}
`

func TestCheckValid(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // stdout
	}{
		{"one file", []string{"--rules", "a.yaml"}, "1 rule file(s) OK\n"},
		{"positional files", []string{"--rules", "a.yaml", "b.yaml"}, "2 rule file(s) OK\n"},
		{"repeated flag", []string{"--rules", "a.yaml", "--rules", "b.yaml"}, "2 rule file(s) OK\n"},
		{"flag after a file", []string{"a.yaml", "--rules", "b.yaml"}, "2 rule file(s) OK\n"},
		{"same file twice", []string{"--rules", "a.yaml", "a.yaml"}, "1 rule file(s) OK\n"},
		{"only positional", []string{"a.yaml", "b.yaml"}, "2 rule file(s) OK\n"},
		{"glob", []string{"--rules", "*.yaml"}, "2 rule file(s) OK\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"a.yaml": validA, "b.yaml": validB})
			t.Chdir(dir)
			stdout, stderr, code := runTest(t, append([]string{"check"}, tt.args...)...)
			if code != 0 || stderr != "" {
				t.Errorf("exit %d, stderr %q; want 0 and nothing", code, stderr)
			}
			if stdout != tt.want {
				t.Errorf("stdout = %q, want %q", stdout, tt.want)
			}
		})
	}
}

// TestCheckUsageErrors covers command-line mistakes: a non-zero exit other
// than 1 (which means "the rules have problems") and one line on stderr
// that starts with want.
func TestCheckUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // the whole stderr line, or its start when it ends in "..."
	}{
		{"no arguments", nil, "logmeter: check: nothing to check (use --rules FILE or --config FILE)"},
		{"missing file", []string{"--rules", "nothere.yaml"}, "logmeter: reading rule file: open nothere.yaml: ..."},
		{"missing second file", []string{"--rules", "a.yaml", "nothere.yaml"}, "logmeter: reading rule file: open nothere.yaml: ..."},
		{"glob without match", []string{"--rules", "nothere*.yaml"}, `logmeter: rules "nothere*.yaml": no file matches`},
		{"directory", []string{"--rules", "."}, "logmeter: reading rule file: read .: ..."},
		{"unknown flag", []string{"--bogus", "--rules", "a.yaml"}, "logmeter: check: flag provided but not defined: -bogus"},
		{"flag without value", []string{"--rules"}, "logmeter: check: flag needs an argument: -rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"a.yaml": validA})
			t.Chdir(dir)
			stdout, stderr, code := runTest(t, append([]string{"check"}, tt.args...)...)
			if code == 0 || code == 1 {
				t.Errorf("exit %d, want a usage error (not 0 or 1)", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			got := lines(stderr)
			if len(got) != 1 {
				t.Fatalf("stderr has %d lines, want 1:\n%s", len(got), stderr)
			}
			if prefix, ok := strings.CutSuffix(tt.want, "..."); ok {
				if !strings.HasPrefix(got[0], prefix) {
					t.Errorf("stderr = %q, want it to start with %q", got[0], prefix)
				}
			} else if got[0] != tt.want {
				t.Errorf("stderr = %q, want %q", got[0], tt.want)
			}
		})
	}
}

// TestCheckConfig checks a daemon configuration together with the rule
// files it names: problems of both come out as FILE:LINE:COL lines.
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"rules/a.yaml":  validA,
		"good.yaml":     "inputs:\n  - name: web\n    paths: [/var/log/nginx/access.log]\nrules: [rules/*.yaml]\n",
		"bad.yaml":      "inputs:\n  - name: web\n    pathz: [x]\nrules: [rules/*.yaml]\n",
		"badrules.yaml": "inputs:\n  - name: web\n    paths: [x]\nrules: [r2.yaml]\n",
		"r2.yaml":       "rules:\n  - name: r\n    match: '%{NOPE}'\n",
	})
	t.Chdir(dir)
	for _, c := range []struct {
		cfg, stdout string
		code        int
		stderr      []string
	}{
		{cfg: "good.yaml", stdout: "configuration and 1 rule file(s) OK\n"},
		{cfg: "bad.yaml", code: 1, stderr: []string{
			`bad.yaml:2:5: input "web" is missing required key "paths"`,
			`bad.yaml:3:5: unknown key "pathz" in input (valid: name, paths, exclude, format, start_at, max_line_bytes, multiline)`,
		}},
		{cfg: "badrules.yaml", code: 1, stderr: []string{`r2.yaml:3:13: unknown pattern %{NOPE}`}},
	} {
		stdout, stderr, code := runTest(t, "check", "--config", c.cfg)
		if code != c.code || stdout != c.stdout || !slices.Equal(lines(stderr), c.stderr) {
			t.Errorf("check --config %s: exit %d, stdout %q, stderr %q; want %d, %q, %q", c.cfg, code, stdout, lines(stderr), c.code, c.stdout, c.stderr)
		}
	}
}
