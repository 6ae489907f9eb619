package main

import (
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// reqRules counts "METHOD STATUS BYTES" lines.
const reqRules = `rules:
  - name: req
    match: '%{WORD:method} %{INT:status} %{NUMBER:bytes}'
    metrics:
      - name: requests_total
        type: counter
        help: Requests.
        labels: {method: '{{.method}}', status: '{{.status}}'}
      - name: bytes_total
        type: counter
        value: '{{.bytes}}'
`

// compared lists the self-metric families the format tests compare exactly
// (a missing sample means 0 was expected); the rule metrics are compared
// too. logmeter_lines_unmatched_total is left out: see TestTestUnmatched.
var compared = []string{
	"logmeter_lines_read_total",
	"logmeter_lines_matched_total",
	"logmeter_decode_errors_total",
	"logmeter_value_errors_total",
	"logmeter_series_dropped_total",
}

// pick keeps the rule metrics and the compared self-metric families,
// leaving out zero self-metric samples.
func pick(all map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for name, v := range all {
		if !strings.HasPrefix(name, "logmeter_") {
			// A counter without labels is exposed at 0 before its first
			// update; like the self-metrics, a missing sample means 0.
			if v != 0 {
				out[name] = v
			}
			continue
		}
		family, _, _ := strings.Cut(name, "{")
		if slices.Contains(compared, family) && v != 0 {
			out[name] = v
		}
	}
	return out
}

// diffSamples reports the differences between two sample maps.
func diffSamples(t *testing.T, got, want map[string]float64) {
	t.Helper()
	names := slices.Sorted(maps.Keys(want))
	for _, n := range names {
		g, ok := got[n]
		switch {
		case !ok:
			t.Errorf("missing sample %s (want %v)", n, want[n])
		case g != want[n]:
			t.Errorf("%s = %v, want %v", n, g, want[n])
		}
	}
	for _, n := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[n]; !ok {
			t.Errorf("unexpected sample %s %v", n, got[n])
		}
	}
}

// runTestFiles writes the rule file r.yaml and the log in.log into a
// temporary directory, makes it the working directory and runs
// "logmeter test --rules r.yaml ARGS... in.log".
func runTestFiles(t *testing.T, rules, log string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"r.yaml": rules, "in.log": log})
	t.Chdir(dir)
	args = append([]string{"test", "--rules", "r.yaml"}, args...)
	return runTest(t, append(args, "in.log")...)
}

