package config

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestIsRuleTestFile(t *testing.T) {
	for path, want := range map[string]bool{
		"nginx_test.yaml":                 true,
		"rules/nginx_test.yml":            true,
		"/etc/logmeter/rules/a_test.yaml": true,
		"nginx.yaml":                      false,
		"nginx_test.yaml.bak":             false,
		"latest.yaml":                     false,
		"my_test/nginx.yaml":              false,
		"nginx-test.yaml":                 false,
	} {
		if got := IsRuleTestFile(path); got != want {
			t.Errorf("IsRuleTestFile(%q) = %v, want %v", path, got, want)
		}
	}
	for path, want := range map[string]string{
		"nginx_test.yaml":      "nginx.yaml",
		"rules/app_test.yml":   "rules/app.yml",
		"a_test_test.yaml":     "a_test.yaml",
		"rules/kube_test.yaml": "rules/kube.yaml",
	} {
		if got := RuleFileOfTest(path); got != want {
			t.Errorf("RuleFileOfTest(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestParseRuleTestFile(t *testing.T) {
	const src = `rules: [nginx.yaml, 'more/*.yaml']
tests:
  - name: first
    input: nginx
    format: cri
    path: /var/log/containers/web-1_shop_nginx-0123456789ab.log
    kubernetes:
      node: node-1
      labels: {app: web, tier: ""}
    lines: |
      GET / 200

      POST /x 500
    expect: |
      # HELP requests_total Requests.
      # TYPE requests_total counter
      requests_total{status="200", method="GET",} 1
        requests_total{method="POST",status="500"} 2.5e0
      latency_bucket{le="1.0"} +Inf
      odd{v="a\\b\"c\nd"} NaN
      plain -3
    absent: [errors_total]
    unmatched: 0
  - name: second
    lines: [one, 'two']
    expect: 'x_total 1'
`
	tf, probs := ParseRuleTestFile("dir/t_test.yaml", []byte(src))
	if len(probs) > 0 {
		t.Fatalf("problems:\n%v", probs)
	}
	if got, want := []string{tf.Rules[0].Value, tf.Rules[1].Value}, []string{"dir/nginx.yaml", "dir/more/*.yaml"}; !reflect.DeepEqual(got, want) || tf.RulesDefault {
		t.Errorf("rules = %q (default %v), want %q", got, tf.RulesDefault, want)
	}
	if tf.Rules[0].Pos != (Pos{"dir/t_test.yaml", 1, 9}) {
		t.Errorf("rules[0] at %s", tf.Rules[0].Pos)
	}
	if len(tf.Tests) != 2 {
		t.Fatalf("%d tests, want 2", len(tf.Tests))
	}
	a := tf.Tests[0]
	if a.Name.Value != "first" || a.Input.Value != "nginx" || a.Format.Value != "cri" ||
		a.Path.Value != "/var/log/containers/web-1_shop_nginx-0123456789ab.log" {
		t.Errorf("test = %+v", a)
	}
	if want := (&RuleTestKube{Node: "node-1", Labels: map[string]string{"app": "web", "tier": ""}}); !reflect.DeepEqual(a.Kubernetes, want) {
		t.Errorf("kubernetes = %+v, want %+v", a.Kubernetes, want)
	}
	if a.Lines.Value != "GET / 200\n\nPOST /x 500\n" {
		t.Errorf("lines = %q", a.Lines.Value)
	}
	if want := []Pos{{"dir/t_test.yaml", 11, 7}, {"dir/t_test.yaml", 12, 1}, {"dir/t_test.yaml", 13, 7}}; !reflect.DeepEqual(a.LinePos, want) {
		t.Errorf("line positions = %v, want %v", a.LinePos, want)
	}
	var samples []string
	for _, s := range a.Expect {
		samples = append(samples, s.Pos.String()+" "+s.String())
	}
	if want := []string{
		`dir/t_test.yaml:17:7 requests_total{method="GET",status="200"} 1`,
		`dir/t_test.yaml:18:9 requests_total{method="POST",status="500"} 2.5`,
		`dir/t_test.yaml:19:7 latency_bucket{le="1"} +Inf`,
		`dir/t_test.yaml:20:7 odd{v="a\\b\"c\nd"} NaN`,
		`dir/t_test.yaml:21:7 plain -3`,
	}; !reflect.DeepEqual(samples, want) {
		t.Errorf("expect:\n got %s\nwant %s", strings.Join(samples, "\n     "), strings.Join(want, "\n     "))
	}
	if v := a.Expect[3].Labels[0].Value; v != "a\\b\"c\nd" {
		t.Errorf("escaped label value = %q", v)
	}
	if len(a.Absent) != 1 || a.Absent[0].Value != "errors_total" || a.Unmatched == nil || *a.Unmatched != 0 {
		t.Errorf("absent %v, unmatched %v", a.Absent, a.Unmatched)
	}

	b := tf.Tests[1]
	if b.Format.Value != FormatAuto || b.Input.Value != "" || b.Kubernetes != nil || b.Unmatched != nil {
		t.Errorf("defaults: %+v", b)
	}
	if b.Lines.Value != "one\ntwo\n" || !reflect.DeepEqual(b.LinePos, []Pos{{"dir/t_test.yaml", 25, 13}, {"dir/t_test.yaml", 25, 18}}) {
		t.Errorf("list lines = %q at %v", b.Lines.Value, b.LinePos)
	}
	if len(b.Expect) != 1 || b.Expect[0].Pos != (Pos{"dir/t_test.yaml", 26, 14}) || b.Expect[0].Value != 1 {
		t.Errorf("one-line expect = %+v", b.Expect)
	}
}

func TestParseRuleTestFileDefaultRules(t *testing.T) {
	tf, probs := ParseRuleTestFile("rules/app_test.yml", []byte("tests:\n  - {name: a, lines: x, unmatched: 1}\n"))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if len(tf.Rules) != 1 || tf.Rules[0].Value != "rules/app.yml" || !tf.RulesDefault || tf.Rules[0].Pos != (Pos{"rules/app_test.yml", 1, 1}) {
		t.Errorf("rules = %+v, default %v", tf.Rules, tf.RulesDefault)
	}
}

func TestParseRuleTestFileProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"empty", "", []string{
			`t_test.yaml:1:1: test file is empty`}},
		{"syntax error", "tests:\n  - name: a\n - lines: b\n", []string{
			`t_test.yaml:2:1: invalid YAML: did not find expected key`}},
		{"not a mapping", "- name: a\n", []string{
			`t_test.yaml:1:1: a test file must be a mapping, got a list`}},
		{"no tests", "rules: [a.yaml]\n", []string{
			`t_test.yaml:1:1: test file is missing required key "tests"`}},
		{"empty tests", "tests: []\n", []string{
			`t_test.yaml:1:8: tests must not be empty`}},
		{"unknown top key", "test: []\ntests:\n  - {name: a, lines: x, unmatched: 0}\n", []string{
			`t_test.yaml:1:1: unknown key "test" at top level (valid: rules, tests)`}},
		{"bad rules", "rules: a.yaml\ntests:\n  - {name: a, lines: x, unmatched: 0}\n", []string{
			`t_test.yaml:1:8: rules must be a list, got "a.yaml"`}},
		{"empty rules", "rules: []\ntests:\n  - {name: a, lines: x, unmatched: 0}\n", []string{
			`t_test.yaml:1:8: rules must not be empty; leave the key out to test t.yaml`}},
		{"rules entries", "rules: ['', b_test.yaml, [c]]\ntests:\n  - {name: a, lines: x, unmatched: 0}\n", []string{
			`t_test.yaml:1:9: an entry of rules must not be empty`,
			`t_test.yaml:1:13: "b_test.yaml" is a test file, not a rule file`,
			`t_test.yaml:1:26: an entry of rules must be a string, got a list`}},
		{"test not a mapping", "tests:\n  - just text\n", []string{
			`t_test.yaml:2:5: a test must be a mapping, got "just text"`}},
		{"unknown test key", "tests:\n  - name: a\n    lines: x\n    expected: 'a 1'\n", []string{
			`t_test.yaml:2:5: test "a" checks nothing: give expect, absent or unmatched`,
			`t_test.yaml:4:5: unknown key "expected" in test (valid: name, input, format, path, kubernetes, lines, expect, absent, unmatched)`}},
		{"missing name and lines", "tests:\n  - unmatched: 0\n", []string{
			`t_test.yaml:2:5: test is missing required key "name"`,
			`t_test.yaml:2:5: test is missing required key "lines"`}},
		{"duplicate test name", "tests:\n  - {name: a, lines: x, unmatched: 0}\n  - {name: a, lines: y, unmatched: 0}\n", []string{
			`t_test.yaml:3:12: duplicate test name "a" (first defined at t_test.yaml:2:12)`}},
		{"bad values", `tests:
  - name: ''
    input: ''
    format: json
    path: ''
    lines: {a: b}
    unmatched: -1
    absent: [ok_total, 'bad-name', [x]]
`, []string{
			`t_test.yaml:2:11: name must not be empty`,
			`t_test.yaml:3:12: input must not be empty`,
			`t_test.yaml:4:13: unknown format "json" (valid: auto, plain, cri, docker)`,
			`t_test.yaml:5:11: path must not be empty`,
			`t_test.yaml:6:12: lines must be a string, got a mapping`,
			`t_test.yaml:7:16: unmatched must be at least 0, got -1`,
			`t_test.yaml:8:24: invalid metric name "bad-name": must match ^[a-zA-Z_:][a-zA-Z0-9_:]*$`,
			`t_test.yaml:8:36: an entry of absent must be a string, got a list`}},
		{"lines list with a line break", "tests:\n  - name: a\n    lines: [ok, \"two\\nlines\"]\n    unmatched: 0\n", []string{
			`t_test.yaml:3:17: an entry of lines must be one line; use a block (lines: |) for text`}},
		{"kubernetes", "tests:\n  - name: a\n    lines: x\n    unmatched: 0\n    kubernetes: {pod: '', zone: a, labels: [x]}\n", []string{
			`t_test.yaml:5:23: pod must not be empty`,
			`t_test.yaml:5:27: unknown key "zone" in kubernetes (valid: namespace, pod, pod_uid, container, node, labels)`,
			`t_test.yaml:5:44: labels must be a mapping, got a list`}},
		{"expect not a string", "tests:\n  - name: a\n    lines: x\n    expect: [a 1]\n", []string{
			`t_test.yaml:4:13: expect must be a string, got a list`}},
		{"both expected and absent", "tests:\n  - name: a\n    lines: x\n    expect: 'a_total 1'\n    absent: [a_total]\n", []string{
			`t_test.yaml:5:14: a_total is both expected and absent`}},

		// Samples: the column points into the expect block.
		{"bad samples", `tests:
  - name: a
    lines: x
    expect: |
      # TYPE ok_total counter
      ok_total 1
      {a="b"} 1
      9lives 1
      no_value
      no_value{a="b"}
      bad_value{a="b"} one
      with_ts 1 1714564800000
      name-dash 1
      labels{a=b} 1
      labels{a="b" c="d"} 1
      labels{a="b",a="c"} 1
      labels{a="b\t"} 1
      labels{a="b} 1
      labels{a-b="c"} 1
      ok_total 2
`, []string{
			`t_test.yaml:7:7: invalid sample: want a metric name, labels in {} and a value, as in requests_total{code="200"} 3`,
			`t_test.yaml:8:7: invalid sample: want a metric name, labels in {} and a value, as in requests_total{code="200"} 3`,
			`t_test.yaml:9:15: invalid sample: no_value has no value`,
			`t_test.yaml:10:22: invalid sample: no_value has no value`,
			`t_test.yaml:11:24: invalid sample value "one": want a number, +Inf, -Inf or NaN`,
			`t_test.yaml:12:17: invalid sample: timestamps and other text after the value are not supported`,
			`t_test.yaml:13:11: invalid sample: want { or a blank after "name"`,
			`t_test.yaml:14:16: invalid sample: the value of label "a" must be in double quotes`,
			`t_test.yaml:15:20: invalid sample: want , or } after a label`,
			`t_test.yaml:16:20: invalid sample: label "a" is given twice`,
			`t_test.yaml:17:18: invalid sample: unknown escape \t in a label value (valid: \\, \", \n)`,
			`t_test.yaml:18:16: invalid sample: the value of label "a" has no closing quote`,
			`t_test.yaml:19:15: invalid sample: want = after label name "a"`,
			`t_test.yaml:20:7: sample ok_total is listed twice (first at t_test.yaml:6:7)`,
		}},
		{"bad sample in a one-line expect", "tests:\n  - name: a\n    lines: x\n    expect: 'a_total{x=\"1\"} many'\n", []string{
			`t_test.yaml:4:29: invalid sample value "many": want a number, +Inf, -Inf or NaN`}},
		{"bad sample in a folded block falls back to the block", "tests:\n  - name: a\n    lines: x\n    expect: >\n      a_total{\n", []string{
			`t_test.yaml:4:13: invalid sample: want a label name or }`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tf, probs := ParseRuleTestFile("t_test.yaml", []byte(tt.yaml))
			if tf == nil {
				t.Fatal("nil test file")
			}
			if got := problemStrings(probs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

func TestSampleFormat(t *testing.T) {
	a, b := 0.1, 0.2
	s := Sample{Name: "m", Labels: []SampleLabel{{"le", "0.50"}, {"a", "x\"y"}}, Value: a + b}
	SortSampleLabels(s.Labels)
	if got, want := s.String(), `m{a="x\"y",le="0.5"} 0.30000000000000004`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	for v, want := range map[float64]string{math.Inf(1): "+Inf", math.Inf(-1): "-Inf", math.NaN(): "NaN", 1e21: "1e+21", -0.25: "-0.25"} {
		if got := FormatSampleValue(v); got != want {
			t.Errorf("FormatSampleValue(%v) = %s, want %s", v, got, want)
		}
	}
}

func TestLoadRuleTestFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadRuleTestFile(filepath.Join(dir, "missing_test.yaml")); err == nil || !strings.HasPrefix(err.Error(), "reading test file: ") {
		t.Errorf("missing file: %v", err)
	}
	p := filepath.Join(dir, "x_test.yaml")
	if err := os.WriteFile(p, []byte("tests: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ps Problems
	if tf, err := LoadRuleTestFile(p); !errors.As(err, &ps) || len(ps) != 1 || tf == nil {
		t.Errorf("broken file: %v", err)
	}
}
