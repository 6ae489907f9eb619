package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// flatten lists every exported field under v as "path = value" lines,
// Strings as their value and position, so configs compare field by field.
func flatten(prefix string, v reflect.Value, out *[]string) {
	switch {
	case v.Type() == reflect.TypeFor[String]():
		s := v.Interface().(String)
		*out = append(*out, fmt.Sprintf("%s = %q @%s", prefix, s.Value, s.Pos))
	case v.Type() == reflect.TypeFor[Pos]():
		*out = append(*out, fmt.Sprintf("%s = @%s", prefix, v.Interface().(Pos)))
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			*out = append(*out, prefix+" = nil")
			return
		}
		flatten(prefix, v.Elem(), out)
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				flatten(prefix+"."+f.Name, v.Field(i), out)
			}
		}
	case v.Kind() == reflect.Slice:
		*out = append(*out, fmt.Sprintf("%s = [%d]", prefix, v.Len()))
		for i := range v.Len() {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), v.Index(i), out)
		}
	default:
		*out = append(*out, fmt.Sprintf("%s = %v", prefix, v.Interface()))
	}
}

func flat(d *Daemon) []string {
	var out []string
	flatten("", reflect.ValueOf(d), &out)
	return out
}

// diffLines reports lines of got and want that differ, in order.
func diffLines(t *testing.T, got, want []string) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("line %d:\n got  %s\n want %s", i, g, w)
		}
	}
}

// envMap is a lookupEnv over a fixed map.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestParseDaemonFull(t *testing.T) {
	file := filepath.Join("testdata", "daemon", "full.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, probs := ParseDaemon(file, data, envMap(map[string]string{"NODE_NAME": "node-1", "ES_WORKERS": "4"}))
	if len(probs) > 0 {
		t.Fatalf("unexpected problems:\n%v", probs)
	}
	dir := filepath.Join("testdata", "daemon")
	at := func(line, col int) string { return fmt.Sprintf("@%s:%d:%d", file, line, col) }
	want := []string{
		`.Path = ` + file,
		`.Server.Listen = "127.0.0.1:9200" ` + at(3, 11),
		`.Server.WebConfig = "` + filepath.Join(dir, "web.yaml") + `" ` + at(4, 15),
		`.Inputs = [2]`,
		`.Inputs[0].Pos = ` + at(6, 5),
		`.Inputs[0].Name = "containers" ` + at(6, 11),
		`.Inputs[0].Paths = [2]`,
		`.Inputs[0].Paths[0] = "/var/log/containers/*.log" ` + at(7, 13),
		`.Inputs[0].Paths[1] = "` + filepath.Join(dir, "pods/**/*.log") + `" ` + at(7, 42),
		`.Inputs[0].Exclude = [2]`,
		`.Inputs[0].Exclude[0] = "*_kube-system_*" ` + at(8, 15),
		`.Inputs[0].Exclude[1] = "/var/log/containers/skip-*.log" ` + at(8, 34),
		`.Inputs[0].Format = "cri" ` + at(9, 13),
		`.Inputs[0].StartAt = "beginning" ` + at(10, 15),
		`.Inputs[0].MaxLineBytes = 65536`,
		`.Inputs[0].Multiline.Pos = ` + at(13, 7),
		`.Inputs[0].Multiline.Start = "^\\S" ` + at(13, 14),
		`.Inputs[0].Multiline.Continue = "" @`,
		`.Inputs[0].Multiline.MaxLines = 100`,
		`.Inputs[0].Multiline.Timeout = 500ms`,
		`.Inputs[1].Pos = ` + at(16, 5),
		`.Inputs[1].Name = "nginx" ` + at(16, 11),
		`.Inputs[1].Paths = [1]`,
		`.Inputs[1].Paths[0] = "/var/log/nginx/access.log" ` + at(17, 13),
		`.Inputs[1].Exclude = [0]`,
		`.Inputs[1].Format = "plain" ` + at(18, 13),
		`.Inputs[1].StartAt = "end" @`,
		`.Inputs[1].MaxLineBytes = 262144`,
		`.Inputs[1].Multiline.Pos = ` + at(19, 16),
		`.Inputs[1].Multiline.Start = "" @`,
		`.Inputs[1].Multiline.Continue = "^\\s+at " ` + at(19, 27),
		`.Inputs[1].Multiline.MaxLines = 50`,
		`.Inputs[1].Multiline.Timeout = 1s`,
		`.Rules = [2]`,
		`.Rules[0] = "` + filepath.Join(dir, "rules/*.yaml") + `" ` + at(20, 9),
		`.Rules[1] = "/etc/logmeter/extra.yaml" ` + at(20, 25),
		`.StateDir = "` + filepath.Join(dir, "state") + `" ` + at(21, 12),
		`.Tail.PollInterval = 100ms`,
		`.Tail.ScanInterval = 30s`,
		`.Tail.CheckpointInterval = 2s`,
		`.Tail.MaxOpenFiles = 512`,
		`.Tail.ReadChunk = 1048576`,
		`.Kubernetes.Enabled = true`,
		`.Kubernetes.NodeName = "node-1" ` + at(30, 14),
		`.Kubernetes.Kubeconfig = "` + filepath.Join(dir, "kube/config") + `" ` + at(31, 15),
		`.Kubernetes.Events = true`,
		`.Kubernetes.EventsIndex = "events-dev-%{+yyyy.MM}" ` + at(33, 17),
		`.Kubernetes.EventsLeaseNamespace = "" @`,
		`.Kubernetes.EventsLeaseName = "logmeter-events" @`,
		`.Kubernetes.Resync = 10m0s`,
		`.Forward.Elasticsearch.Pos = ` + at(37, 5),
		`.Forward.Elasticsearch.URLs = [2]`,
		`.Forward.Elasticsearch.URLs[0] = "https://es-1:9200" ` + at(37, 12),
		`.Forward.Elasticsearch.URLs[1] = "http://es-2:9200/prefix" ` + at(37, 33),
		`.Forward.Elasticsearch.Index = "logs-app" ` + at(38, 12),
		`.Forward.Elasticsearch.DataStream = true`,
		`.Forward.Elasticsearch.Auth.UsernameFile = "" @`,
		`.Forward.Elasticsearch.Auth.PasswordFile = "" @`,
		`.Forward.Elasticsearch.Auth.APIKeyFile = "/run/secrets/es-api-key" ` + at(41, 21),
		`.Forward.Elasticsearch.Auth.BearerTokenFile = "" @`,
		`.Forward.Elasticsearch.TLS.CAFile = "` + filepath.Join(dir, "certs/ca.pem") + `" ` + at(43, 16),
		`.Forward.Elasticsearch.TLS.CertFile = "` + filepath.Join(dir, "certs/client.pem") + `" ` + at(44, 18),
		`.Forward.Elasticsearch.TLS.KeyFile = "` + filepath.Join(dir, "certs/client-key.pem") + `" ` + at(45, 17),
		`.Forward.Elasticsearch.TLS.InsecureSkipVerify = true`,
		`.Forward.Elasticsearch.TLS.ServerName = "es.internal" ` + at(47, 20),
		`.Forward.Elasticsearch.Batch.MaxDocs = 1000`,
		`.Forward.Elasticsearch.Batch.MaxBytes = 2000000`,
		`.Forward.Elasticsearch.Batch.MaxWait = 250ms`,
		`.Forward.Elasticsearch.Buffer.MaxBytes = 536870912`,
		`.Forward.Elasticsearch.Buffer.WhenFull = "drop_oldest" ` + at(49, 44),
		`.Forward.Elasticsearch.Workers = 4`,
		`.Forward.Elasticsearch.Gzip = false`,
		`.Forward.Elasticsearch.CapturesKey = "logmeter.captures" ` + at(52, 19),
		`.Forward.Elasticsearch.Template.Install = true`,
		`.Forward.Elasticsearch.Template.Name = "logs-app" ` + at(53, 37),
		`.Forward.Elasticsearch.Template.Shards = 3`,
		`.Forward.Elasticsearch.Template.Replicas = 2`,
		`.Forward.Elasticsearch.Timeout = 10s`,
		`.Forward.Elasticsearch.Retry.InitialBackoff = 1s`,
		`.Forward.Elasticsearch.Retry.MaxBackoff = 1m0s`,
	}
	diffLines(t, flat(cfg), want)
}