func TestTestFormats(t *testing.T) {
	tests := []struct {
		name   string
		format string
		maxLen string // --max-line-bytes, when set
		log    string
		want   map[string]float64
	}{
		{
			name:   "plain",
			format: "plain",
			log:    "GET 200 10\nPOST 500 2.5\r\nGET 200 1\nhello\n\nGET 200 4",
			want: map[string]float64{
				`requests_total{method="GET",status="200"}`:  3,
				`requests_total{method="POST",status="500"}`: 1,
				`bytes_total`: 17.5,
				`logmeter_lines_read_total{input="test"}`:  6,
				`logmeter_lines_matched_total{rule="req"}`: 4,
			},
		},
		{
			name:   "plain keeps container framing as text",
			format: "plain",
			log:    "2024-01-02T03:04:05Z stdout F 00 5\n",
			want: map[string]float64{
				`requests_total{method="F",status="00"}`:   1,
				`bytes_total`:                              5,
				`logmeter_lines_read_total{input="test"}`:  1,
				`logmeter_lines_matched_total{rule="req"}`: 1,
			},
		},
		{
			name:   "cri",
			format: "cri",
			log: `2024-01-02T03:04:05.123456789Z stdout F GET 200 10
2024-01-02T03:04:05Z stdout P GET 2
2024-01-02T03:04:06Z stderr F POST 500 1
not a cri line
2024-01-02T03:04:06Z stdout F 00 5
2024-13-02T03:04:05Z stdout F GET 200 1
2024-01-02T03:04:05Z stdin F GET 200 1
2024-01-02T03:04:05Z stdout X GET 200 1
2024-01-02T03:04:07+00:00 stdout F GET 200 100
`,
			want: map[string]float64{
				// GET 200 10; "GET 2"+"00 5" joined across the stderr line
				// and a malformed one; POST 500 1; GET 200 100.
				`requests_total{method="GET",status="200"}`:  3,
				`requests_total{method="POST",status="500"}`: 1,
				`bytes_total`: 116,
				`logmeter_lines_read_total{input="test"}`:                         4,
				`logmeter_lines_matched_total{rule="req"}`:                        4,
				`logmeter_decode_errors_total{input="test",reason="invalid_cri"}`: 4,
			},
		},
		{
			name:   "cri partial lines, the last one unfinished at the end of the file",
			format: "cri",
			log: "2024-01-02T03:04:05Z stdout P GET\n2024-01-02T03:04:05Z stdout P  20\n2024-01-02T03:04:05Z stdout F 0 7\n" +
				"2024-01-02T03:04:05Z stdout P POST 5\n2024-01-02T03:04:05Z stdout P 00 3",
			want: map[string]float64{
				`requests_total{method="GET",status="200"}`:  1,
				`requests_total{method="POST",status="500"}`: 1,
				`bytes_total`: 10,
				`logmeter_lines_read_total{input="test"}`:  2,
				`logmeter_lines_matched_total{rule="req"}`: 2,
			},
		},
		{
			name:   "docker",
			format: "docker",
			log: `{"log":"GET 200 10\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}
{"log":"GET 2","stream":"stdout","time":"2024-01-02T03:04:05Z"}
{"log":"POST 500 1\n","stream":"stderr","time":"2024-01-02T03:04:06Z"}
not json
{"log":"00 5\n","stream":"stdout","time":"2024-01-02T03:04:06Z"}
{"log":"GET 200 1\n","stream":"stdout"
{"log":7,"stream":"stdout","time":"2024-01-02T03:04:05Z"}
{"stream":"stdout","time":"2024-01-02T03:04:05Z"}
{"log":"GET 200 1\n","stream":"stdin","time":"2024-01-02T03:04:05Z"}
{"time":"2024-01-02T03:04:07Z","extra":[1,{"a":null}],"log":"GET 200 \u0031\u0030\u0030\n","stream":"stdout"}
`,
			want: map[string]float64{
				`requests_total{method="GET",status="200"}`:  3,
				`requests_total{method="POST",status="500"}`: 1,
				`bytes_total`: 116,
				`logmeter_lines_read_total{input="test"}`:                            4,
				`logmeter_lines_matched_total{rule="req"}`:                           4,
				`logmeter_decode_errors_total{input="test",reason="invalid_docker"}`: 5,
			},
		},
		{
			name:   "docker line without newline at the end of the file",
			format: "docker",
			log:    `{"log":"GET 200 3","stream":"stdout","time":"2024-01-02T03:04:05Z"}` + "\n",
			want: map[string]float64{
				`requests_total{method="GET",status="200"}`: 1,
				`bytes_total`: 3,
				`logmeter_lines_read_total{input="test"}`:  1,
				`logmeter_lines_matched_total{rule="req"}`: 1,
			},
		},
		{
			name:   "auto, one line of each format",
			format: "auto",
			log: `{"log":"GET 200 1\n","stream":"stdout","time":"2024-01-02T03:04:05Z"}
2024-01-02T03:04:05Z stdout F GET 200 20
GET 200 300
{"log":"POST 5","stream":"stderr","time":"2024-01-02T03:04:05Z"}
{"log":"00 4000\n","stream":"stderr","time":"2024-01-02T03:04:05Z"}
`,
			want: map[string]float64{
				`requests_total{method="GET",status="200"}`:  3,
				`requests_total{method="POST",status="500"}`: 1,
				`bytes_total`: 4321,
				`logmeter_lines_read_total{input="test"}`:  4,
				`logmeter_lines_matched_total{rule="req"}`: 4,
			},
		},
		{
			name: "auto is the default",
			log:  "2024-01-02T03:04:05Z stdout F GET 200 20\n",
			want: map[string]float64{
				`requests_total{method="GET",status="200"}`: 1,
				`bytes_total`: 20,
				`logmeter_lines_read_total{input="test"}`:  1,
				`logmeter_lines_matched_total{rule="req"}`: 1,
			},
		},
		{
			name:   "too long, plain",
			format: "plain",
			maxLen: "10",
			log:    "GET 200 1\nGET 200 123456789\nGET 200 12",
			want: map[string]float64{
				// The long line is cut to "GET 200 12" and still counted.
				`requests_total{method="GET",status="200"}`: 3,
				`bytes_total`: 25,
				`logmeter_lines_read_total{input="test"}`:                      3,
				`logmeter_lines_matched_total{rule="req"}`:                     3,
				`logmeter_decode_errors_total{input="test",reason="too_long"}`: 1,
			},
		},
		{
			name:   "too long, cri, once per logical line",
			format: "cri",
			maxLen: "10",
			log: `2024-01-02T03:04:05Z stdout F GET 200 1
2024-01-02T03:04:05Z stdout F GET 200 123456789
2024-01-02T03:04:05Z stdout P GET 200 1
2024-01-02T03:04:05Z stdout P 23456789
2024-01-02T03:04:05Z stdout F 0
`,
			want: map[string]float64{
				`requests_total{method="GET",status="200"}`: 3,
				`bytes_total`: 25,
				`logmeter_lines_read_total{input="test"}`:                      3,
				`logmeter_lines_matched_total{rule="req"}`:                     3,
				`logmeter_decode_errors_total{input="test",reason="too_long"}`: 2,
			},
		},
		{
			name:   "too long, docker",
			format: "docker",
			maxLen: "10",
			log: `{"log":"GET 200 123456789\n","stream":"stdout","time":"2024-01-02T03:04:05Z"}
{"log":"GET 2","stream":"stdout","time":"2024-01-02T03:04:05Z"}
{"log":"00 34567890123\n","stream":"stdout","time":"2024-01-02T03:04:05Z"}
`,
			want: map[string]float64{
				`requests_total{method="GET",status="200"}`: 2,
				`bytes_total`: 46,
				`logmeter_lines_read_total{input="test"}`:                      2,
				`logmeter_lines_matched_total{rule="req"}`:                     2,
				`logmeter_decode_errors_total{input="test",reason="too_long"}`: 2,
			},
		},
		{
			name:   "empty file",
			format: "auto",
			log:    "",
			want:   map[string]float64{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			if tt.format != "" {
				args = append(args, "--format", tt.format)
			}
			if tt.maxLen != "" {
				args = append(args, "--max-line-bytes", tt.maxLen)
			}
			stdout, stderr, code := runTestFiles(t, reqRules, tt.log, args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
			}
			diffSamples(t, pick(samples(t, stdout, true)), tt.want)
			if got, want := samples(t, stdout, true)[`logmeter_bytes_read_total{input="test"}`], float64(len(tt.log)); got != want {
				t.Errorf("bytes read = %v, want %v", got, want)
			}
		})
	}
}

