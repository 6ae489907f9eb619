package main

import (
	"io"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/logmeter/logmeter/pkg/config"
)

// unitRules is the rule file the rule unit tests below test.
const unitRules = `rules:
  - name: req
    match: '^%{WORD:method} %{INT:status} %{NUMBER:secs}$'
    metrics:
      - name: requests_total
        type: counter
        help: Requests.
        labels: {method: '{{.method}}', status: '{{.status}}'}
      - name: request_seconds
        type: histogram
        value: '{{.secs}}'
        buckets: [0.1, 1]
      - name: request_seconds_summary
        type: summary
        value: '{{.secs}}'
        objectives: {0.5: 0.05}
      - name: last_seconds
        type: gauge
        value: '{{.secs}}'
  - name: pod
    match: '^pod %{WORD:w}'
    sources: {pod_labels: {app: web}}
    metrics:
      - name: pod_lines_total
        type: counter
        labels:
          ns: '{{.kubernetes.namespace}}'
          pod: '{{.kubernetes.pod}}'
          app: '{{.kubernetes.labels.app}}'
          node: '{{.kubernetes.node}}'
          file: '{{base .logfile}}'
          stream: '{{.stream}}'
  - name: web_only
    match: '^web %{WORD:w}'
    sources: {inputs: [web]}
    max_series: 1
    metrics:
      - name: web_total
        type: counter
        labels: {w: '{{.w}}'}
  - name: val
    match: '^val %{NOTSPACE:v}'
    metrics:
      - name: val
        type: gauge
        value: '{{.v}}'
`

// unitPassing holds tests of unitRules that pass.
const unitPassing = `tests:
  - name: counts and observes
    format: plain
    lines: |
      GET 200 0.05
      GET 200 0.5
      POST 500 2
      hello
    expect: |
      # HELP requests_total Requests.
      # TYPE requests_total counter
      requests_total{status="200",method="GET"} 2
      requests_total{method="POST", status="500"} 1
      request_seconds_bucket{le="0.1"} 1
      request_seconds_bucket{le="1.0"} 2
      request_seconds_bucket{le="+Inf"} 3
      request_seconds_sum 2.55
      request_seconds_count 3
      request_seconds_summary{quantile="0.50"} 0.5
      last_seconds 2
      logmeter_lines_matched_total{rule="req"} 3
      logmeter_lines_matched_total{rule="pod"} 0
    unmatched: 1
  - name: pod metadata from the path and the kubernetes mapping
    path: /var/log/containers/web-1_shop_app-0123456789abcdef.log
    kubernetes: {node: node-1, labels: {app: web}}
    lines: |
      2024-05-01T12:00:00Z stderr F pod x
      {"log":"pod y\n","stream":"stdout","time":"2024-05-01T12:00:01Z"}
    expect: |
      pod_lines_total{app="web",file="web-1_shop_app-0123456789abcdef.log",node="node-1",ns="shop",pod="web-1",stream="stderr"} 1
      pod_lines_total{app="web",file="web-1_shop_app-0123456789abcdef.log",node="node-1",ns="shop",pod="web-1",stream="stdout"} 1
  - name: without the pod label the rule does not apply
    path: /var/log/containers/web-1_shop_app-0123456789abcdef.log
    lines: ["pod x"]
    absent: [pod_lines_total]
    unmatched: 1
  - name: input and max_series
    input: web
    lines: |
      web a
      web b
      web a
    expect: |
      web_total{w="a"} 2
      logmeter_series_dropped_total{metric="web_total"} 1
      logmeter_lines_read_total{input="web"} 3
  - name: other inputs do not see the web rule
    input: db
    lines: "web a\n"
    unmatched: 1
    absent: [web_total]
  - name: values that are no numbers
    format: plain
    lines: |
      val 1.5
      val x
    expect: |
      val 1.5
      logmeter_value_errors_total{metric="val"} 1
`