// minimal is a valid start for problem cases: one input, on line 1.
const minimal = "inputs: [{name: a, paths: [/x]}]\n"

// es is a valid forward section on lines 2-4, for cases that add keys.
const es = minimal + "forward:\n  elasticsearch:\n    urls: [http://es:9200]\n"

func TestParseDaemonProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		// Documents and the top level.
		{"empty file", ``, []string{
			`c.yaml:1:1: config file is empty`}},
		{"null document", "~\n", []string{
			`c.yaml:1:1: config file is empty`}},
		{"syntax error", "inputs:\n  - name: a\n - paths: b\n", []string{
			`c.yaml:2:1: invalid YAML: did not find expected key`}},
		{"two documents", minimal + "---\n" + minimal, []string{
			`c.yaml:2:1: a config file must hold one YAML document; remove this second one`}},
		{"top level list", "- a\n", []string{
			`c.yaml:1:1: a config file must be a mapping, got a list`}},
		{"unknown top key", minimal + "input: []\n", []string{
			`c.yaml:2:1: unknown key "input" at top level (valid: server, inputs, rules, state_dir, tail, kubernetes, forward)`}},
		{"duplicate top key", minimal + "tail: {}\ntail: {}\n", []string{
			`c.yaml:3:1: duplicate key "tail" at top level (first defined at c.yaml:2:1)`}},
		{"no inputs", "state_dir: /s\n", []string{
			`c.yaml:1:1: config has no inputs: add at least one under "inputs"`}},
		{"empty inputs", "inputs: []\n", []string{
			`c.yaml:1:9: inputs must not be empty: logmeter would read nothing`}},
		{"null inputs", "inputs:\nstate_dir: /s\n", []string{
			`c.yaml:1:1: config has no inputs: add at least one under "inputs"`}},
		{"state_dir", minimal + "state_dir: ''\n", []string{
			`c.yaml:2:12: state_dir must not be empty`}},

		// server.
		{"server not a mapping", minimal + "server: :9144\n", []string{
			`c.yaml:2:9: server must be a mapping, got ":9144"`}},
		{"unknown server key", minimal + "server: {address: ':1'}\n", []string{
			`c.yaml:2:10: unknown key "address" in server (valid: listen, web_config)`}},
		{"bad listen", minimal + "server: {listen: '9144'}\n---\n", []string{
			`c.yaml:2:18: invalid server.listen "9144": want host:port, such as ":9144" or "127.0.0.1:9144"`,
			`c.yaml:3:1: a config file must hold one YAML document; remove this second one`}},
		{"bad listen port", minimal + "server: {listen: ':99999'}\n", []string{
			`c.yaml:2:18: invalid server.listen ":99999": want host:port, such as ":9144" or "127.0.0.1:9144"`}},
		{"web_config not a string", minimal + "server: {web_config: [a]}\n", []string{
			`c.yaml:2:22: server.web_config must be a string, got a list`}},

		// inputs.
		{"inputs not a list", "inputs: {name: a}\n", []string{
			`c.yaml:1:9: inputs must be a list, got a mapping`}},
		{"input not a mapping", "inputs: [a]\n", []string{
			`c.yaml:1:10: an input must be a mapping, got "a"`}},
		{"unknown input key", "inputs:\n  - name: a\n    paths: [/x]\n    path: /y\n", []string{
			`c.yaml:4:5: unknown key "path" in input (valid: name, paths, exclude, format, start_at, max_line_bytes, multiline)`}},
		{"missing name and paths", "inputs:\n  - format: cri\n", []string{
			`c.yaml:2:5: input is missing required key "name"`,
			`c.yaml:2:5: input is missing required key "paths"`}},
		{"missing paths", "inputs:\n  - name: a\n", []string{
			`c.yaml:2:5: input "a" is missing required key "paths"`}},
		{"bad input names", "inputs:\n  - {name: 9a, paths: [/x]}\n  - {name: 'a b', paths: [/x]}\n  - {name: [a], paths: [/x]}\n", []string{
			`c.yaml:2:12: invalid input name "9a": must match ^[a-zA-Z_][a-zA-Z0-9_.-]*$`,
			`c.yaml:3:12: invalid input name "a b": must match ^[a-zA-Z_][a-zA-Z0-9_.-]*$`,
			`c.yaml:4:12: name must be a string, got a list`}},
		{"duplicate input name", "inputs:\n  - {name: a, paths: [/x]}\n  - {name: b, paths: [/x]}\n  - {name: a, paths: [/y]}\n", []string{
			`c.yaml:4:12: duplicate input name "a" (first defined at c.yaml:2:12)`}},
		{"bad paths", "inputs:\n  - {name: a, paths: []}\n  - {name: b, paths: /x}\n  - {name: c, paths: ['', '/x/[', '/x/**.log', ~]}\n", []string{
			`c.yaml:2:22: paths must not be empty`,
			`c.yaml:3:22: paths must be a list, got "/x"`,
			`c.yaml:4:23: an entry of paths must not be empty`,
			`c.yaml:4:27: invalid glob "/x/[": syntax error in pattern`,
			`c.yaml:4:35: invalid glob "/x/**.log": ** must be a whole path element, as in /var/log/**/*.log`,
			`c.yaml:4:48: an entry of paths must be a string, got null`}},
		{"bad exclude", "inputs:\n  - {name: a, paths: [/x], exclude: ['[', {a: b}]}\n", []string{
			`c.yaml:2:38: invalid glob "[": syntax error in pattern`,
			`c.yaml:2:43: an entry of exclude must be a string, got a mapping`}},
		{"bad enums", "inputs:\n  - {name: a, paths: [/x], format: json, start_at: 0}\n", []string{
			`c.yaml:2:36: unknown format "json" (valid: auto, plain, cri, docker)`,
			`c.yaml:2:52: unknown start_at "0" (valid: end, beginning)`}},
		{"bad max_line_bytes", "inputs:\n  - {name: a, paths: [/x], max_line_bytes: 64k}\n  - {name: b, paths: [/x], max_line_bytes: 0}\n  - {name: c, paths: [/x], max_line_bytes: 2GiB}\n  - {name: d, paths: [/x], max_line_bytes: -1}\n", []string{
			`c.yaml:2:44: invalid max_line_bytes "64k": ambiguous unit "k": write KB for powers of 1000 or KiB for powers of 1024`,
			`c.yaml:3:44: max_line_bytes must be greater than 0`,
			`c.yaml:4:44: max_line_bytes must be at most 1GiB, got "2GiB"`,
			`c.yaml:5:44: invalid max_line_bytes "-1": a size must not be negative`}},

		// multiline.
		{"multiline not a mapping", "inputs:\n  - {name: a, paths: [/x], multiline: '^\\S'}\n", []string{
			`c.yaml:2:39: multiline must be a mapping, got "^\\S"`}},
		{"multiline without regexp", "inputs:\n  - {name: a, paths: [/x], multiline: {max_lines: 5}}\n", []string{
			`c.yaml:2:39: multiline needs "start" or "continue"`}},
		{"multiline with both", "inputs:\n  - name: a\n    paths: [/x]\n    multiline:\n      continue: '^ '\n      start: '^\\S'\n", []string{
			`c.yaml:6:7: multiline takes "start" or "continue", not both`}},
		{"multiline bad values", "inputs:\n  - name: a\n    paths: [/x]\n    multiline: {start: '(a', max_lines: 0, timeout: 0s, match: x}\n", []string{
			`c.yaml:4:24: invalid multiline.start "(a": missing closing ): ` + "`(a`",
			`c.yaml:4:41: multiline.max_lines must be at least 1, got 0`,
			`c.yaml:4:53: multiline.timeout must be greater than 0, got "0s"`,
			`c.yaml:4:57: unknown key "match" in multiline (valid: start, continue, max_lines, timeout)`}},
		{"multiline empty continue", "inputs:\n  - {name: a, paths: [/x], multiline: {continue: ''}}\n", []string{
			`c.yaml:2:50: multiline.continue must not be empty`}},

		// rules.
		{"rules not a list", minimal + "rules: r.yaml\n", []string{
			`c.yaml:2:8: rules must be a list, got "r.yaml"`}},
		{"bad rules entries", minimal + "rules: ['', 'r/[.yaml', 3]\n", []string{
			`c.yaml:2:9: an entry of rules must not be empty`,
			`c.yaml:2:13: invalid glob "r/[.yaml": syntax error in pattern`}},

		// tail.
		{"unknown tail key", minimal + "tail: {poll: 1s}\n", []string{
			`c.yaml:2:8: unknown key "poll" in tail (valid: poll_interval, scan_interval, checkpoint_interval, max_open_files, read_chunk)`}},
		{"bad tail values", minimal + "tail:\n  poll_interval: 250\n  scan_interval: -1s\n  checkpoint_interval: 0\n  max_open_files: 1.5\n  read_chunk: lots\n", []string{
			`c.yaml:3:18: invalid tail.poll_interval "250": want a duration such as 500ms, 10s or 5m`,
			`c.yaml:4:18: tail.scan_interval must not be negative, got "-1s"`,
			`c.yaml:5:24: tail.checkpoint_interval must be greater than 0, got "0"`,
			`c.yaml:6:19: tail.max_open_files must be a whole number, got 1.5`,
			`c.yaml:7:15: invalid tail.read_chunk "lots": want a number of bytes with an optional unit, such as 65536, 256KiB, 5MiB, 1GiB or 10MB`}},
		{"tail max_open_files range", minimal + "tail: {max_open_files: 0}\n", []string{
			`c.yaml:2:24: tail.max_open_files must be at least 1, got 0`}},

		// kubernetes.
		{"unknown kubernetes key", minimal + "kubernetes: {node: n}\n", []string{
			`c.yaml:2:14: unknown key "node" in kubernetes (valid: enabled, node_name, kubeconfig, events, events_index, events_lease_namespace, events_lease_name, resync)`}},
		{"enabled without node_name", minimal + "kubernetes: {enabled: true}\n", []string{
			`c.yaml:2:14: kubernetes.enabled needs kubernetes.node_name (usually "${NODE_NAME}", set from the downward API)`}},
		{"enabled with empty node_name", minimal + "kubernetes: {enabled: true, node_name: ''}\n", []string{
			`c.yaml:2:40: kubernetes.node_name must not be empty when kubernetes.enabled is true`}},
		{"enabled not a bool", minimal + "kubernetes: {enabled: yes}\n", []string{
			`c.yaml:2:23: kubernetes.enabled must be true or false, got "yes"`}},
		{"events without forward", minimal + "kubernetes: {events: true}\n", []string{
			`c.yaml:2:22: kubernetes.events needs forward.elasticsearch, where the events are sent`}},
		{"events input name taken", "inputs: [{name: kubernetes-events, paths: [/a]}]\nkubernetes: {events: true}\nforward: {elasticsearch: {urls: ['http://es']}}\n", []string{
			`c.yaml:1:17: input name "kubernetes-events" is reserved for kubernetes.events`}},
		{"events alone need no inputs", "kubernetes: {events: true}\nforward: {elasticsearch: {urls: ['http://es']}}\n", nil},
		{"bad events_index", minimal + "kubernetes: {events_index: 'Events-%{+yyyy}', resync: -1m}\n", []string{
			`c.yaml:2:28: invalid kubernetes.events_index "Events-%{+yyyy}": must be lower case`,
			`c.yaml:2:55: kubernetes.resync must not be negative, got "-1m"`}},

		// forward.
		{"unknown forward key", minimal + "forward: {loki: {}}\n", []string{
			`c.yaml:2:11: unknown key "loki" in forward (valid: elasticsearch)`}},
		{"elasticsearch without urls", minimal + "forward: {elasticsearch: {index: x}}\n", []string{
			`c.yaml:2:26: forward.elasticsearch is missing required key "urls"`}},
		{"unknown elasticsearch key", es + "    url: http://x\n", []string{
			`c.yaml:5:5: unknown key "url" in forward.elasticsearch (valid: urls, index, data_stream, auth, tls, batch, buffer, workers, gzip, captures_key, template, timeout, retry)`}},
		{"bad urls", minimal + "forward:\n  elasticsearch:\n    urls: ['es:9200', 'ftp://es', 'http://', 'http://u:hunter2@es', 'http://es/?x=1', 'http://es:x', '']\n", []string{
			`c.yaml:4:12: URL "es:9200" must start with http:// or https://`,
			`c.yaml:4:23: URL "ftp://es" must start with http:// or https://`,
			`c.yaml:4:35: URL "http://" has no host`,
			`c.yaml:4:46: an entry of forward.elasticsearch.urls must not hold credentials: use forward.elasticsearch.auth.username_file and password_file`,
			`c.yaml:4:69: URL "http://es/?x=1" must not have a query or fragment`,
			`c.yaml:4:87: invalid URL "http://es:x": invalid port ":x" after host`,
			`c.yaml:4:102: an entry of forward.elasticsearch.urls must not be empty`}},
		{"empty urls", minimal + "forward: {elasticsearch: {urls: []}}\n", []string{
			`c.yaml:2:33: forward.elasticsearch.urls must not be empty`}},
		{"bad index", es + "    index: 'logs-%{host}'\n", []string{
			`c.yaml:5:12: invalid forward.elasticsearch.index "logs-%{host}": unsupported %{host}: only dates such as %{+yyyy.MM.dd} are supported`}},
		{"bad index date", es + "    index: 'logs-%{+yyyy/MM}'\n", []string{
			`c.yaml:5:12: invalid forward.elasticsearch.index "logs-%{+yyyy/MM}": unsupported character '/' in date format %{+yyyy/MM} (valid: y Y x M w d D H h m s . - _)`}},
		{"bad index chars", es + "    index: '_logs'\n  x: 1\n", []string{
			`c.yaml:5:12: invalid forward.elasticsearch.index "_logs": must not start with '_'`,
			`c.yaml:6:3: unknown key "x" in forward (valid: elasticsearch)`}},
		{"unterminated index date", es + "    index: 'logs-%{+yyyy'\n", []string{
			`c.yaml:5:12: invalid forward.elasticsearch.index "logs-%{+yyyy": unterminated %{`}},
		{"auth: basic half", es + "    auth: {username_file: u}\n", []string{
			`c.yaml:5:12: forward.elasticsearch.auth.username_file needs forward.elasticsearch.auth.password_file`}},
		{"auth: password only", es + "    auth: {password_file: p}\n", []string{
			`c.yaml:5:12: forward.elasticsearch.auth.password_file needs forward.elasticsearch.auth.username_file`}},
		{"auth: two schemes", es + "    auth: {bearer_token_file: t, password_file: p, username_file: u, api_key_file: k}\n", []string{
			`c.yaml:5:34: forward.elasticsearch.auth.username_file/password_file cannot be combined with forward.elasticsearch.auth.bearer_token_file: use one of basic auth (username_file and password_file), api_key_file or bearer_token_file`,
			`c.yaml:5:70: forward.elasticsearch.auth.api_key_file cannot be combined with forward.elasticsearch.auth.bearer_token_file: use one of basic auth (username_file and password_file), api_key_file or bearer_token_file`}},
		{"auth: empty files are unset", es + "    auth: {username_file: '', api_key_file: k}\n", nil},
		{"unknown auth key", es + "    auth: {password: p}\n", []string{
			`c.yaml:5:12: unknown key "password" in forward.elasticsearch.auth (valid: username_file, password_file, api_key_file, bearer_token_file)`}},
		{"tls: cert without key", es + "    tls: {cert_file: c, insecure_skip_verify: 1}\n", []string{
			`c.yaml:5:11: forward.elasticsearch.tls.cert_file needs forward.elasticsearch.tls.key_file`,
			`c.yaml:5:47: forward.elasticsearch.tls.insecure_skip_verify must be true or false, got 1`}},
		{"tls: key without cert", es + "    tls: {key_file: k}\n", []string{
			`c.yaml:5:11: forward.elasticsearch.tls.key_file needs forward.elasticsearch.tls.cert_file`}},
		{"bad batch", es + "    batch: {max_docs: 0, max_bytes: 0, max_wait: 1}\n", []string{
			`c.yaml:5:23: forward.elasticsearch.batch.max_docs must be at least 1, got 0`,
			`c.yaml:5:37: forward.elasticsearch.batch.max_bytes must be greater than 0`,
			`c.yaml:5:50: invalid forward.elasticsearch.batch.max_wait "1": want a duration such as 500ms, 10s or 5m`}},
		{"buffer smaller than batch", es + "    batch: {max_bytes: 8MiB}\n    buffer: {max_bytes: 4MiB, when_full: drop}\n", []string{
			`c.yaml:6:25: forward.elasticsearch.buffer.max_bytes (4MiB) must be at least batch.max_bytes (8MiB)`,
			`c.yaml:6:42: unknown forward.elasticsearch.buffer.when_full "drop" (valid: block, drop_oldest)`}},
		{"batch larger than default buffer", es + "    batch: {max_bytes: 1GB}\n    buffer: {when_full: block}\n", nil},
		{"batch larger than small buffer", es + "    buffer: {max_bytes: 1MB}\n", []string{
			`c.yaml:5:25: forward.elasticsearch.buffer.max_bytes (1000000B) must be at least batch.max_bytes (5MiB)`}},
		{"bad scalars", es + "    workers: 0\n    gzip: 'true'\n    timeout: 0s\n    data_stream: ~\n", []string{
			`c.yaml:5:14: forward.elasticsearch.workers must be at least 1, got 0`,
			`c.yaml:6:11: forward.elasticsearch.gzip must be true or false, got "true"`,
			`c.yaml:7:14: forward.elasticsearch.timeout must be greater than 0, got "0s"`}},
		{"bad captures_key", es + "    captures_key: message\n", []string{
			`c.yaml:5:19: invalid forward.elasticsearch.captures_key "message": "message" is a field of every document (@timestamp, message, stream, log, kubernetes, host)`}},
		{"bad captures_key dots", es + "    captures_key: a..b\n", []string{
			`c.yaml:5:19: invalid forward.elasticsearch.captures_key "a..b": must not have empty parts between dots`}},
		{"bad template", es + "    template: {install: true, name: Logs, shards: 0, replicas: -1, mappings: {}}\n", []string{
			`c.yaml:5:37: invalid forward.elasticsearch.template.name "Logs": must be lower case`,
			`c.yaml:5:51: forward.elasticsearch.template.shards must be at least 1, got 0`,
			`c.yaml:5:64: forward.elasticsearch.template.replicas must be at least 0, got -1`,
			`c.yaml:5:68: unknown key "mappings" in forward.elasticsearch.template (valid: install, name, shards, replicas)`}},
		{"retry backwards", es + "    retry: {initial_backoff: 1m, max_backoff: 10s}\n", []string{
			`c.yaml:5:47: forward.elasticsearch.retry.max_backoff (10s) must be at least retry.initial_backoff (1m0s)`}},
		{"retry max below default initial", es + "    retry: {max_backoff: 100ms}\n", []string{
			`c.yaml:5:26: forward.elasticsearch.retry.max_backoff (100ms) must be at least retry.initial_backoff (500ms)`}},

		// Aliases are followed, merge keys refused.
		{"alias", "x: &p [/x]\ninputs: [{name: a, paths: *p}]\n", []string{
			`c.yaml:1:1: unknown key "x" at top level (valid: server, inputs, rules, state_dir, tail, kubernetes, forward)`}},
		{"merge key", minimal + "tail:\n  <<: {max_open_files: 3}\n", []string{
			`c.yaml:3:3: merge keys (<<) are not supported in tail`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := ParseDaemon("c.yaml", []byte(tt.yaml), envMap(nil))
			diffLines(t, problemStrings(probs), tt.want)
		})
	}
}