// TestTestSeveralFiles reads two files in one run: each file has its own
// partial-line state, and the counts add up.
func TestTestSeveralFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"r.yaml": reqRules,
		"a.log":  "2024-01-02T03:04:05Z stdout P GET 200\n",
		"b.log":  "2024-01-02T03:04:05Z stdout F  7\nGET 200 1\n",
	})
	stdout, stderr, code := runTest(t, "test", "--rules", filepath.Join(dir, "r.yaml"), "--format", "cri",
		filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log"))
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
	}
	// a.log's unfinished "GET 200" is flushed at its end: it does not
	// match, and " 7" from b.log is a line of its own.
	diffSamples(t, pick(samples(t, stdout, true)), map[string]float64{
		`logmeter_lines_read_total{input="test"}`:                         2,
		`logmeter_decode_errors_total{input="test",reason="invalid_cri"}`: 1,
	})
}

// TestTestMetricKinds freezes the text output for each metric type and
// action, with a value that does not parse and series refused by
// max_series.
func TestTestMetricKinds(t *testing.T) {
	const rules = `rules:
  - name: job
    match: 'job %{WORD:name} took %{NOTSPACE:secs}s queue %{NOTSPACE:q}'
    max_series: 2
    metrics:
      - name: job_seconds
        type: histogram
        help: Job duration.
        value: '{{.secs}}'
        buckets: [0.5, 1, 5]
      - name: job_seconds_summary
        type: summary
        value: '{{.secs}}'
        objectives: {0.5: 0.05}
      - name: queue_last
        type: gauge
        value: '{{.q}}'
      - name: queue_added
        type: gauge
        action: add
        value: '{{.q}}'
      - name: queue_removed
        type: gauge
        action: sub
        value: '{{.q}}'
      - name: jobs_total
        type: counter
        labels: {name: '{{.name}}'}
      - name: queued_total
        type: counter
        value: '{{.q}}'
`
	const log = `job a took 0.2s queue 3
job b took 2s queue 5
job c took abcs queue 7
job a took 1s queue 1
job d took 7s queue -2
job e took 1e1s queue 0x10
`
	const want = `# HELP job_seconds Job duration.
# TYPE job_seconds histogram
job_seconds_bucket{le="0.5"} 1
job_seconds_bucket{le="1"} 2
job_seconds_bucket{le="5"} 3
job_seconds_bucket{le="+Inf"} 5
job_seconds_sum 20.2
job_seconds_count 5
# HELP job_seconds_summary 
# TYPE job_seconds_summary summary
job_seconds_summary{quantile="0.5"} 2
job_seconds_summary_sum 20.2
job_seconds_summary_count 5
# HELP jobs_total 
# TYPE jobs_total counter
jobs_total{name="a"} 2
jobs_total{name="b"} 1
# HELP queue_added 
# TYPE queue_added gauge
queue_added 14
# HELP queue_last 
# TYPE queue_last gauge
queue_last -2
# HELP queue_removed 
# TYPE queue_removed gauge
queue_removed -14
# HELP queued_total 
# TYPE queued_total counter
queued_total 16
`
	stdout, stderr, code := runTestFiles(t, rules, log, "--format", "plain", "--self-metrics=false")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
	}
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}

	stdout, _, _ = runTestFiles(t, rules, log, "--format", "plain")
	got := map[string]float64{}
	for name, v := range samples(t, stdout, true) {
		if strings.HasPrefix(name, "logmeter_value_errors_total") || strings.HasPrefix(name, "logmeter_series_dropped_total") {
			got[name] = v
		}
	}
	diffSamples(t, got, map[string]float64{
		// "abc" for the histogram and the summary; "0x10" for all gauges
		// and the counter; "-2" for the counter, which cannot go down.
		`logmeter_value_errors_total{metric="job_seconds"}`:         1,
		`logmeter_value_errors_total{metric="job_seconds_summary"}`: 1,
		`logmeter_value_errors_total{metric="queue_last"}`:          1,
		`logmeter_value_errors_total{metric="queue_added"}`:         1,
		`logmeter_value_errors_total{metric="queue_removed"}`:       1,
		`logmeter_value_errors_total{metric="queued_total"}`:        2,
		`logmeter_value_errors_total{metric="jobs_total"}`:          0,
		// c, d and e come after a and b.
		`logmeter_series_dropped_total{metric="jobs_total"}`:          3,
		`logmeter_series_dropped_total{metric="job_seconds"}`:         0,
		`logmeter_series_dropped_total{metric="job_seconds_summary"}`: 0,
		`logmeter_series_dropped_total{metric="queue_last"}`:          0,
		`logmeter_series_dropped_total{metric="queue_added"}`:         0,
		`logmeter_series_dropped_total{metric="queue_removed"}`:       0,
		`logmeter_series_dropped_total{metric="queued_total"}`:        0,
	})
}

