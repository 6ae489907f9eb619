package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logmeter/logmeter/internal/estest"
)

// fwdInput is one entry of the inputs section of a forwarding test.
type fwdInput struct {
	name, format string
	paths        []string
}

// fwdEnv is a forwarding test's directory and configuration: logmeter
// follows the inputs, counts them with rules/nginx.yaml and ships every
// line to the test Elasticsearch server.
type fwdEnv struct {
	dir, stateDir, cfgPath, base string
	es                           *estest.Server
}

// fwdIndexPattern is the configured index: daily indices by @timestamp.
const fwdIndexPattern = "logstash-*"

// newFwdEnv writes a configuration forwarding inputs to es. esExtra holds
// more lines of the forward.elasticsearch mapping (indented by 4 spaces).
func newFwdEnv(t *testing.T, es *estest.Server, inputs []fwdInput, esExtra string) *fwdEnv {
	t.Helper()
	dir := t.TempDir()
	e := &fwdEnv{dir: dir, stateDir: filepath.Join(dir, "state"), es: es}
	addr := freeAddr(t)
	e.base = "http://" + addr
	userFile, passFile := filepath.Join(dir, "es-username"), filepath.Join(dir, "es-password")
	// A trailing newline, as `echo x > file` leaves it: the loader removes one.
	if err := os.WriteFile(userFile, []byte(es.User()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(passFile, []byte(es.Password()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n  listen: %q\n", addr)
	b.WriteString("inputs:\n")
	for _, in := range inputs {
		quoted := make([]string, len(in.paths))
		for i, p := range in.paths {
			quoted[i] = fmt.Sprintf("%q", p)
		}
		fmt.Fprintf(&b, "  - name: %s\n    paths: [%s]\n    format: %s\n    start_at: beginning\n", in.name, strings.Join(quoted, ", "), in.format)
	}
	fmt.Fprintf(&b, "rules: [%q]\n", nginxRules())
	fmt.Fprintf(&b, "state_dir: %q\n", e.stateDir)
	fmt.Fprintf(&b, "tail: %s\n", defaultTail)
	b.WriteString("forward:\n  elasticsearch:\n")
	fmt.Fprintf(&b, "    urls: [%q]\n", es.URL())
	b.WriteString("    index: \"logstash-%{+yyyy.MM.dd}\"\n")
	fmt.Fprintf(&b, "    auth: {username_file: %q, password_file: %q}\n", userFile, passFile)
	b.WriteString(esExtra)
	e.cfgPath = filepath.Join(dir, "logmeter.yaml")
	if err := os.WriteFile(e.cfgPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *fwdEnv) start(t *testing.T) *daemon {
	t.Helper()
	return startDaemon(t, e.cfgPath, e.base, nil, [2]string{})
}

// esCount is the number of documents in index, -1 when the server does not
// answer (it is down).
func esCount(es *estest.Server, index string) (int, error) {
	n, err := es.Count(index)
	if err != nil {
		return -1, err
	}
	return n, nil
}

// waitCount polls the server until index holds want documents and returns
// the time it took; it fails the test if the count passes want or does not
// reach it in time.
func waitCount(t *testing.T, es *estest.Server, index string, want int, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, timeout, fmt.Sprintf("%d documents in %s", want, index), func() (bool, string) {
		n, err := esCount(es, index)
		if err != nil {
			return false, err.Error()
		}
		if n > want {
			t.Fatalf("%s holds %d documents, more than the %d lines written", index, n, want)
		}
		return n == want, fmt.Sprintf("%d documents", n)
	})
	return time.Since(start)
}

// checkIDs lists the ids of index and checks there are want distinct ones,
// each on one document; it returns the ids.
func checkIDs(t *testing.T, es *estest.Server, index string, want int) map[string]int {
	t.Helper()
	ids := es.IDs(index)
	dup := 0
	for _, n := range ids {
		if n != 1 {
			dup++
		}
	}
	if len(ids) != want || dup != 0 {
		t.Errorf("%s: %d distinct _ids, %d of them on more than one document; want %d distinct, each once", index, len(ids), dup, want)
	}
	return ids
}

// fwdDocs returns logmeter_forward_docs_total{result}.
func fwdDocs(ms metricSet, result string) float64 {
	return ms.get("logmeter_forward_docs_total", "result", result)
}

// requestsTotal sums nginx_http_requests_total over all series: one per
// line a rule matched.
func requestsTotal(ms metricSet) float64 {
	return ms.get("nginx_http_requests_total")
}

// ecsDoc is the part of a forwarded document the tests check.
type ecsDoc struct {
	Timestamp string `json:"@timestamp"`
	Message   string `json:"message"`
	Stream    string `json:"stream"`
	Log       struct {
		File struct {
			Path string `json:"path"`
		} `json:"file"`
		Offset *int64 `json:"offset"`
	} `json:"log"`
	Host struct {
		Name string `json:"name"`
	} `json:"host"`
	Event struct {
		Dataset string `json:"dataset"`
	} `json:"event"`
}

func decodeDoc(raw json.RawMessage) (ecsDoc, error) {
	var d ecsDoc
	err := json.Unmarshal(raw, &d)
	return d, err
}

// readAt returns the bytes of path at offset up to the next '\n'.
func lineAt(t *testing.T, cache map[string][]byte, path string, offset int64) (string, bool) {
	t.Helper()
	data, ok := cache[path]
	if !ok {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		cache[path] = data
	}
	if offset < 0 || offset >= int64(len(data)) {
		return "", false
	}
	rest := data[offset:]
	if i := strings.IndexByte(string(rest), '\n'); i >= 0 {
		rest = rest[:i]
	}
	return string(rest), true
}

// criLine frames text as a containerd (CRI) log line.
func criLine(ts time.Time, stream, text string) string {
	return ts.UTC().Format(time.RFC3339Nano) + " " + stream + " F " + text
}
