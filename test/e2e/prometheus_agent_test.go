package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logmeter/logmeter/internal/estest"
)

// agentConfig is a daemon configuration with any number of inputs and rule
// files, for the tests that run logmeter under a real Prometheus.
type agentConfig struct {
	listen    string
	webConfig string // "" for plain HTTP
	inputs    []fwdInput
	rules     []string
	stateDir  string
	es        *estest.Server // forward every line here; nil for no forwarding
}

// write writes the configuration to dir/logmeter.yaml and returns its path.
func (c agentConfig) write(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n  listen: %q\n", c.listen)
	if c.webConfig != "" {
		fmt.Fprintf(&b, "  web_config: %q\n", c.webConfig)
	}
	b.WriteString("inputs:\n")
	for _, in := range c.inputs {
		quoted := make([]string, len(in.paths))
		for i, p := range in.paths {
			quoted[i] = fmt.Sprintf("%q", p)
		}
		fmt.Fprintf(&b, "  - name: %s\n    paths: [%s]\n    format: %s\n    start_at: beginning\n", in.name, strings.Join(quoted, ", "), in.format)
	}
	quoted := make([]string, len(c.rules))
	for i, r := range c.rules {
		quoted[i] = fmt.Sprintf("%q", r)
	}
	fmt.Fprintf(&b, "rules: [%s]\n", strings.Join(quoted, ", "))
	fmt.Fprintf(&b, "state_dir: %q\n", c.stateDir)
	fmt.Fprintf(&b, "tail: %s\n", defaultTail)
	if c.es != nil {
		userFile, passFile := filepath.Join(dir, "es-username"), filepath.Join(dir, "es-password")
		for f, v := range map[string]string{userFile: c.es.User(), passFile: c.es.Password()} {
			if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		b.WriteString("forward:\n  elasticsearch:\n")
		fmt.Fprintf(&b, "    urls: [%q]\n", c.es.URL())
		b.WriteString("    index: \"logstash-%{+yyyy.MM.dd}\"\n")
		fmt.Fprintf(&b, "    auth: {username_file: %q, password_file: %q}\n", userFile, passFile)
		b.WriteString("    batch: {max_docs: 2000, max_wait: 200ms}\n")
	}
	p := filepath.Join(dir, "logmeter.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// shippedRules lists rules/*.yaml, leaving out rule test files
// (*_test.yaml), which are not rule files.
func shippedRules(t *testing.T) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(repoRoot, "rules", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range all {
		if !strings.HasSuffix(p, "_test.yaml") {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatal("no rule files in rules/")
	}
	return out
}

// exampleFeed is the example logs of examples/logs, each bound for a file
// in a test directory that an input of the all-rules configuration reads.
type exampleFeed struct {
	files []feedFile
	lines int // logical lines (what logmeter_lines_read_total counts)
}

type feedFile struct {
	dst   string
	lines [][]byte // physical lines, each with its '\n'
}

// exampleInputs returns the inputs that read every example log the way its
// rule file expects (the events log as the kubernetes-events input, the
// container logs under kubelet-style names) from dir, and the feed that
// fills them.
func exampleInputs(t *testing.T, dir string) ([]fwdInput, *exampleFeed) {
	t.Helper()
	src := filepath.Join(repoRoot, "examples", "logs")
	containers := filepath.Join(dir, "containers")
	if err := os.MkdirAll(containers, 0o755); err != nil {
		t.Fatal(err)
	}
	inputs := []fwdInput{
		{name: "nginx", format: "plain", paths: []string{filepath.Join(dir, "nginx-*.log")}},
		{name: "apache", format: "plain", paths: []string{filepath.Join(dir, "apache-access.log")}},
		{name: "kubernetes", format: "plain", paths: []string{filepath.Join(dir, "kubelet.log")}},
		{name: "apps", format: "plain", paths: []string{filepath.Join(dir, "app-*.log")}},
		{name: "containers", format: "auto", paths: []string{filepath.Join(containers, "*.log")}},
		{name: "kubernetes-events", format: "cri", paths: []string{filepath.Join(dir, "kubernetes-events.log")}},
	}
	feed := &exampleFeed{}
	// framed: the file is in CRI or docker json-file format.
	add := func(srcPath, dst string, framed bool) {
		if !readByInput(inputs, dst) {
			t.Logf("%s: no input of this test reads it; left out", srcPath)
			return
		}
		data, err := os.ReadFile(srcPath)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) == 0 || data[len(data)-1] != '\n' {
			t.Fatalf("%s does not end in a newline", srcPath)
		}
		f := feedFile{dst: dst}
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			f.lines = append(f.lines, data[:i+1])
			data = data[i+1:]
		}
		if framed {
			feed.lines += logicalLines(t, srcPath, f.lines)
		} else {
			feed.lines += len(f.lines)
		}
		feed.files = append(feed.files, f)
	}
	plain, err := filepath.Glob(filepath.Join(src, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plain {
		add(p, filepath.Join(dir, filepath.Base(p)), filepath.Base(p) == "kubernetes-events.log")
	}
	cs, err := filepath.Glob(filepath.Join(src, "containers", "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) == 0 {
		t.Fatal("no container logs in examples/logs/containers")
	}
	for _, p := range cs {
		add(p, filepath.Join(containers, filepath.Base(p)), true)
	}
	// Every file exists, empty, before logmeter starts.
	for _, f := range feed.files {
		if err := os.WriteFile(f.dst, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return inputs, feed
}

// readByInput reports whether one of the inputs' globs matches path.
func readByInput(inputs []fwdInput, path string) bool {
	for _, in := range inputs {
		for _, g := range in.paths {
			if ok, _ := filepath.Match(g, path); ok {
				return true
			}
		}
	}
	return false
}

// logicalLines counts the lines logmeter delivers from a CRI or docker
// json-file log: CRI partial records ("P") and docker records whose log
// does not end in a newline are joined with the next.
func logicalLines(t *testing.T, path string, lines [][]byte) int {
	t.Helper()
	n := 0
	for _, l := range lines {
		if bytes.HasPrefix(l, []byte("{")) {
			var rec struct {
				Log string `json:"log"`
			}
			if err := json.Unmarshal(l, &rec); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if strings.HasSuffix(rec.Log, "\n") {
				n++
			}
			continue
		}
		fields := strings.SplitN(string(l), " ", 4)
		if len(fields) < 4 {
			t.Fatalf("%s: not a CRI line: %q", path, l)
		}
		if fields[2] == "F" {
			n++
		}
	}
	return n
}

// write appends part i of n of every file (its lines split evenly).
func (f *exampleFeed) write(t *testing.T, i, n int) {
	t.Helper()
	for _, ff := range f.files {
		from, to := len(ff.lines)*i/n, len(ff.lines)*(i+1)/n
		var b bytes.Buffer
		for _, l := range ff.lines[from:to] {
			b.Write(l)
		}
		fh, err := os.OpenFile(ff.dst, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fh.Write(b.Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := fh.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// allRulesAgent is logmeter with every shipped rule file reading every
// example log, optionally forwarding to es.
type allRulesAgent struct {
	d    *daemon
	addr string
	feed *exampleFeed
}

func startAllRulesAgent(t *testing.T, es *estest.Server) *allRulesAgent {
	t.Helper()
	dir := t.TempDir()
	inputs, feed := exampleInputs(t, dir)
	addr := freeAddr(t)
	cfg := agentConfig{listen: addr, inputs: inputs, rules: shippedRules(t), stateDir: filepath.Join(dir, "state"), es: es}.write(t, dir)
	return &allRulesAgent{d: startDaemon(t, cfg, "http://"+addr, nil, [2]string{}), addr: addr, feed: feed}
}

// waitAllRead waits until logmeter read every example line, and, with
// forwarding, sent each to Elasticsearch.
func (a *allRulesAgent) waitAllRead(t *testing.T, forwarding bool) {
	t.Helper()
	want := float64(a.feed.lines)
	waitFor(t, 30*time.Second, fmt.Sprintf("%v lines read", want), func() (bool, string) {
		ms := a.d.scrape()
		read, sent := ms.get("logmeter_lines_read_total"), fwdDocs(ms, "sent")
		if read > want {
			t.Fatalf("logmeter_lines_read_total = %v, more than the %v example lines", read, want)
		}
		return read == want && (!forwarding || sent >= want), fmt.Sprintf("lines read %v, documents sent %v", read, sent)
	})
}