func TestParseDaemonEnv(t *testing.T) {
	const secret = "Hunter2-s3cret"
	env := envMap(map[string]string{
		"SECRET": secret, "NUM": "7", "NO": "false", "EMPTY": "", "DIR": "/logs", "NULL": "null",
	})
	tests := []struct {
		name  string
		yaml  string
		want  []string // problems
		check func(t *testing.T, cfg *Daemon)
	}{
		{"values and defaults", "inputs:\n  - name: ${NAME:-app}\n    paths: [\"${DIR}/*.log\", '$${DIR}/a$', '$x']\nstate_dir: ${EMPTY:-/state}\n", nil,
			func(t *testing.T, cfg *Daemon) {
				in := cfg.Inputs[0]
				if in.Name.Value != "app" || in.Name.Pos != (Pos{"c.yaml", 2, 11}) {
					t.Errorf("name = %+v", in.Name)
				}
				got := []string{in.Paths[0].Value, in.Paths[1].Value, in.Paths[2].Value}
				if want := []string{"/logs/*.log", "${DIR}/a$", "$x"}; !reflect.DeepEqual(got, want) {
					t.Errorf("paths = %q, want %q", got, want)
				}
				if cfg.StateDir.Value != "/state" {
					t.Errorf("state_dir = %q", cfg.StateDir.Value)
				}
			}},
		{"plain values are typed after expansion", es + "    workers: ${NUM}\n    gzip: ${NO}\n    captures_key: ${NULL}\n", nil,
			func(t *testing.T, cfg *Daemon) {
				e := cfg.Forward.Elasticsearch
				if e.Workers != 7 || e.Gzip || e.CapturesKey.Value != "null" {
					t.Errorf("workers %d, gzip %t, captures_key %q", e.Workers, e.Gzip, e.CapturesKey.Value)
				}
			}},
		{"quoted values stay strings", es + "    workers: \"${NUM}\"\n", []string{
			`c.yaml:5:14: forward.elasticsearch.workers must be a whole number, got a value from ${NUM}`}, nil},
		{"empty values", es + "    workers: ${UNSET}\n    index: ${EMPTY}\n", []string{
			`c.yaml:5:14: forward.elasticsearch.workers must be a whole number, got a value from ${UNSET}`,
			`c.yaml:6:12: forward.elasticsearch.index must not be empty (it comes from ${EMPTY}, which is empty or unset)`}, nil},
		{"empty optional paths are unset", es + "    tls: {ca_file: '${UNSET}'}\n", nil,
			func(t *testing.T, cfg *Daemon) {
				if ca := cfg.Forward.Elasticsearch.TLS.CAFile; ca != (String{}) {
					t.Errorf("ca_file = %+v, want unset", ca)
				}
			}},
		{"required variable", minimal + "kubernetes:\n  enabled: true\n  node_name: ${NODE:?set NODE from the downward API}\n", []string{
			`c.yaml:4:14: kubernetes.node_name: environment variable NODE is required but not set: set NODE from the downward API`}, nil},
		{"required variable without message", "inputs:\n  - {name: a, paths: ['${D:?}']}\n", []string{
			`c.yaml:2:23: inputs[0].paths[0]: environment variable D is required but not set`}, nil},
		{"bad references", minimal + "state_dir: '${DIR'\nrules: ['${1X}', '${DIR-x}']\n", []string{
			`c.yaml:2:12: state_dir: unterminated ${ (write $$ for a literal $)`,
			`c.yaml:3:9: rules[0]: invalid environment reference ${1X}: the variable name must match ^[A-Za-z_][A-Za-z0-9_]*$`,
			`c.yaml:3:18: rules[1]: invalid environment reference ${DIR-x}: the variable name must match ^[A-Za-z_][A-Za-z0-9_]*$`}, nil},
		{"secrets stay out of messages", "inputs:\n" +
			"  - name: ${SECRET}x!\n" + // 2
			"    paths: ['/${SECRET}[']\n" +
			"    format: ${SECRET}\n" +
			"    max_line_bytes: 5${SECRET}\n" + // 5
			"    multiline:\n" + // 6
			"      start: (${SECRET}\n" +
			"      timeout: ${SECRET}\n" +
			"server: {listen: '${SECRET}'}\n" + // 9
			"kubernetes:\n" + // 10
			"  events_index: ${SECRET}\n" +
			"  enabled: ${SECRET}\n" +
			"forward:\n" +
			"  elasticsearch:\n" + // 14
			"    urls: ['http://${SECRET}@es', '${SECRET}', 'http://es:${SECRET}', 'http://${SECRET}/?a']\n" +
			"    captures_key: _${SECRET}\n" +
			"    workers: ${SECRET}\n" +
			"    template: {name: '%{${SECRET}}'}\n" +
			"    buffer: {max_bytes: '${NUM}'}\n", // 19
			[]string{
				`c.yaml:2:11: invalid input name (value from ${SECRET}): must match ^[a-zA-Z_][a-zA-Z0-9_.-]*$`,
				`c.yaml:3:13: invalid glob (value from ${SECRET}): syntax error in pattern`,
				`c.yaml:4:13: unknown format (value from ${SECRET}) (valid: auto, plain, cri, docker)`,
				`c.yaml:5:21: invalid max_line_bytes (value from ${SECRET}): ` + sizeHint,
				`c.yaml:7:14: invalid multiline.start (value from ${SECRET}): missing closing )`,
				`c.yaml:8:16: invalid multiline.timeout (value from ${SECRET}): want a duration such as 500ms, 10s or 5m`,
				`c.yaml:9:18: invalid server.listen (value from ${SECRET}): want host:port, such as ":9144" or "127.0.0.1:9144"`,
				`c.yaml:11:17: invalid kubernetes.events_index (value from ${SECRET}): ` + indexHint,
				`c.yaml:12:12: kubernetes.enabled must be true or false, got a value from ${SECRET}`,
				`c.yaml:15:12: an entry of forward.elasticsearch.urls must not hold credentials: use forward.elasticsearch.auth.username_file and password_file`,
				`c.yaml:15:35: URL (value from ${SECRET}) must start with http:// or https://`,
				`c.yaml:15:48: invalid URL (value from ${SECRET})`,
				`c.yaml:15:71: URL (value from ${SECRET}) must not have a query or fragment`,
				`c.yaml:16:19: invalid forward.elasticsearch.captures_key (value from ${SECRET}): want a dotted field name that does not start with _ nor with a field every document has (@timestamp, message, stream, log, kubernetes, host)`,
				`c.yaml:17:14: forward.elasticsearch.workers must be a whole number, got a value from ${SECRET}`,
				`c.yaml:18:22: invalid forward.elasticsearch.template.name (value from ${SECRET}): ` + indexHint,
				`c.yaml:19:25: forward.elasticsearch.buffer.max_bytes must be at least batch.max_bytes`,
			}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, probs := ParseDaemon("c.yaml", []byte(tt.yaml), env)
			diffLines(t, problemStrings(probs), tt.want)
			for _, p := range probs {
				if strings.Contains(strings.ToLower(p.Msg), "hunter2") {
					t.Errorf("secret leaked: %s", p.Msg)
				}
			}
			if tt.check != nil && len(probs) == 0 {
				tt.check(t, cfg)
			}
		})
	}
}

