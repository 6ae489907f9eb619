package config

import "testing"

// FuzzParseDaemon: any configuration file is either accepted or refused
// with problems that carry a position; none panics.
func FuzzParseDaemon(f *testing.F) {
	f.Add([]byte(`server: {listen: ":9144", web_config: web.yaml}
inputs:
  - name: containers
    paths: ["/var/log/containers/*.log", "/var/log/**/x.log"]
    exclude: ["*_kube-system_*"]
    format: auto
    start_at: end
    max_line_bytes: 256KiB
    multiline: {start: '^\S', max_lines: 500, timeout: 2s}
rules: ["/etc/logmeter/rules/*.yaml"]
state_dir: ${STATE:-/var/lib/logmeter}
tail: {poll_interval: 250ms, max_open_files: 1024}
kubernetes: {enabled: true, node_name: "${NODE_NAME:?}", events: true}
forward:
  elasticsearch:
    urls: ["http://es:9200"]
    index: "logstash-%{+yyyy.MM.dd}"
    batch: {max_docs: 5000, max_bytes: 5MiB, max_wait: 1s}
    buffer: {max_bytes: 1GiB, when_full: drop_oldest}
`))
	f.Add([]byte("inputs: [{name: a, paths: [x], multiline: {continue: '('}}]\nfoo: 1\n"))
	env := func(name string) (string, bool) {
		if name == "NODE_NAME" {
			return "node-1", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, problems := ParseDaemon("fuzz.yaml", data, env)
		if len(problems) == 0 && cfg == nil {
			t.Fatal("no configuration and no problems")
		}
		for _, p := range problems {
			if p.Error() == "" {
				t.Fatal("a problem without a message")
			}
		}
	})
}

// FuzzParseRuleFile: any rule file is either decoded or refused with
// problems; none panics. (FuzzRuleFile in pkg/metrics goes on to compile.)
func FuzzParseRuleFile(f *testing.F) {
	f.Add([]byte("rules: [{name: r, match: '%{WORD:w}', metrics: [{name: m, type: counter, labels: {w: '{{.w}}'}}]}]\n"))
	f.Add([]byte("patterns: {X: 'a'}\npattern_files: [p]\nrules: []\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rf, problems := ParseRuleFile("fuzz.yaml", data)
		if len(problems) == 0 {
			if rf == nil {
				t.Fatal("no rule file and no problems")
			}
			_ = CheckRuleFiles([]*RuleFile{rf})
		}
	})
}
