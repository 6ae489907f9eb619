package grokexporter

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	lmconfig "github.com/logmeter/logmeter/pkg/config"
	"github.com/logmeter/logmeter/pkg/match"
	"github.com/logmeter/logmeter/pkg/metrics"
)

// writeFiles creates files (path relative to dir -> content) and returns dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// checkRuleFile fails unless logmeter accepts the rule file, the way
// `logmeter check` does: decoding, cross-file checks and compilation.
func checkRuleFile(t *testing.T, path string, data []byte) {
	t.Helper()
	rf, probs := lmconfig.ParseRuleFile(path, data)
	probs = append(probs, lmconfig.CheckRuleFiles([]*lmconfig.RuleFile{rf})...)
	self, err := metrics.NewSelf(prometheus.NewRegistry(), "test", "test")
	if err != nil {
		t.Fatal(err)
	}
	_, built := metrics.Build([]*lmconfig.RuleFile{rf}, match.NewLibrary(), metrics.NewRegistry(self), self)
	probs = append(probs, built...)
	if len(probs) > 0 {
		t.Errorf("logmeter rejects the imported rule file:\n%v\n%s", probs, data)
	}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // config.yml is the configuration
		want  string
	}{
		{
			name: "v2 counter, gauge, patterns_dir and additional_patterns",
			files: map[string]string{
				"patterns/b-numbers": "INT [0-9]+\n# a comment\nNUMBER [0-9]+(?:\\.[0-9]+)?\n",
				"patterns/a-words":   "USER [a-z]+\n",
				"patterns/sub/x":     "IGNORED x\n",
				"config.yml": `global:
  config_version: 2
input:
  type: file
  path: /var/log/example.log
  readall: true
grok:
  patterns_dir: ./patterns
  additional_patterns:
    - 'DURATION %{NUMBER}(?:ms|s)'
    - 'EMPTYISH  \s*'
metrics:
  - type: counter
    name: example_lines_total
    help: Lines by user.
    match: '%{USER:user} %{DURATION:d}'
    labels:
      user: '{{.user}}'
  - type: gauge
    name: example_total_ms
    help: Sum of the durations.
    match: '%{USER:user} %{NUMBER:ms}ms'
    value: '{{.ms}}'
    cumulative: true
server:
  host: 127.0.0.1
  port: 9144
`,
			},
			want: `# Imported from the grok_exporter configuration config.yml (config_version 2)
# by ` + "`logmeter import grok_exporter`" + `. Validate it with ` + "`logmeter check --rules" + `
# FILE` + "`" + `.
#
# input: file /var/log/example.log. The files to read belong in the daemon
# configuration: inputs[].paths, with start_at: beginning for readall: true.
#
# not carried over: the subdirectories sub of pattern directory ./patterns
# (grok_exporter cannot load directories as pattern files).
#
# server (host 127.0.0.1, port 9144): in logmeter the daemon configuration's
# server.listen and server.web_config (TLS) take its place; the path is always
# /metrics.

patterns:
  DURATION: '%{NUMBER}(?:ms|s)'
  EMPTYISH: '\s*'
pattern_files:
  - patterns/a-words
  - patterns/b-numbers
rules:
  - name: example_lines_total
    match: '%{USER:user} %{DURATION:d}'
    metrics:
      - name: example_lines_total
        type: counter
        help: Lines by user.
        labels:
          user: '{{.user}}'

  - name: example_total_ms
    match: '%{USER:user} %{NUMBER:ms}ms'
    metrics:
      - name: example_total_ms
        type: gauge
        help: Sum of the durations.
        value: '{{.ms}}'
        action: add
        # differs: grok_exporter shows this gauge as 0 until the first
        # matching line; logmeter shows it from then on.
`,
		},
		{
			name: "v3 every type, shared match, functions, imports with defaults",
			files: map[string]string{
				"patterns/base":       "INT [0-9]+\nUSER [a-z]+\n",
				"extra.patterns":      "MS %{INT}ms\n",
				"metrics.d/a.yaml":    "- type: histogram\n  name: imported_ms\n  help: Imported.\n  match: '%{USER:user} took %{MS:ms}'\n  value: '{{.ms}}'\n  labels: {user: 'x'}\n- type: summary\n  name: imported_summary\n  help: Imported summary.\n  match: '%{USER:user} took %{MS:ms}'\n  value: '{{.ms}}'\n  quantiles: {0.9: 0.01}\n",
				"metrics.d/b.notyaml": "not matched by the glob",
				"config.yml": `global:
  config_version: 3
input:
  type: file
  paths: [/var/log/a.log, /var/log/b.log]
  line_delimiter: '^\d'
  poll_interval: 5s
imports:
  - type: grok_patterns
    dir: patterns
  - type: grok_patterns
    file: '*.patterns'
  - type: metrics
    file: metrics.d/*.yaml
    defaults:
      retention: 1h
      buckets: [1, 2.5, 10]
      quantiles: {0.5: 0.05}
      labels:
        logfile: '{{base .logfile}}'
        user: 'not used: the metric sets user'
grok_patterns:
  - 'SECONDS %{INT}s'
metrics:
  - type: counter
    name: logins_total
    help: Logins.
    match: '%{USER:user} logged in after %{SECONDS:s}'
    labels:
      user: '{{gsub .user "^adm" "admin-"}}'
      file: '{{.logfile}}'
  - type: counter
    name: login_seconds_total
    help: Seconds to log in.
    match: '%{USER:user} logged in after %{SECONDS:s}'
    value: '{{divide (gsub .s "s$" "") 1}}'
  - type: gauge
    name: last_login_ms
    help: "Last login: in ms"
    match: '%{USER:user} logged in after %{SECONDS:s}'
    value: '{{multiply (gsub .s "s" "") 1000}}'
    cumulative: false
  - type: histogram
    name: login_seconds
    help: Login time.
    match: '%{USER:user} logged in after %{SECONDS:s}'
    value: '{{gsub .s "s" ""}}'
    retention: 2h30m
    labels: {user: '{{.user}}'}
  - type: summary
    name: login_seconds_summary
    help: Login time.
    match: '%{USER:user} logged in after %{SECONDS:s}'
    value: '{{add (gsub .s "s" "") 0}}'
    max_age: 5m
    path: /var/log/a.log
    labels: {user: '{{.user}}', kind: 'x'}
    delete_match: '%{USER:user} deleted'
    delete_labels: {user: '{{.user}}'}
    bogus: 1
`,
			},
			want: `# Imported from the grok_exporter configuration config.yml (config_version 3)
# by ` + "`logmeter import grok_exporter`" + `. Validate it with ` + "`logmeter check --rules" + `
# FILE` + "`" + `.
#
# input: file /var/log/a.log, /var/log/b.log. The files to read belong in the
# daemon configuration: inputs[].paths, and multiline: {start: "^\\d"} for
# line_delimiter. Not carried over: input.poll_interval.

patterns:
  SECONDS: '%{INT}s'
pattern_files:
  - patterns/base
  - extra.patterns
rules:
  - name: logins_total
    match: '%{USER:user} logged in after %{SECONDS:s}'
    metrics:
      - name: logins_total
        type: counter
        help: Logins.
        labels:
          user: '{{gsub .user "^adm" "admin-"}}'
          file: '{{.logfile}}'
      - name: login_seconds_total
        type: counter
        help: Seconds to log in.
        value: '{{divide (gsub .s "s$" "") 1}}'
      - name: last_login_ms
        type: gauge
        help: 'Last login: in ms'
        value: '{{multiply (gsub .s "s" "") 1000}}'
        action: set
        # differs: grok_exporter shows this gauge as 0 until the first
        # matching line; logmeter shows it from then on.

  - name: login_seconds
    match: '%{USER:user} logged in after %{SECONDS:s}'
    expire: 2h30m0s
    metrics:
      - name: login_seconds
        type: histogram
        help: Login time.
        value: '{{gsub .s "s" ""}}'
        labels:
          user: '{{.user}}'

  - name: login_seconds_summary
    match: '%{USER:user} logged in after %{SECONDS:s}'
    # not carried over: path /var/log/a.log: grok_exporter applies these
    # metrics to those log files only. In logmeter, read them as an input of
    # their own and add ` + "`sources: {inputs: [NAME]}`" + ` to this rule.
    metrics:
      - name: login_seconds_summary
        type: summary
        help: Login time.
        value: '{{add (gsub .s "s" "") 0}}'
        objectives: {0.5: 0.05, 0.9: 0.01, 0.99: 0.001}
        labels:
          user: '{{.user}}'
          kind: 'x'
        # not carried over: max_age 5m0s: logmeter's summaries always cover
        # the last 10m0s (in 5 steps).
        # not carried over: delete_match "%{USER:user} deleted", which deletes
        # the series with user="{{.user}}": logmeter does not delete series
        # when a line matches; expire drops series no line has updated for a
        # while.
        # not carried over: "bogus" is not a config_version 3 metric setting;
        # grok_exporter ignores it too.

  - name: imported_ms
    match: '%{USER:user} took %{MS:ms}'
    expire: 1h0m0s
    metrics:
      - name: imported_ms
        type: histogram
        help: Imported.
        value: '{{.ms}}'
        buckets: [1, 2.5, 10]
        labels:
          user: 'x'
          logfile: '{{base .logfile}}'
      - name: imported_summary
        type: summary
        help: Imported summary.
        value: '{{.ms}}'
        objectives: {0.9: 0.01}
        labels:
          logfile: '{{base .logfile}}'
          user: 'not used: the metric sets user'
`,
		},
		{
			name: "stdin, unknown sections and keys, odd names",
			files: map[string]string{
				"config.yml": `global:
  config_version: 3
  retention_check_interval: 10s
grok:
  patterns_dir: ignored-in-v3
metrics:
  - type: counter
    name: 'ns:errors_total'
    help: "Errors # counted"
    match: 'error'
  - type: counter
    name: 'ns:errors_again_total'
    help: 'yes'
    match: "tab\there"
`,
			},
			want: `# Imported from the grok_exporter configuration config.yml (config_version 3)
# by ` + "`logmeter import grok_exporter`" + `. Validate it with ` + "`logmeter check --rules" + `
# FILE` + "`" + `.
#
# not carried over: global.retention_check_interval 10s: logmeter removes
# expired series on its own schedule.
#
# not carried over: "grok" is not a config_version 3 section; grok_exporter
# ignores it too.

rules:
  - name: ns_errors_total
    match: 'error'
    metrics:
      - name: ns:errors_total
        type: counter
        help: 'Errors # counted'

  - name: ns_errors_again_total
    match: "tab\there"
    metrics:
      - name: ns:errors_again_total
        type: counter
        help: 'yes'
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			cfgPath := filepath.Join(dir, "config.yml")
			got, err := Convert(cfgPath, Options{RulesDir: dir})
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("output differs:\n--- got\n%s\n--- want\n%s", got, tt.want)
			}
			checkRuleFile(t, filepath.Join(dir, "imported.yaml"), got)
		})
	}
}

// The output's pattern files are absolute without RulesDir, and relative
// paths resolve against BaseDir when it is given.
func TestConvertPaths(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"conf/config.yml": "global: {config_version: 3}\nimports: [{type: grok_patterns, file: p/*}]\nmetrics: [{type: counter, name: c, help: h, match: x}]\n",
		"conf/p/one":      "ONE 1\n",
		"other/p/two":     "TWO 2\n",
	})
	cfgPath := filepath.Join(dir, "conf", "config.yml")
	got, err := Convert(cfgPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "  - " + filepath.ToSlash(filepath.Join(dir, "conf", "p", "one")) + "\n"
	if !strings.Contains(string(got), want) {
		t.Errorf("want the absolute pattern file path %q in:\n%s", want, got)
	}
	got, err = Convert(cfgPath, Options{BaseDir: filepath.Join(dir, "other"), RulesDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "  - other/p/two\n") {
		t.Errorf("want other/p/two, resolved against BaseDir, in:\n%s", got)
	}
}

func TestConvertErrors(t *testing.T) {
	const v3 = "global:\n  config_version: 3\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string // the error, with DIR for the temporary directory
	}{
		{"bad YAML", map[string]string{"config.yml": v3 + "metrics:\n  - name: x\n    match: 'unterminated\n"},
			"DIR/config.yml:5: invalid YAML: found unexpected end of stream"},
		{"tab indentation", map[string]string{"config.yml": "global:\n\tconfig_version: 3\n"},
			"DIR/config.yml:2: invalid YAML: found character that cannot start any token"},
		{"empty", map[string]string{"config.yml": "# nothing\n"}, "DIR/config.yml:1: the file is empty"},
		{"not a mapping", map[string]string{"config.yml": "- a\n"}, "DIR/config.yml:1:1: a grok_exporter configuration must be a mapping, got a list"},
		{"config version 1", map[string]string{"config.yml": "input: {type: stdin}\nmetrics: []\n"},
			"DIR/config.yml:1:1: global.config_version is missing: this is a config_version 1 file (grok_exporter 0.1.x), which is not supported (supported: 2 and 3)"},
		{"global without version", map[string]string{"config.yml": "global:\n  retention_check_interval: 1s\n"},
			"DIR/config.yml:1:1: global.config_version is missing: this is a config_version 1 file (grok_exporter 0.1.x), which is not supported (supported: 2 and 3)"},
		{"config version 4", map[string]string{"config.yml": "global:\n  config_version: 4\n"},
			"DIR/config.yml:2:19: config_version 4 is not supported (supported: 2 and 3)"},
		{"config version text", map[string]string{"config.yml": "global:\n  config_version: three\n"},
			`DIR/config.yml:2:19: global.config_version must be a whole number, got "three"`},
		{"no metrics", map[string]string{"config.yml": v3 + "metrics: []\n"}, "DIR/config.yml:3:10: no metrics: grok_exporter needs at least one"},
		{"metrics not a list", map[string]string{"config.yml": v3 + "metrics: {type: counter}\n"},
			"DIR/config.yml:3:10: metrics must be a list, got a mapping"},
		{"unknown type", map[string]string{"config.yml": v3 + "metrics:\n  - {type: meter, name: m, match: x}\n"},
			`DIR/config.yml:4:12: unknown metric type "meter" (valid: counter, gauge, histogram, summary)`},
		{"missing match", map[string]string{"config.yml": v3 + "metrics:\n  - {type: counter, name: m}\n"},
			`DIR/config.yml:4:5: metric "m" needs a "match"`},
		{"missing value", map[string]string{"config.yml": v3 + "metrics:\n  - {type: histogram, name: h, match: x}\n"},
			`DIR/config.yml:4:5: histogram "h" needs a "value"`},
		{"v2 counter with value", map[string]string{"config.yml": "global: {config_version: 2}\nmetrics:\n  - {type: counter, name: c, match: x, value: '1'}\n"},
			"DIR/config.yml:3:40: a counter's value needs config_version 3; in config_version 2 a counter counts lines"},
		{"cumulative counter", map[string]string{"config.yml": v3 + "metrics:\n  - {type: counter, name: c, match: x, cumulative: true}\n"},
			"DIR/config.yml:4:40: cumulative is only valid for gauge metrics, not counter"},
		{"bucket not a number", map[string]string{"config.yml": v3 + "metrics:\n  - {type: histogram, name: h, match: x, value: '1', buckets: [1, two]}\n"},
			`DIR/config.yml:4:67: a bucket must be a number, got "two"`},
		{"bad retention", map[string]string{"config.yml": v3 + "metrics:\n  - {type: counter, name: c, match: x, retention: 2 days}\n"},
			`DIR/config.yml:4:51: retention: "2 days" is not a duration such as 90s, 10m or 2h30m`},
		{"labels not a mapping", map[string]string{"config.yml": v3 + "metrics:\n  - {type: counter, name: c, match: x, labels: [a]}\n"},
			"DIR/config.yml:4:48: labels must be a mapping, got a list"},
		{"duplicate metric", map[string]string{"config.yml": v3 + "metrics:\n  - {type: counter, name: c, match: x}\n  - {type: counter, name: c, match: y}\n"},
			`DIR/config.yml:5:5: metric "c" is defined twice (first at DIR/config.yml:4)`},
		{"duplicate metric from an import", map[string]string{
			"config.yml": v3 + "imports: [{type: metrics, file: m.yaml}]\nmetrics:\n  - {type: counter, name: c, match: x}\n",
			"m.yaml":     "- {type: counter, name: c, match: y}\n"},
			`DIR/m.yaml:1:3: metric "c" is defined twice (first at DIR/config.yml:5)`},
		{"bad YAML in an import", map[string]string{
			"config.yml": v3 + "imports: [{type: metrics, dir: m}]\n",
			"m/a.yaml":   "- {type: counter\n"},
			"DIR/m/a.yaml:1: invalid YAML: did not find expected ',' or '}'"},
		{"missing pattern dir", map[string]string{"config.yml": "global: {config_version: 2}\ngrok: {patterns_dir: nowhere}\nmetrics: [{type: counter, name: c, match: x}]\n"},
			"DIR/config.yml:2:22: pattern directory nowhere: no such file or directory"},
		{"pattern glob without files", map[string]string{"config.yml": v3 + "imports: [{type: grok_patterns, file: 'p/*'}]\nmetrics: [{type: counter, name: c, match: x}]\n"},
			"DIR/config.yml:3:39: pattern file p/*: no file matches"},
		{"import type", map[string]string{"config.yml": v3 + "imports: [{type: rules, file: x}]\n"},
			`DIR/config.yml:3:11: imports.type must be grok_patterns or metrics, got "rules"`},
		{"import dir and file", map[string]string{"config.yml": v3 + "imports: [{type: metrics, file: x, dir: y}]\n"},
			"DIR/config.yml:3:11: an imports entry needs either dir or file"},
		{"bad inline pattern", map[string]string{"config.yml": v3 + "grok_patterns: ['NOSPACE']\nmetrics: [{type: counter, name: c, match: x}]\n"},
			`DIR/config.yml:3:17: grok pattern "NOSPACE" must be NAME followed by a regular expression`},
		{"bad pattern name", map[string]string{"config.yml": v3 + "grok_patterns: ['A-B x']\nmetrics: [{type: counter, name: c, match: x}]\n"},
			`DIR/config.yml:3:17: grok pattern "A-B x" must be NAME followed by a regular expression (NAME: letters, digits, _)`},
		{"unknown import default", map[string]string{"config.yml": v3 + "imports: [{type: metrics, file: m.yaml, defaults: {help: x}}]\n", "m.yaml": "[]\n"},
			"DIR/config.yml:3:52: unknown key imports.defaults.help (valid: path, paths, retention, buckets, quantiles, max_age, labels)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			_, err := Convert(filepath.Join(dir, "config.yml"), Options{})
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v (%T), want an *Error", err, err)
			}
			want := strings.ReplaceAll(tt.want, "DIR", dir)
			if err.Error() != want {
				t.Errorf("error\n got %s\nwant %s", err, want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestConvertUnreadable(t *testing.T) {
	_, err := Convert(filepath.Join(t.TempDir(), "missing.yml"), Options{})
	if err == nil || !strings.Contains(err.Error(), "missing.yml") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want a not-exist error naming the file", err)
	}
}

func TestScalar(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Requests by user.", "Requests by user."},
		{"yes", "'yes'"},
		{"Off", "'Off'"},
		{"true", "'true'"},
		{"123", "'123'"},
		{"1.5", "'1.5'"},
		{"null", "'null'"},
		{"~", "'~'"},
		{"a: b", "'a: b'"},
		{"a #b", "'a #b'"},
		{"{x}", "'{x}'"},
		{"- x", "'- x'"},
		{" lead", "' lead'"},
		{"it's", "'it''s'"},
		{"", "''"},
		{"two\nlines", `"two\nlines"`},
		{"ns:metric_total", "ns:metric_total"},
	}
	for _, tt := range tests {
		if got := scalar(tt.in); got != tt.want {
			t.Errorf("scalar(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestFormatFloat(t *testing.T) {
	tests := map[float64]string{0.005: "0.005", 1: "1", 2.5: "2.5", 1e-9: "0.000000001", 1e-20: "1e-20", 1e21: "1e+21", -3: "-3"}
	for in, want := range tests {
		if got := formatFloat(in); got != want {
			t.Errorf("formatFloat(%v) = %s, want %s", in, got, want)
		}
	}
}

func TestRuleName(t *testing.T) {
	taken := map[string]bool{}
	for _, tt := range []struct{ in, want string }{
		{"http_requests_total", "http_requests_total"},
		{"http_requests_total", "http_requests_total_2"},
		{"ns:x", "ns_x"},
		{"9lives", "rule_9lives"},
	} {
		if got := ruleName(tt.in, taken); got != tt.want {
			t.Errorf("ruleName(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