// TestTestUnmatched counts lines no rule matched.
func TestTestUnmatched(t *testing.T) {
	stdout, _, code := runTestFiles(t, reqRules, "GET 200 1\nhello\n\n", "--format", "plain")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	total := 0.0
	for name, v := range samples(t, stdout, true) {
		if strings.HasPrefix(name, "logmeter_lines_unmatched_total{") {
			total += v
		}
	}
	if total != 2 {
		t.Errorf("unmatched lines = %v, want 2", total)
	}
	if got := samples(t, stdout, true)[`logmeter_lines_unmatched_total{input="test"}`]; got != 2 {
		t.Errorf(`logmeter_lines_unmatched_total{input="test"} = %v, want 2`, got)
	}

	stdout, _, _ = runTestFiles(t, reqRules, "GET 200 1\nhello\n\n", "--format", "plain", "--input", "web")
	all := samples(t, stdout, true)
	for name, want := range map[string]float64{
		`logmeter_lines_read_total{input="web"}`:      3,
		`logmeter_lines_unmatched_total{input="web"}`: 2,
	} {
		if all[name] != want {
			t.Errorf("%s = %v, want %v", name, all[name], want)
		}
	}
}

// TestTestExplain freezes the --explain lines on stderr: rule and captures
// for a match, else the rule that got furthest, what it matched and what it
// expected next, and decode errors.
func TestTestExplain(t *testing.T) {
	const rules = `rules:
  - name: access
    match: '%{WORD:method} %{URIPATH:path} %{INT:status}( %{INT:bytes})?'
  - name: job
    match: 'job %{WORD:name} done'
  - name: web_only
    match: 'web %{WORD:w}'
    sources: {inputs: [web]}
`
	tests := []struct {
		name   string
		rules  string // default: rules
		args   []string
		log    string
		stderr []string
	}{
		{
			name: "plain",
			args: []string{"--format", "plain"},
			log:  "GET /a 200\njob x done\nGET /a oops\njob 12 failed\n\nzzz\nGET /b 404 \"q\"\n",
			stderr: []string{
				`in.log:1: rule access matched: method="GET" path="/a" status="200"`,
				`in.log:2: rule job matched: name="x"`,
				`in.log:3: no rule matched; closest is access: it matched "GET /a ", then expected field "status"`,
				`in.log:4: no rule matched; closest is job: it matched "job 12", then expected literal " done"`,
				`in.log:5: no rule matched; closest is access: it matched "", then expected field "method"`,
				`in.log:6: no rule matched; closest is access: it matched "zzz", then expected literal " "`,
				`in.log:7: rule access matched: method="GET" path="/b" status="404"`,
			},
		},
		{
			name: "cri with a decode error and a joined line",
			args: []string{"--format", "cri"},
			log:  "2024-01-02T03:04:05Z stdout P GET /a\ngarbage\n2024-01-02T03:04:05Z stdout F  200 5\n",
			stderr: []string{
				`in.log:2: decode error: invalid_cri`,
				`in.log:3: rule access matched: method="GET" path="/a" status="200" bytes="5"`,
			},
		},
		{
			name: "too long",
			args: []string{"--format", "plain", "--max-line-bytes", "12"},
			log:  "GET /a 200 12345\n",
			stderr: []string{
				`in.log:1: decode error: too_long`,
				`in.log:1: rule access matched: method="GET" path="/a" status="200" bytes="1"`,
			},
		},
		{
			name: "input selects rules",
			args: []string{"--format", "plain", "--input", "web"},
			log:  "web a\nGET /a 200\n",
			stderr: []string{
				`in.log:1: rule web_only matched: w="a"`,
				`in.log:2: rule access matched: method="GET" path="/a" status="200"`,
			},
		},
		{
			name:  "no rule applies to the input",
			rules: "rules:\n  - {name: web_only, match: 'web %{WORD:w}', sources: {inputs: [web]}}\n",
			args:  []string{"--format", "plain", "--input", "db"},
			log:   "web a\n",
			stderr: []string{
				`in.log:1: no rule applies`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rules
			if tt.rules != "" {
				r = tt.rules
			}
			_, stderr, code := runTestFiles(t, r, tt.log, append([]string{"--explain", "--self-metrics=false"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got := lines(stderr); !reflect.DeepEqual(got, tt.stderr) {
				t.Errorf("stderr:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.stderr, "\n     "))
			}
		})
	}
}

// TestTestErrors covers command-line mistakes and unreadable input: a
// non-zero exit and one line on stderr.
func TestTestErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"r.yaml": reqRules, "in.log": "GET 200 1\n"})
	rules, log := filepath.Join(dir, "r.yaml"), filepath.Join(dir, "in.log")
	missing := filepath.Join(dir, "missing.log")
	tests := []struct {
		name string
		args []string
		want string // the stderr line, or its start when it ends in "..."
	}{
		{"unknown format", []string{"--rules", rules, "--format", "xml", log},
			`logmeter: test: unknown log format "xml": want auto, plain, cri or docker`},
		{"missing log file", []string{"--rules", rules, missing},
			"logmeter: test: open " + missing + ": ..."},
		{"missing second log file", []string{"--rules", rules, log, missing},
			"logmeter: test: open " + missing + ": ..."},
		{"log file is a directory", []string{"--rules", rules, dir},
			"logmeter: test: " + dir + ": ..."},
		{"missing rule file", []string{"--rules", missing, log},
			"logmeter: reading rule file: open " + missing + ": ..."},
		{"no rule file", []string{log},
			"logmeter: test: no rule file given (use --rules FILE)"},
		{"no log file", []string{"--rules", rules},
			"logmeter: test: no log file given (use - for standard input)"},
		{"unknown flag", []string{"--rules", rules, "--bogus", log}, "logmeter: test: flag provided but not defined: -bogus"},
		{"bad flag value", []string{"--rules", rules, "--max-line-bytes", "many", log}, `logmeter: test: invalid value "many" for flag -max-line-bytes: parse error`},
		{"non-positive line limit", []string{"--rules", rules, "--max-line-bytes", "-5", log}, "logmeter: test: --max-line-bytes must be positive, not -5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runTest(t, append([]string{"test"}, tt.args...)...)
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

	// What can be relied on today for bad flags.
	for _, args := range [][]string{
		{"--rules", rules, "--bogus", log},
		{"--rules", rules, "--max-line-bytes", "many", log},
	} {
		stdout, stderr, code := runTest(t, append([]string{"test"}, args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, strings.TrimLeft(args[2], "-")) {
			t.Errorf("test %q: exit %d, stdout %q, stderr %q; want 2, nothing and a message naming %s",
				args, code, stdout, stderr, args[2])
		}
	}
}

// TestTestRuleProblems: rule files with problems stop "logmeter test" with
// the same lines and exit status as "logmeter check", before reading logs.
func TestTestRuleProblems(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"r.yaml": "rules:\n  - name: a\n    match: 'a %{NOPE}'\n"})
	t.Chdir(dir)
	stdout, stderr, code := runTest(t, "test", "--rules", "r.yaml", "missing.log")
	if code != 1 || stdout != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", code, stdout)
	}
	if want := "r.yaml:3:15: unknown pattern %{NOPE}\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}