func TestRuleTestFiles(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string // besides r.yaml, which holds unitRules
		args   []string          // after "test"
		code   int
		stdout []string
		stderr []string
	}{
		{
			name:  "all pass",
			files: map[string]string{"r_test.yaml": unitPassing},
			args:  []string{"r_test.yaml"},
			stdout: []string{
				"PASS r_test.yaml: counts and observes",
				"PASS r_test.yaml: pod metadata from the path and the kubernetes mapping",
				"PASS r_test.yaml: without the pod label the rule does not apply",
				"PASS r_test.yaml: input and max_series",
				"PASS r_test.yaml: other inputs do not see the web rule",
				"PASS r_test.yaml: values that are no numbers",
				"6 passed, 0 failed",
			},
		},
		{
			name: "failures show a diff",
			files: map[string]string{"r_test.yaml": `tests:
  - name: wrong value, missing and extra series
    format: plain
    lines: |
      GET 200 0.05
      POST 500 2
    expect: |
      requests_total{method="GET",status="200"} 2
      requests_total{method="PUT",status="200"} 1
      request_seconds_count 2
  - name: histogram buckets and unmatched lines
    format: plain
    lines: |
      GET 200 0.05
      nothing
    expect: |
      request_seconds_bucket{le="0.1"} 0
      request_seconds_bucket{le="1"} 1
      request_seconds_bucket{le="+Inf"} 1
    unmatched: 0
  - name: absent and self-metrics
    input: web
    lines: |
      web a
      web b
    absent: [web_total]
    expect: |
      logmeter_series_dropped_total{metric="web_total"} 0
      logmeter_lines_matched_total{rule="web_only"} 3
  - name: this one passes
    lines: "GET 200 1\n"
    expect: "requests_total{method=\"GET\",status=\"200\"} 1"
`},
			args: []string{"r_test.yaml"},
			code: 1,
			stdout: []string{
				"FAIL r_test.yaml: wrong value, missing and extra series",
				`    - requests_total{method="GET",status="200"} 2`,
				`    + requests_total{method="GET",status="200"} 1`,
				`    + requests_total{method="POST",status="500"} 1`,
				`    - requests_total{method="PUT",status="200"} 1`,
				"FAIL r_test.yaml: histogram buckets and unmatched lines",
				`    - request_seconds_bucket{le="0.1"} 0`,
				`    + request_seconds_bucket{le="0.1"} 1`,
				"    unmatched lines: expected 0, got 1",
				"FAIL r_test.yaml: absent and self-metrics",
				`    - logmeter_lines_matched_total{rule="web_only"} 3`,
				`    + logmeter_lines_matched_total{rule="web_only"} 2`,
				`    - logmeter_series_dropped_total{metric="web_total"} 0`,
				`    + logmeter_series_dropped_total{metric="web_total"} 1`,
				`    + web_total{w="a"} 1`,
				"PASS r_test.yaml: this one passes",
				"1 passed, 3 failed",
			},
		},
		{
			name: "rules named relative to the test file, globs skip test files",
			files: map[string]string{
				"tests/all_test.yaml": "rules: ['../*.yaml']\ntests:\n  - {name: a, lines: 'GET 200 1', expect: 'requests_total{method=\"GET\",status=\"200\"} 1'}\n",
				"tests/r_test.yaml":   "tests: []\n", // not a rule file: skipped by the glob above
			},
			args:   []string{"tests/all_test.yaml"},
			stdout: []string{"PASS tests/all_test.yaml: a", "1 passed, 0 failed"},
		},
		{
			name: "several files",
			files: map[string]string{
				"r_test.yaml":     "tests:\n  - {name: a, lines: 'GET 200 1', unmatched: 0}\n",
				"other_test.yaml": "rules: [r.yaml]\ntests:\n  - {name: b, lines: 'x', unmatched: 0}\n",
			},
			args:   []string{"r_test.yaml", "other_test.yaml"},
			code:   1,
			stdout: []string{"PASS r_test.yaml: a", "FAIL other_test.yaml: b", "    unmatched lines: expected 0, got 1", "1 passed, 1 failed"},
		},
		{
			name: "a broken test file",
			files: map[string]string{
				"r_test.yaml":   "tests:\n  - name: a\n    lines: x\n    expect: |\n      requests_total{method=GET} 1\n",
				"ok_test.yaml":  "rules: [r.yaml]\ntests:\n  - {name: ok, lines: 'x', unmatched: 1}\n",
				"bad2_test.yml": "tests:\n  - {name: a, lines: x}\n",
			},
			args:   []string{"r_test.yaml", "ok_test.yaml", "bad2_test.yml"},
			code:   1,
			stdout: []string{"PASS ok_test.yaml: ok", "1 passed, 0 failed, 2 test file(s) with problems"},
			stderr: []string{
				`r_test.yaml:5:29: invalid sample: the value of label "method" must be in double quotes`,
				`bad2_test.yml:1:1: no rule file bad2.yml beside this test file; name the rule files under test with rules: [FILE...]`,
				`bad2_test.yml:2:5: test "a" checks nothing: give expect, absent or unmatched`,
			},
		},
		{
			name: "rule files with problems",
			files: map[string]string{
				"bad.yaml":      "rules:\n  - name: a\n    match: '%{NOPE:x}'\n",
				"bad_test.yaml": "tests:\n  - {name: a, lines: x, unmatched: 1}\n",
			},
			args:   []string{"bad_test.yaml"},
			code:   1,
			stdout: []string{"0 passed, 0 failed, 1 test file(s) with problems"},
			stderr: []string{`bad.yaml:3:13: unknown pattern %{NOPE}`},
		},
		{
			name: "missing rule files",
			files: map[string]string{
				"lonely_test.yaml": "tests:\n  - {name: a, lines: x, unmatched: 1}\n",
				"named_test.yaml":  "rules: [r.yaml, gone.yaml, 'none*.yaml']\ntests:\n  - {name: a, lines: x, unmatched: 1}\n",
			},
			args:   []string{"lonely_test.yaml", "named_test.yaml"},
			code:   1,
			stdout: []string{"0 passed, 0 failed, 2 test file(s) with problems"},
			stderr: []string{
				`lonely_test.yaml:1:1: no rule file lonely.yaml beside this test file; name the rule files under test with rules: [FILE...]`,
				`named_test.yaml:1:17: rule file under test: stat gone.yaml: no such file or directory`,
				`named_test.yaml:1:28: rules "none*.yaml": no rule file matches`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := maps.Clone(tt.files)
			files["r.yaml"] = unitRules
			writeFiles(t, dir, files)
			t.Chdir(dir)
			stdout, stderr, code := runTest(t, append([]string{"test"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if got := lines(stdout); !reflect.DeepEqual(got, tt.stdout) {
				t.Errorf("stdout:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.stdout, "\n     "))
			}
			if got := lines(stderr); !reflect.DeepEqual(got, tt.stderr) {
				t.Errorf("stderr:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.stderr, "\n     "))
			}
		})
	}
}

// TestRuleTestExplain: --explain names each line by its place in the test
// file.
func TestRuleTestExplain(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"r.yaml": unitRules,
		"r_test.yaml": `tests:
  - name: block
    format: plain
    lines: |
      GET 200 1
      GET x
    unmatched: 1
  - name: list
    lines: [GET 200 2, 'val 3']
    unmatched: 0
  - name: folded
    lines: >
      POST 201 1
    unmatched: 0
`,
	})
	t.Chdir(dir)
	stdout, stderr, code := runTest(t, "test", "--explain", "r_test.yaml")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	want := []string{
		`r_test.yaml:5: rule req matched: method="GET" status="200" secs="1"`,
		`r_test.yaml:6: no rule matched; closest is req: it matched "GET ", then expected field "status"`,
		`r_test.yaml:9: rule req matched: method="GET" status="200" secs="2"`,
		`r_test.yaml:9: rule val matched: v="3"`,
		`r_test.yaml: folded: line 1: rule req matched: method="POST" status="201" secs="1"`,
	}
	if got := lines(stderr); !reflect.DeepEqual(got, want) {
		t.Errorf("stderr:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// TestRuleTestUsageErrors: command-line mistakes with test files exit 2
// with one line on stderr.
func TestRuleTestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"r.yaml":      unitRules,
		"r_test.yaml": unitPassing,
		"in.log":      "GET 200 1\n",
	})
	t.Chdir(dir)
	tests := []struct {
		name string
		args []string
		want string // the stderr line, or its start when it ends in "..."
	}{
		{"test file and log file", []string{"test", "r_test.yaml", "in.log"},
			"logmeter: test: r_test.yaml is a test file but in.log is not: run test files and log files in separate calls"},
		{"log file first", []string{"test", "--rules", "r.yaml", "in.log", "r_test.yaml"},
			"logmeter: test: r_test.yaml is a test file but in.log is not: run test files and log files in separate calls"},
		{"rules with a test file", []string{"test", "--rules", "r.yaml", "r_test.yaml"},
			"logmeter: test: --rules cannot be used with test files: they name their rule files, and each test its input and format"},
		{"format and input with a test file", []string{"test", "--format", "cri", "--input", "web", "r_test.yaml"},
			"logmeter: test: --format, --input cannot be used with test files: they name their rule files, and each test its input and format"},
		{"missing test file", []string{"test", "r_test.yaml", "gone_test.yaml"},
			"logmeter: test: reading test file: open gone_test.yaml: ..."},
		{"bad line limit", []string{"test", "--max-line-bytes", "0", "r_test.yaml"},
			"logmeter: test: --max-line-bytes must be positive, not 0"},
		{"test file as rules of test", []string{"test", "--rules", "r_test.yaml", "in.log"},
			`logmeter: rules "r_test.yaml": a file named *_test.yaml holds rule tests, not rules; run it with: logmeter test r_test.yaml`},
		{"test file as rules of check", []string{"check", "--rules", "r_test.yaml"},
			`logmeter: rules "r_test.yaml": a file named *_test.yaml holds rule tests, not rules; run it with: logmeter test r_test.yaml`},
		{"glob of test files only", []string{"check", "--rules", "*_test.yaml"},
			`logmeter: rules "*_test.yaml": no file matches`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runTest(t, tt.args...)
			if code != 2 || stdout != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, stdout)
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

	// A glob over a directory with tests beside the rules loads the rules only.
	stdout, stderr, code := runTest(t, "check", "--rules", "*.yaml")
	if code != 0 || stdout != "1 rule file(s) OK\n" || stderr != "" {
		t.Errorf("check --rules '*.yaml': exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	files, err := expandRulePaths([]string{"*.y*ml", filepath.Join(dir, "r.yaml")})
	if err != nil || !reflect.DeepEqual(files, []string{"r.yaml", filepath.Join(dir, "r.yaml")}) {
		t.Errorf("expandRulePaths = %q, %v", files, err)
	}
}

// TestShippedRuleTests runs every rules/*_test.yaml: all tests pass, every
// shipped rule file has tests, and the tests make every rule match and
// every metric of the file produce a series.
func TestShippedRuleTests(t *testing.T) {
	root := filepath.Join("..", "..")
	testFiles, err := filepath.Glob(filepath.Join(root, "rules", "*_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ruleFiles, err := globRuleFiles(filepath.Join(root, "rules", "*.yaml"))
	if err != nil || len(ruleFiles) == 0 {
		t.Fatalf("no shipped rules: %v", err)
	}
	for _, rf := range ruleFiles {
		tf := strings.TrimSuffix(rf, ".yaml") + "_test.yaml"
		if !slices.Contains(testFiles, tf) {
			t.Errorf("%s has no tests: write %s", rf, tf)
		}
	}

	stdout, stderr, code := runTest(t, append([]string{"test"}, testFiles...)...)
	if code != 0 || stderr != "" {
		t.Errorf("exit %d, stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	for _, l := range lines(stdout) {
		if !strings.HasPrefix(l, "PASS ") && !strings.HasSuffix(l, " passed, 0 failed") {
			t.Errorf("unexpected output line %q", l)
		}
	}

	for _, path := range testFiles {
		t.Run(filepath.Base(path), func(t *testing.T) {
			tf, err := config.LoadRuleTestFile(path)
			if err != nil {
				t.Fatal(err)
			}
			paths, ps := ruleFilesUnderTest(tf)
			if len(ps) > 0 {
				t.Fatal(ps)
			}
			matched, produced := map[string]bool{}, map[string]bool{}
			rt := &ruleTester{maxLine: 1 << 20, stdout: io.Discard, stderr: io.Discard}
			for i := range tf.Tests {
				_, got, err := rt.runTest(paths, tf.Path, &tf.Tests[i])
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range got {
					if s.Value == 0 {
						continue
					}
					if s.Name == "logmeter_lines_matched_total" {
						matched[s.Labels[0].Value] = true
					} else if !strings.HasPrefix(s.Name, "logmeter_") {
						produced[s.family] = true
					}
				}
			}
			for _, p := range paths {
				rf, err := config.LoadRuleFile(p)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rf.Rules {
					if !matched[r.Name.Value] {
						t.Errorf("no test line matches rule %s of %s", r.Name.Value, p)
					}
					for _, m := range r.Metrics {
						if !produced[m.Name.Value] {
							t.Errorf("no test gives metric %s of %s a non-zero sample", m.Name.Value, p)
						}
					}
				}
			}
		})
	}
}

// TestRuleTestFileSkippedByGlobs: rule globs, also those the daemon
// watches for reloads, leave test files out.
func TestRuleTestFileSkippedByGlobs(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.yaml": "", "a_test.yaml": "", "b_test.yml": "", "c.yml": ""})
	got, err := globRuleFiles(filepath.Join(dir, "*"))
	if want := []string{filepath.Join(dir, "a.yaml"), filepath.Join(dir, "c.yml")}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("globRuleFiles = %q, %v; want %q", got, err, want)
	}
}