func TestParseDaemonDefaults(t *testing.T) {
	cfg, probs := ParseDaemon("c.yaml", []byte("inputs:\n  - {name: a, paths: [/x]}\nforward:\n  elasticsearch: {urls: ['http://es:9200']}\n  "), nil)
	if len(probs) > 0 {
		t.Fatalf("unexpected problems:\n%v", probs)
	}
	want := DefaultDaemon()
	want.Path = "c.yaml"
	in := DefaultInput()
	in.Pos = Pos{"c.yaml", 2, 5}
	in.Name = String{Value: "a", Pos: Pos{"c.yaml", 2, 12}}
	in.Paths = []String{{Value: "/x", Pos: Pos{"c.yaml", 2, 23}}}
	want.Inputs = []Input{in}
	es := DefaultElasticsearch()
	es.Pos = Pos{"c.yaml", 4, 18}
	es.URLs = []String{{Value: "http://es:9200", Pos: Pos{"c.yaml", 4, 26}}}
	want.Forward = &Forward{Elasticsearch: es}
	diffLines(t, flat(cfg), flat(want))

	// The documented defaults.
	d := DefaultDaemon()
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", d.Server.Listen.Value, ":9144"},
		{"state_dir", d.StateDir.Value, "/var/lib/logmeter"},
		{"poll_interval", d.Tail.PollInterval, 250 * time.Millisecond},
		{"scan_interval", d.Tail.ScanInterval, 10 * time.Second},
		{"checkpoint_interval", d.Tail.CheckpointInterval, 5 * time.Second},
		{"max_open_files", d.Tail.MaxOpenFiles, 1024},
		{"read_chunk", d.Tail.ReadChunk, 256 * 1024},
		{"events_index", d.Kubernetes.EventsIndex.Value, "k8s-events-%{+yyyy.MM.dd}"},
		{"forward", d.Forward, (*Forward)(nil)},
		{"format", DefaultInput().Format.Value, "auto"},
		{"start_at", DefaultInput().StartAt.Value, "end"},
		{"max_line_bytes", DefaultInput().MaxLineBytes, 256 * 1024},
		{"max_lines", DefaultMultiline().MaxLines, 500},
		{"multiline timeout", DefaultMultiline().Timeout, 2 * time.Second},
		{"index", es.Index.Value, "logstash-%{+yyyy.MM.dd}"},
		{"batch", es.Batch, Batch{5000, 5 << 20, time.Second}},
		{"buffer", es.Buffer.MaxBytes, int64(1 << 30)},
		{"when_full", es.Buffer.WhenFull.Value, "block"},
		{"workers", es.Workers, 2},
		{"gzip", es.Gzip, true},
		{"timeout", es.Timeout, 30 * time.Second},
		{"retry", es.Retry, Retry{500 * time.Millisecond, 30 * time.Second}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("default %s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadDaemon(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	_, err := LoadDaemon(missing)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want a one-line error naming %s", err, missing)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("inputs:\n  - name: a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadDaemon(bad)
	var probs Problems
	if !errors.As(err, &probs) || len(probs) != 1 || probs[0].Pos != (Pos{bad, 2, 5}) {
		t.Fatalf("bad file: got %v, want one Problem at 2:5", err)
	}
	if cfg == nil || len(cfg.Inputs) != 1 || cfg.Inputs[0].Name.Value != "a" {
		t.Errorf("bad file: partial result %+v", cfg)
	}

	// LoadDaemon reads the process environment.
	t.Setenv("NODE_NAME", "node-7")
	t.Setenv("ES_WORKERS", "3")
	full := filepath.Join("testdata", "daemon", "full.yaml")
	cfg, err = LoadDaemon(full)
	if err != nil {
		t.Fatalf("full.yaml: %v", err)
	}
	if cfg.Kubernetes.NodeName.Value != "node-7" || cfg.Forward.Elasticsearch.Workers != 3 || cfg.Path != full {
		t.Errorf("full.yaml: node_name %q, workers %d, path %q", cfg.Kubernetes.NodeName.Value, cfg.Forward.Elasticsearch.Workers, cfg.Path)
	}
}

// TestParseDaemonDesignExample parses the sketch of DESIGN.md (with real
// file names for its "..." placeholders and one auth scheme).
func TestParseDaemonDesignExample(t *testing.T) {
	const sketch = `server: {listen: ":9144", web_config: ""}   # exporter-toolkit web config: TLS, basic auth
inputs:
  - name: containers
    paths: ["/var/log/containers/*.log"]
    exclude: ["*_kube-system_*"]
    format: auto                 # auto | cri | docker | plain
    start_at: end                # for files never seen before at first start: end | beginning
    max_line_bytes: 256KiB       # longer lines are truncated and counted as decode errors
    multiline: {start: '^\S', max_lines: 500, timeout: 2s}   # optional
  - name: nginx
    paths: ["/var/log/nginx/access.log"]
    format: plain
rules: ["/etc/logmeter/rules/*.yaml"]
state_dir: /var/lib/logmeter     # checkpoints, forward buffer
kubernetes: {enabled: true, node_name: "${NODE_NAME}"}
forward:
  elasticsearch:
    urls: ["http://elasticsearch-logging:9200"]
    index: "logstash-%{+yyyy.MM.dd}"   # the default; or a fixed name, or a data stream
    auth: {username_file: /etc/es/user, password_file: /etc/es/password}
    tls: {ca_file: /etc/es/ca.pem, insecure_skip_verify: false}
    batch: {max_docs: 5000, max_bytes: 5MiB, max_wait: 1s}
    buffer: {max_bytes: 1GiB, when_full: block}   # block (no loss) | drop_oldest (counted)
`
	cfg, probs := ParseDaemon("/etc/logmeter/config.yaml", []byte(sketch), envMap(map[string]string{"NODE_NAME": "n1"}))
	if len(probs) > 0 {
		t.Fatalf("unexpected problems:\n%v", probs)
	}
	if len(cfg.Inputs) != 2 || cfg.Inputs[0].Multiline == nil || cfg.Inputs[0].Multiline.Start.Value != `^\S` ||
		cfg.Server.WebConfig.Value != "" || cfg.Kubernetes.NodeName.Value != "n1" ||
		cfg.Forward.Elasticsearch.Auth.PasswordFile.Value != "/etc/es/password" {
		t.Errorf("decoded %+v", cfg)
	}
}
