package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
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

// indices lists the indices matching pattern.
func indices(t *testing.T, es *estest.Server, pattern string) []string {
	t.Helper()
	resp, err := es.Do(http.MethodGet, "/_cat/indices/"+pattern+"?format=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("_cat/indices/%s: %s", pattern, resp.Status)
	}
	var rows []struct {
		Index string `json:"index"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		t.Fatalf("_cat/indices/%s: %v", pattern, err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.Index)
	}
	sort.Strings(names)
	return names
}

// allIDs returns every _id in the indices matching pattern with the number
// of documents carrying it. It lists each index on its own: a search over
// several indices pages through at most 10,000 hits of each (esserver's
// multi-index search), so estest's IDs of a pattern misses documents past
// that.
func allIDs(t *testing.T, es *estest.Server, pattern string) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, idx := range indices(t, es, pattern) {
		for id, n := range es.IDs(idx) {
			ids[id] += n
		}
	}
	return ids
}

// checkIDs lists the ids of the indices matching pattern and checks there
// are want distinct ones, each on one document; it returns the ids.
func checkIDs(t *testing.T, es *estest.Server, pattern string, want int) map[string]int {
	t.Helper()
	ids := allIDs(t, es, pattern)
	dup := 0
	for _, n := range ids {
		if n != 1 {
			dup++
		}
	}
	if len(ids) != want || dup != 0 {
		t.Errorf("%s: %d distinct _ids, %d of them on more than one document; want %d distinct, each once", pattern, len(ids), dup, want)
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

// lineAt returns the bytes of path at offset up to the next '\n'.
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

// checkpointedLines returns how many lines of path lie before the offset
// the forwarder's checkpoint (forward-positions.json) saved for it: the
// lines it knows Elasticsearch confirmed.
func checkpointedLines(t *testing.T, stateDir, path string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(stateDir, "forward-positions.json"))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Files []struct {
			Path   string `json:"path"`
			Offset int64  `json:"offset"`
		} `json:"files"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("forward-positions.json: %v", err)
	}
	for _, f := range st.Files {
		if f.Path != path {
			continue
		}
		content, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if f.Offset > int64(len(content)) {
			t.Fatalf("forward-positions.json: offset %d past the end of %s (%d bytes)", f.Offset, path, len(content))
		}
		return strings.Count(string(content[:f.Offset]), "\n")
	}
	return 0
}

// fwdReadChunk bounds what the forwarder may have read past the lines it
// handled (the tailer's read chunk).
const fwdReadChunk = 256 << 10

// unreadAtLeast is how many bytes of what w wrote the forwarder cannot have
// read if it handled at most maxHandled lines (in writing order): the bytes
// after them, less a read chunk. 0 if that is negative.
func unreadAtLeast(written tally, maxHandled int) int64 {
	var handled int64
	for seq := range min(maxHandled, written.lines) {
		text, _, _, _, _ := nginxLine(seq)
		handled += int64(len(text)) + 1
	}
	return max(written.bytes-handled-fwdReadChunk, 0)
}
