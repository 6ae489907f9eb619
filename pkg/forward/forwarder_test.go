package forward

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/logmeter/logmeter/pkg/logline"
	"github.com/logmeter/logmeter/pkg/metrics"
	"github.com/logmeter/logmeter/pkg/tail"
)

// waitTimeout bounds every wait of these tests; a wait that runs out is a
// failure (a hang or a lost document), never a retry.
const waitTimeout = 15 * time.Second

// bulkItemRec is one document of a recorded Bulk request.
type bulkItemRec struct {
	op, index, id string
	doc           map[string]any
	raw           string // action and source lines
}

// bulkRec is one recorded Bulk request.
type bulkRec struct {
	items []bulkItemRec
}

// recES is an httptest Bulk endpoint that parses and records every request
// and answers with what answer returns (nil answer: all items 201).
type recES struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	reqs   []bulkRec
	bad    []string // malformed bodies
	hits   atomic.Int64
	answer func(n int, req bulkRec, w http.ResponseWriter, r *http.Request)
}

func newRecES(t *testing.T, answer func(n int, req bulkRec, w http.ResponseWriter, r *http.Request)) *recES {
	t.Helper()
	es := &recES{t: t, answer: answer}
	es.Server = httptest.NewServer(http.HandlerFunc(es.serve))
	t.Cleanup(es.Close)
	return es
}

func (es *recES) serve(w http.ResponseWriter, r *http.Request) {
	n := int(es.hits.Add(1))
	if r.Method != http.MethodPost || r.URL.Path != "/_bulk" {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	req, perr := parseBulkBody(body)
	es.mu.Lock()
	if perr != nil {
		es.bad = append(es.bad, perr.Error())
	}
	es.reqs = append(es.reqs, req)
	es.mu.Unlock()
	if perr != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"type":"parse_exception","reason":%q},"status":400}`, perr.Error())
		return
	}
	if es.answer == nil {
		writeItems(w, req, nil)
		return
	}
	es.answer(n, req, w, r)
}

// parseBulkBody splits an NDJSON Bulk body into its items.
func parseBulkBody(body []byte) (bulkRec, error) {
	var rec bulkRec
	if len(body) == 0 || body[len(body)-1] != '\n' {
		return rec, fmt.Errorf("body does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines)%2 != 0 {
		return rec, fmt.Errorf("%d lines: not action/source pairs", len(lines))
	}
	for i := 0; i < len(lines); i += 2 {
		var action map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &action); err != nil || len(action) != 1 {
			return rec, fmt.Errorf("action line %q: %v", lines[i], err)
		}
		var it bulkItemRec
		for op, a := range action {
			it.op, it.index, it.id = op, a.Index, a.ID
		}
		dec := json.NewDecoder(strings.NewReader(lines[i+1]))
		dec.UseNumber()
		if err := dec.Decode(&it.doc); err != nil {
			return rec, fmt.Errorf("source line %q: %v", lines[i+1], err)
		}
		it.raw = lines[i] + "\n" + lines[i+1] + "\n"
		rec.items = append(rec.items, it)
	}
	return rec, nil
}

// itemAnswer is the answer for one item; zero means 201 created.
type itemAnswer struct {
	status       int
	errType, msg string
}

// writeItems answers an Elasticsearch 8 style bulk response; answers maps
// an item's _id to its answer.
func writeItems(w http.ResponseWriter, req bulkRec, answers map[string]itemAnswer) {
	var b bytes.Buffer
	errs := false
	b.WriteString(`{"took":1,"errors":`)
	var items []string
	for _, it := range req.items {
		a := answers[it.id]
		if a.status == 0 {
			a.status = 201
		}
		op := it.op
		if a.status >= 300 {
			errs = true
			items = append(items, fmt.Sprintf(`{%q:{"_index":%q,"_id":%q,"status":%d,"error":{"type":%q,"reason":%q}}}`,
				op, it.index, it.id, a.status, a.errType, a.msg))
		} else {
			items = append(items, fmt.Sprintf(`{%q:{"_index":%q,"_id":%q,"_version":1,"result":"created","status":%d}}`,
				op, it.index, it.id, a.status))
		}
	}
	fmt.Fprintf(&b, "%t,\"items\":[%s]}", errs, strings.Join(items, ","))
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b.Bytes())
}

func (es *recES) requests() []bulkRec {
	es.mu.Lock()
	defer es.mu.Unlock()
	if len(es.bad) > 0 {
		es.t.Errorf("malformed bulk bodies: %q", es.bad)
	}
	return slices.Clone(es.reqs)
}

// docs returns every recorded item, in arrival order.
func (es *recES) docs() []bulkItemRec {
	var all []bulkItemRec
	for _, r := range es.requests() {
		all = append(all, r.items...)
	}
	return all
}

// fwdTest runs a Forwarder over one plain log file.
type fwdTest struct {
	t        *testing.T
	dir      string
	logPath  string
	stateDir string
	reg      *prometheus.Registry
	self     *metrics.Self
	fwd      *Forwarder
	cancel   context.CancelFunc
	done     chan error
	sleeps   atomic.Int64 // calls of the injected Sleep
	clockNow atomic.Int64 // unix nanoseconds; 0 means time.Now
	clockN   atomic.Int64 // calls of the clock
}

var testEpoch = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// newFwdTest prepares a forwarder; edit adjusts the options before New.
// The clock starts fixed at testEpoch (so max_wait never elapses unless
// the test moves it); Sleep waits at most a millisecond.
func newFwdTest(t *testing.T, es *httptest.Server, clientTimeout time.Duration, edit func(*Options)) *fwdTest {
	t.Helper()
	ft := &fwdTest{t: t, dir: t.TempDir()}
	ft.logPath = filepath.Join(ft.dir, "app.log")
	ft.stateDir = filepath.Join(ft.dir, "state")
	ft.clockNow.Store(testEpoch.UnixNano())
	if _, err := os.Stat(ft.logPath); err != nil {
		if err := os.WriteFile(ft.logPath, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ft.reg = prometheus.NewRegistry()
	self, err := metrics.NewSelf(ft.reg, "test", "test")
	if err != nil {
		t.Fatal(err)
	}
	ft.self = self
	if clientTimeout == 0 {
		clientTimeout = 10 * time.Second
	}
	client, err := NewClient(ClientOptions{URLs: []string{es.URL}, Timeout: clientTimeout})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		Settings: Settings{
			Index: "logstash-%{+yyyy.MM.dd}", MaxDocs: 1000, MaxWait: time.Second,
			Workers: 1, RetryInitial: time.Millisecond, RetryMax: 4 * time.Millisecond,
			FinalTimeout: 200 * time.Millisecond, Host: "node-1",
		},
		Client:   client,
		Inputs:   []tail.Input{{Name: "app", Paths: []string{ft.logPath}, Format: tail.FormatPlain, StartAt: tail.StartAtBeginning}},
		StateDir: ft.stateDir,
		Tail:     tail.RunOptions{PollEvery: 2 * time.Millisecond, ScanEvery: 50 * time.Millisecond, CheckpointEvery: 5 * time.Millisecond},
		Self:     self,
		Clock:    ft.now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			ft.sleeps.Add(1)
			if d < 0 || d > 4*time.Millisecond {
				t.Errorf("backoff %v outside [0, RetryMax]", d)
			}
			return sleepCtx(ctx, min(d, time.Millisecond))
		},
	}
	if edit != nil {
		edit(&o)
	}
	ft.fwd, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	return ft
}

func (ft *fwdTest) now() time.Time {
	ft.clockN.Add(1)
	if ns := ft.clockNow.Load(); ns != 0 {
		return time.Unix(0, ns).UTC()
	}
	return time.Now()
}

func (ft *fwdTest) advance(d time.Duration) { ft.clockNow.Add(int64(d)) }

func (ft *fwdTest) start() {
	ctx, cancel := context.WithCancel(context.Background())
	ft.cancel = cancel
	ft.done = make(chan error, 1)
	go func() { ft.done <- ft.fwd.Run(ctx) }()
	ft.t.Cleanup(func() {
		if ft.done != nil {
			ft.stop()
		}
	})
}

// stop cancels Run and waits for it to return: it must, within
// FinalTimeout and a margin, whatever the server does.
func (ft *fwdTest) stop() {
	ft.t.Helper()
	ft.cancel()
	select {
	case err := <-ft.done:
		if err != nil {
			ft.t.Errorf("Run: %v", err)
		}
	case <-time.After(waitTimeout):
		ft.t.Fatalf("Run did not return within %v of its cancellation", waitTimeout)
	}
	ft.done = nil
}

func (ft *fwdTest) appendLines(prefix string, from, to int) {
	ft.t.Helper()
	f, err := os.OpenFile(ft.logPath, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		ft.t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := from; i < to; i++ {
		fmt.Fprintf(w, "%s line %d\n", prefix, i)
	}
	if err := w.Flush(); err != nil {
		ft.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		ft.t.Fatal(err)
	}
}

func (ft *fwdTest) fileSize() int64 {
	fi, err := os.Stat(ft.logPath)
	if err != nil {
		ft.t.Fatal(err)
	}
	return fi.Size()
}

// checkpoint returns the offset of the log file in forward-positions.json
// (-1 when there is no checkpoint or no entry for it).
func (ft *fwdTest) checkpoint() int64 {
	data, err := os.ReadFile(filepath.Join(ft.stateDir, StateFile))
	if os.IsNotExist(err) {
		return -1
	}
	if err != nil {
		ft.t.Fatal(err)
	}
	var st struct {
		Files []struct {
			Path   string `json:"path"`
			Offset int64  `json:"offset"`
		} `json:"files"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		ft.t.Fatalf("corrupt %s: %v: %s", StateFile, err, data)
	}
	for _, f := range st.Files {
		if f.Path == ft.logPath {
			return f.Offset
		}
	}
	return -1
}

func (ft *fwdTest) docs(result string) float64 {
	return testutil.ToFloat64(ft.self.ForwardDocs.WithLabelValues(result))
}

// waitFor polls cond until it holds; it fails the test at the deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// messages returns the distinct messages of docs and fails on documents
// that arrived with different _ids for the same message or vice versa.
func messageSet(t *testing.T, docs []bulkItemRec) map[string]string {
	t.Helper()
	byMsg := map[string]string{}
	byID := map[string]string{}
	for _, d := range docs {
		msg, _ := d.doc["message"].(string)
		if id, ok := byMsg[msg]; ok && id != d.id {
			t.Errorf("message %q sent with _id %s and %s", msg, id, d.id)
		}
		if m, ok := byID[d.id]; ok && m != msg {
			t.Errorf("_id %s used for %q and %q", d.id, m, msg)
		}
		byMsg[msg], byID[d.id] = d.id, msg
	}
	return byMsg
}

func TestForwarderDelivers(t *testing.T) {
	es := newRecES(t, nil)
	ft := newFwdTest(t, es.Server, 0, func(o *Options) { o.Settings.MaxDocs = 20 })
	const n = 50
	ft.appendLines("hello", 0, n)
	size := ft.fileSize()
	ft.start()
	waitFor(t, "all documents sent", func() bool { return ft.docs(metrics.ResultSent) >= n })
	waitFor(t, "the checkpoint at the end of the file", func() bool { return ft.checkpoint() == size })
	ft.stop()

	docs := es.docs()
	if len(docs) != n {
		t.Errorf("server got %d documents, want %d (no retries happened)", len(docs), n)
	}
	msgs := messageSet(t, docs)
	var offset int64
	for i, d := range docs {
		want := fmt.Sprintf("hello line %d", i)
		if d.op != "index" || d.index != "logstash-2024.05.01" || len(d.id) != 20 {
			t.Errorf("doc %d: action %s _index %q _id %q; want index logstash-2024.05.01 and a 20-character _id", i, d.op, d.index, d.id)
		}
		wantField(t, d.doc, "message", want)
		wantField(t, d.doc, "@timestamp", "2024-05-01T12:00:00Z")
		wantField(t, d.doc, "log.file.path", ft.logPath)
		wantField(t, d.doc, "log.offset", fmt.Sprint(offset))
		wantField(t, d.doc, "event.dataset", "app")
		wantField(t, d.doc, "host.name", "node-1")
		wantNoField(t, d.doc, "stream")
		offset += int64(len(want) + 1)
	}
	if len(msgs) != n {
		t.Errorf("%d distinct messages, want %d", len(msgs), n)
	}
	for _, r := range es.requests() {
		if len(r.items) > 20 {
			t.Errorf("request of %d documents, max_docs is 20", len(r.items))
		}
	}
	if got := ft.docs(metrics.ResultSent); got != n {
		t.Errorf("sent = %v, want %d", got, n)
	}
	for _, r := range []string{metrics.ResultFailed, metrics.ResultRetried, metrics.ResultDropped} {
		if got := ft.docs(r); got != 0 {
			t.Errorf("%s = %v, want 0", r, got)
		}
	}
	if c := testutil.CollectAndCount(ft.self.ForwardBulkDuration); c != 1 {
		t.Errorf("bulk duration histogram: %d series", c)
	}

	// A restart resumes at the checkpoint: only new lines are sent.
	es2 := newRecES(t, nil)
	ft2 := restartOn(t, ft, es2.Server)
	ft2.appendLines("after restart", 0, 3)
	ft2.start()
	waitFor(t, "the new lines", func() bool { return ft2.docs(metrics.ResultSent) >= 3 })
	waitFor(t, "the checkpoint", func() bool { return ft2.checkpoint() == ft2.fileSize() })
	ft2.stop()
	docs2 := es2.docs()
	if len(docs2) != 3 {
		t.Fatalf("after a restart the server got %d documents, want the 3 new ones", len(docs2))
	}
	oldIDs := map[string]bool{}
	for _, id := range msgs {
		oldIDs[id] = true
	}
	for i, d := range docs2 {
		wantField(t, d.doc, "message", fmt.Sprintf("after restart line %d", i))
		if oldIDs[d.id] {
			t.Errorf("new line %d reuses an old _id %s", i, d.id)
		}
	}
}

// restartOn creates a second forwarder over the same log file and state
// directory, as a restarted process would, sending to es.
func restartOn(t *testing.T, old *fwdTest, es *httptest.Server) *fwdTest {
	t.Helper()
	ft := &fwdTest{t: t, dir: old.dir, logPath: old.logPath, stateDir: old.stateDir}
	ft.clockNow.Store(testEpoch.UnixNano())
	ft.reg = prometheus.NewRegistry()
	self, err := metrics.NewSelf(ft.reg, "test", "test")
	if err != nil {
		t.Fatal(err)
	}
	ft.self = self
	client, err := NewClient(ClientOptions{URLs: []string{es.URL}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ft.fwd, err = New(Options{
		Settings: Settings{Index: "logstash-%{+yyyy.MM.dd}", MaxDocs: 1000, RetryInitial: time.Millisecond,
			RetryMax: 4 * time.Millisecond, FinalTimeout: 200 * time.Millisecond, Host: "node-1"},
		Client:   client,
		Inputs:   []tail.Input{{Name: "app", Paths: []string{ft.logPath}, Format: tail.FormatPlain, StartAt: tail.StartAtBeginning}},
		StateDir: ft.stateDir,
		Tail:     tail.RunOptions{PollEvery: 2 * time.Millisecond, ScanEvery: 50 * time.Millisecond, CheckpointEvery: 5 * time.Millisecond},
		Self:     self,
		Clock:    ft.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ft
}

// Without a checkpoint (a crash before it), lines are sent again with the
// same _ids, so Elasticsearch overwrites instead of duplicating.
func TestForwarderResendSameIDs(t *testing.T) {
	es := newRecES(t, nil)
	ft := newFwdTest(t, es.Server, 0, nil)
	ft.appendLines("x", 0, 10)
	ft.start()
	waitFor(t, "all documents sent", func() bool { return ft.docs(metrics.ResultSent) >= 10 })
	waitFor(t, "the checkpoint", func() bool { return ft.checkpoint() == ft.fileSize() })
	ft.stop()
	first := messageSet(t, es.docs())

	if err := os.Remove(filepath.Join(ft.stateDir, StateFile)); err != nil {
		t.Fatal(err)
	}
	es2 := newRecES(t, nil)
	ft2 := restartOn(t, ft, es2.Server)
	ft2.start()
	waitFor(t, "all documents sent again", func() bool { return ft2.docs(metrics.ResultSent) >= 10 })
	ft2.stop()
	second := messageSet(t, es2.docs())
	if len(first) != 10 || len(second) != 10 {
		t.Fatalf("got %d then %d distinct messages, want 10 and 10", len(first), len(second))
	}
	for m, id := range first {
		if second[m] != id {
			t.Errorf("%q: _id %s the first time, %s the second", m, id, second[m])
		}
	}
}

func TestForwarderCheckpointWaitsForServer(t *testing.T) {
	// One batch leaves the reading goroutine free to checkpoint; several
	// make it wait for a worker.
	for _, maxDocs := range []int{1000, 7} {
		t.Run(fmt.Sprintf("max_docs=%d", maxDocs), func(t *testing.T) { testCheckpointWaitsForServer(t, maxDocs) })
	}
}

func testCheckpointWaitsForServer(t *testing.T, maxDocs int) {
	var failing atomic.Bool
	failing.Store(true)
	var failures atomic.Int64
	es := newRecES(t, func(n int, req bulkRec, w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			failures.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"type":"cluster_block_exception","reason":"blocked"},"status":503}`)
			return
		}
		writeItems(w, req, nil)
	})
	ft := newFwdTest(t, es.Server, 0, func(o *Options) { o.Settings.MaxDocs = maxDocs })
	const n = 30
	ft.appendLines("outage", 0, n)
	size := ft.fileSize()
	ft.start()
	// Many failed requests, and many checkpoint ticks, go by.
	waitFor(t, "failed requests", func() bool { return failures.Load() >= 20 })
	if off := ft.checkpoint(); off > 0 {
		t.Errorf("checkpoint at %d while the server fails; want no progress", off)
	}
	if got := ft.docs(metrics.ResultSent); got != 0 {
		t.Errorf("sent = %v while the server fails", got)
	}
	if got := ft.docs(metrics.ResultRetried); got < 20 {
		t.Errorf("retried = %v after %d failed requests", got, failures.Load())
	}
	if ft.sleeps.Load() == 0 {
		t.Error("no backoff between retries")
	}

	failing.Store(false)
	waitFor(t, "all documents sent after recovery", func() bool { return ft.docs(metrics.ResultSent) >= n })
	waitFor(t, "the checkpoint at the end of the file after recovery", func() bool { return ft.checkpoint() == size })
	ft.stop()
	if got := ft.docs(metrics.ResultSent); got != n {
		t.Errorf("sent = %v, want %d", got, n)
	}
	if msgs := messageSet(t, es.docs()); len(msgs) != n {
		t.Errorf("%d distinct messages arrived, want %d", len(msgs), n)
	}
	if got := ft.docs(metrics.ResultFailed); got != 0 {
		t.Errorf("failed = %v, want 0", got)
	}
}

func TestForwarderRetriesRejectedItems(t *testing.T) {
	es := newRecES(t, func(n int, req bulkRec, w http.ResponseWriter, r *http.Request) {
		if n == 1 && len(req.items) == 5 {
			writeItems(w, req, map[string]itemAnswer{
				req.items[1].id: {429, "es_rejected_execution_exception", "rejected execution of coordinating operation"},
				req.items[3].id: {429, "circuit_breaking_exception", "[parent] Data too large"},
			})
			return
		}
		writeItems(w, req, nil)
	})
	ft := newFwdTest(t, es.Server, 0, nil)
	ft.appendLines("r", 0, 5)
	ft.start()
	waitFor(t, "all documents sent", func() bool { return ft.docs(metrics.ResultSent) >= 5 })
	waitFor(t, "the checkpoint", func() bool { return ft.checkpoint() == ft.fileSize() })
	ft.stop()
	reqs := es.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (all, then the 2 rejected items)", len(reqs))
	}
	if len(reqs[0].items) != 5 {
		t.Fatalf("first request has %d items, want 5", len(reqs[0].items))
	}
	rejected := []string{reqs[0].items[1].id, reqs[0].items[3].id}
	var again []string
	for _, it := range reqs[1].items {
		again = append(again, it.id)
	}
	if !slices.Equal(again, rejected) {
		t.Errorf("second request re-sent %v, want only the rejected %v", again, rejected)
	}
	for i, it := range reqs[1].items {
		want := reqs[0].items[[]int{1, 3}[i]].raw
		if it.raw != want {
			t.Errorf("re-sent item %d differs:\n%s\nwant\n%s", i, it.raw, want)
		}
	}
	if got := ft.docs(metrics.ResultRetried); got != 2 {
		t.Errorf("retried = %v, want 2", got)
	}
	if got := ft.docs(metrics.ResultSent); got != 5 {
		t.Errorf("sent = %v, want 5", got)
	}
	if got := ft.docs(metrics.ResultFailed); got != 0 {
		t.Errorf("failed = %v, want 0", got)
	}
}

func TestForwarderDeadLetter(t *testing.T) {
	const reason = "failed to parse field [message] of type [long] in document with id 'x'. Preview of field's value: 'd 2'"
	es := newRecES(t, func(n int, req bulkRec, w http.ResponseWriter, r *http.Request) {
		ans := map[string]itemAnswer{}
		for _, it := range req.items {
			if it.doc["message"] == "d line 2" {
				ans[it.id] = itemAnswer{400, "mapper_parsing_exception", reason}
			}
		}
		writeItems(w, req, ans)
	})
	ft := newFwdTest(t, es.Server, 0, nil)
	ft.appendLines("d", 0, 5)
	ft.start()
	waitFor(t, "sent and failed documents", func() bool {
		return ft.docs(metrics.ResultSent)+ft.docs(metrics.ResultFailed) >= 5
	})
	// A rejected document is settled too: the checkpoint passes it.
	waitFor(t, "the checkpoint", func() bool { return ft.checkpoint() == ft.fileSize() })
	ft.stop()
	if got := ft.docs(metrics.ResultFailed); got != 1 {
		t.Errorf("failed = %v, want 1", got)
	}
	if got := ft.docs(metrics.ResultSent); got != 4 {
		t.Errorf("sent = %v, want 4", got)
	}
	if got := ft.docs(metrics.ResultRetried); got != 0 {
		t.Errorf("retried = %v, want 0 (a 400 is not retried)", got)
	}
	if got := len(es.requests()); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
	data, err := os.ReadFile(filepath.Join(ft.stateDir, deadLetterFile))
	if err != nil {
		t.Fatalf("dead-letter file: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("dead-letter file has %d lines, want 1:\n%s", len(lines), data)
	}
	var rec struct {
		Time   time.Time `json:"time"`
		Status int       `json:"status"`
		Type   string    `json:"error_type"`
		Reason string    `json:"error_reason"`
		Item   string    `json:"item"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("dead-letter line %q: %v", lines[0], err)
	}
	if rec.Status != 400 || rec.Type != "mapper_parsing_exception" || rec.Reason != reason || rec.Time.IsZero() {
		t.Errorf("dead-letter record %+v", rec)
	}
	item, err := parseBulkBody([]byte(rec.Item))
	if err != nil || len(item.items) != 1 {
		t.Fatalf("dead-letter item %q is not one action and source: %v", rec.Item, err)
	}
	wantField(t, item.items[0].doc, "message", "d line 2")
	if item.items[0].op != "index" || item.items[0].id == "" {
		t.Errorf("dead-letter action %+v", item.items[0])
	}
}

func TestForwarderHangingServer(t *testing.T) {
	release := make(chan struct{})
	es := newRecES(t, func(n int, req bulkRec, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	const timeout = 50 * time.Millisecond
	ft := newFwdTest(t, es.Server, timeout, func(o *Options) {
		o.Tail.CheckpointEvery = time.Hour // keep the reading goroutine free
		o.Settings.MaxWait = time.Millisecond
		o.Clock = nil // real time: the batch goes out after max_wait
	})
	ft.appendLines("h", 0, 3)
	ft.start()
	waitFor(t, "requests that time out and are retried", func() bool {
		return ft.docs(metrics.ResultRetried) >= 3*3 && es.hits.Load() >= 3
	})
	// The metrics can be gathered while the requests hang.
	gathered := make(chan error, 1)
	go func() { _, err := ft.reg.Gather(); gathered <- err }()
	select {
	case err := <-gathered:
		if err != nil {
			t.Errorf("Gather: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("gathering the self-metrics blocked while the server hangs")
	}
	if got := ft.docs(metrics.ResultSent); got != 0 {
		t.Errorf("sent = %v from a server that never answered", got)
	}
	var hm = &dtoHistogram{}
	hm.read(t, ft.self.ForwardBulkDuration)
	if hm.count < 2 || hm.sum < float64(hm.count)*timeout.Seconds()*0.9 {
		t.Errorf("bulk duration: %d observations summing %.3fs; want each about the %v timeout", hm.count, hm.sum, timeout)
	}
	if off := ft.checkpoint(); off > 0 {
		t.Errorf("checkpoint at %d with nothing confirmed", off)
	}
	began := time.Now()
	ft.stop()
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("stopping took %v with FinalTimeout 200ms", d)
	}
	if off := ft.checkpoint(); off > 0 {
		t.Errorf("final checkpoint at %d with nothing confirmed", off)
	}
}

// Enrich and Captures are applied to every line before its document is
// built; stream and kubernetes.* come from the line.
func TestForwarderEnrichAndCaptures(t *testing.T) {
	es := newRecES(t, nil)
	ft := newFwdTest(t, es.Server, 0, func(o *Options) {
		o.Settings.CapturesKey = "grok"
		o.Enrich = func(l *logline.Line) {
			l.Kube = &logline.Kube{Namespace: "shop", Pod: "web-0", Container: "nginx", Labels: map[string]string{"app": "web"}}
		}
		o.Captures = func(l *logline.Line, dst []Capture) []Capture {
			if bytes.HasSuffix(l.Text, []byte("1")) {
				dst = append(dst, Capture{"n", "one"})
			}
			return dst
		}
	})
	ft.appendLines("e", 0, 3)
	ft.start()
	waitFor(t, "all documents sent", func() bool { return ft.docs(metrics.ResultSent) >= 3 })
	ft.stop()
	docs := es.docs()
	if len(docs) != 3 {
		t.Fatalf("%d documents, want 3", len(docs))
	}
	for i, d := range docs {
		wantField(t, d.doc, "kubernetes.namespace", "shop")
		wantField(t, d.doc, "kubernetes.labels.app", "web")
		if i == 1 {
			wantField(t, d.doc, "grok.n", "one")
		} else {
			wantNoField(t, d.doc, "grok")
		}
	}
}

func TestNewErrors(t *testing.T) {
	client, err := NewClient(ClientOptions{URLs: []string{"http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Settings: Settings{Index: "logs"}}); err == nil {
		t.Error("New without a client: no error")
	}
	if _, err := New(Options{Settings: Settings{Index: "logs-%{+yyyy/MM}"}, Client: client}); err == nil {
		t.Error("New with a bad index pattern: no error")
	}
}

func TestForwarderDataStream(t *testing.T) {
	es := newRecES(t, nil)
	ft := newFwdTest(t, es.Server, 0, func(o *Options) {
		o.Settings.DataStream = true
		o.Settings.Index = "logs-app-default"
	})
	ft.appendLines("ds", 0, 4)
	ft.start()
	waitFor(t, "all documents sent", func() bool { return ft.docs(metrics.ResultSent) >= 4 })
	ft.stop()
	docs := es.docs()
	if len(docs) != 4 {
		t.Fatalf("%d documents, want 4", len(docs))
	}
	for _, d := range docs {
		if d.op != "create" || d.index != "logs-app-default" || d.id == "" {
			t.Errorf("action %s _index %q _id %q; want create into logs-app-default with an _id", d.op, d.index, d.id)
		}
		if _, ok := d.doc["@timestamp"]; !ok {
			t.Errorf("data stream document without @timestamp: %v", d.doc)
		}
	}
}

func TestForwarderBatchMaxDocs(t *testing.T) {
	es := newRecES(t, nil)
	ft := newFwdTest(t, es.Server, 0, func(o *Options) {
		o.Settings.MaxDocs = 4
		o.Tail.CheckpointEvery = time.Hour // only max_docs and the stop flush
	})
	ft.appendLines("b", 0, 10)
	ft.start()
	waitFor(t, "two full batches", func() bool { return ft.docs(metrics.ResultSent) >= 8 })
	ft.stop() // flushes the rest
	var sizes []int
	for _, r := range es.requests() {
		sizes = append(sizes, len(r.items))
	}
	if !slices.Equal(sizes, []int{4, 4, 2}) {
		t.Errorf("batch sizes %v, want [4 4 2]", sizes)
	}
	if got := ft.docs(metrics.ResultSent); got != 10 {
		t.Errorf("sent = %v, want 10", got)
	}
	if off := ft.checkpoint(); off != ft.fileSize() {
		t.Errorf("checkpoint after stop at %d, want %d", off, ft.fileSize())
	}
}

func TestForwarderBatchMaxBytes(t *testing.T) {
	es := newRecES(t, nil)
	ft := newFwdTest(t, es.Server, 0, func(o *Options) {
		o.Settings.MaxBytes = 1 // every document fills a batch
		o.Tail.CheckpointEvery = time.Hour
	})
	ft.appendLines("m", 0, 3)
	ft.start()
	waitFor(t, "all documents", func() bool { return ft.docs(metrics.ResultSent) >= 3 })
	ft.stop()
	for i, r := range es.requests() {
		if len(r.items) != 1 {
			t.Errorf("request %d has %d items, want 1 with max_bytes 1", i, len(r.items))
		}
	}
}

func TestForwarderBatchMaxWait(t *testing.T) {
	es := newRecES(t, nil)
	ft := newFwdTest(t, es.Server, 0, func(o *Options) {
		o.Settings.MaxWait = 10 * time.Second
		o.Tail.CheckpointEvery = time.Hour
	})
	ft.appendLines("w", 0, 3)
	ft.start()
	// Many polling rounds (each reads the clock) with the clock stopped:
	// the batch must wait.
	base := ft.clockN.Load()
	waitFor(t, "polling rounds", func() bool { return ft.clockN.Load() > base+200 })
	if h := es.hits.Load(); h != 0 {
		t.Fatalf("%d requests before max_wait elapsed", h)
	}
	ft.advance(9 * time.Second)
	base = ft.clockN.Load()
	waitFor(t, "polling rounds", func() bool { return ft.clockN.Load() > base+200 })
	if h := es.hits.Load(); h != 0 {
		t.Fatalf("%d requests 9s into a 10s max_wait", h)
	}
	ft.advance(time.Second)
	waitFor(t, "the batch after max_wait", func() bool { return ft.docs(metrics.ResultSent) >= 3 })
	reqs := es.requests()
	if len(reqs) != 1 || len(reqs[0].items) != 3 {
		t.Errorf("requests %v, want one of 3 documents", reqs)
	}
	// The next batch starts its own wait.
	ft.appendLines("w2", 0, 2)
	base = ft.clockN.Load()
	waitFor(t, "polling rounds", func() bool { return ft.clockN.Load() > base+200 })
	if h := es.hits.Load(); h != 1 {
		t.Fatalf("%d requests; the second batch went out before its max_wait", h)
	}
	ft.advance(10 * time.Second)
	waitFor(t, "the second batch", func() bool { return ft.docs(metrics.ResultSent) >= 5 })
	ft.stop()
}

// With drop_oldest and a tiny buffer, a dead cluster makes the forwarder
// read on and count what it cannot buffer as dropped.
func TestForwarderDropOldest(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	es := newRecES(t, func(n int, req bulkRec, w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		writeItems(w, req, nil)
	})
	ft := newFwdTest(t, es.Server, 0, func(o *Options) {
		o.Settings.DropOldest = true
		o.Settings.BufferMax = 100
		o.Settings.MaxDocs = 10
		o.Settings.MaxWait = time.Millisecond
		o.Clock = nil // real time, so max_wait elapses
	})
	ft.clockNow.Store(0)
	ft.appendLines("first", 0, 5)
	ft.start()
	waitFor(t, "failing requests", func() bool { return es.hits.Load() >= 3 })
	// The cluster is down; more lines arrive, far beyond the buffer.
	total := 5
	dropped := func() bool { return ft.docs(metrics.ResultDropped) > 0 }
	for round := 0; round < 20 && !dropped(); round++ {
		ft.appendLines(fmt.Sprintf("more%d", round), 0, 50)
		total += 50
		// Let the outage go on: a few more failed requests per round.
		h := es.hits.Load()
		waitFor(t, "more failed requests", func() bool { return es.hits.Load() >= h+3 })
	}
	gotDropped := ft.docs(metrics.ResultDropped)
	if gotDropped == 0 {
		t.Errorf("dropped = 0 after %d lines (%d bytes) with buffer.max_bytes 100 and the cluster down", total, ft.fileSize())
	}
	t.Logf("cluster down: %d lines written, dropped = %v", total, gotDropped)

	down.Store(false)
	size := ft.fileSize()
	waitFor(t, "every line sent or dropped after recovery", func() bool {
		return ft.docs(metrics.ResultSent)+ft.docs(metrics.ResultDropped) >= float64(total)
	})
	waitFor(t, "the checkpoint at the end", func() bool { return ft.checkpoint() == size })
	ft.stop()
	if s, d := ft.docs(metrics.ResultSent), ft.docs(metrics.ResultDropped); s+d != float64(total) {
		t.Errorf("sent %v + dropped %v != %d lines", s, d, total)
	}
}

// A backlog larger than one poll's share (4 MiB) with drop_oldest and a
// tiny buffer: what lies beyond the buffer is read and counted as dropped
// while the cluster is down, and every line is sent or dropped in the end.
func TestForwarderDropOldestLargeBacklog(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	es := newRecES(t, func(n int, req bulkRec, w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		writeItems(w, req, nil)
	})
	ft := newFwdTest(t, es.Server, 0, func(o *Options) {
		o.Settings.DropOldest = true
		o.Settings.BufferMax = 1000
		o.Settings.MaxDocs = 1 << 20
		o.Settings.MaxBytes = 1 << 30
		o.Tail.CheckpointEvery = 20 * time.Millisecond
	})
	const total = 3000 // about 6 MiB
	ft.appendLines(strings.Repeat("x", 2000), 0, total)
	ft.start()
	waitFor(t, "dropped documents while the cluster is down", func() bool { return ft.docs(metrics.ResultDropped) > 0 })
	waitFor(t, "failing requests", func() bool { return es.hits.Load() >= 2 })
	dropped := ft.docs(metrics.ResultDropped)
	if dropped >= total {
		t.Errorf("dropped = %v of %d lines: nothing kept", dropped, total)
	}
	down.Store(false)
	waitFor(t, "every line sent or dropped", func() bool {
		return ft.docs(metrics.ResultSent)+ft.docs(metrics.ResultDropped) >= total
	})
	waitFor(t, "the checkpoint at the end", func() bool { return ft.checkpoint() == ft.fileSize() })
	ft.stop()
	if s, d := ft.docs(metrics.ResultSent), ft.docs(metrics.ResultDropped); s+d != total {
		t.Errorf("sent %v + dropped %v != %d", s, d, total)
	}
	if got := len(messageSet(t, es.docs())); float64(got) != ft.docs(metrics.ResultSent) {
		t.Errorf("%d distinct messages arrived, sent = %v", got, ft.docs(metrics.ResultSent))
	}
}

// With when_full: block nothing is dropped, however long the outage.
func TestForwarderBlockDropsNothing(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	es := newRecES(t, func(n int, req bulkRec, w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		writeItems(w, req, nil)
	})
	ft := newFwdTest(t, es.Server, 0, func(o *Options) {
		o.Settings.BufferMax = 100
		o.Settings.MaxDocs = 10
	})
	ft.appendLines("blk", 0, 200)
	ft.start()
	waitFor(t, "failing requests", func() bool { return es.hits.Load() >= 10 })
	ft.appendLines("blk2", 0, 200)
	down.Store(false)
	waitFor(t, "all lines", func() bool { return ft.docs(metrics.ResultSent) >= 400 })
	waitFor(t, "the checkpoint", func() bool { return ft.checkpoint() == ft.fileSize() })
	ft.stop()
	if got := ft.docs(metrics.ResultDropped); got != 0 {
		t.Errorf("dropped = %v with when_full: block", got)
	}
	if msgs := messageSet(t, es.docs()); len(msgs) != 400 {
		t.Errorf("%d distinct messages, want 400", len(msgs))
	}
}

// Stopping must not hang when the cluster is down and a second batch is
// waiting for a worker; FinalTimeout bounds the stop.
func TestForwarderStopWhileDownWithQueuedBatch(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	es := newRecES(t, func(n int, req bulkRec, w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		writeItems(w, req, nil)
	})
	ft := newFwdTest(t, es.Server, 0, func(o *Options) {
		o.Settings.MaxDocs = 1
		o.Tail.CheckpointEvery = time.Hour
	})
	ft.appendLines("q", 0, 3)
	ft.start()
	waitFor(t, "failing requests", func() bool { return es.hits.Load() >= 3 })
	ft.cancel()
	var returned bool
	select {
	case err := <-ft.done:
		returned = true
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(1500 * time.Millisecond): // FinalTimeout is 200ms
	}
	if !returned {
		t.Errorf("Run did not return within 1.5s of its cancellation while the cluster is down (FinalTimeout 200ms)")
	}
	t.Logf("returned within 1.5s of cancellation while down: %v", returned)
	if got := ft.docs(metrics.ResultSent); got != 0 {
		t.Errorf("sent = %v while down", got)
	}
	// The cluster comes back: Run must return now in any case.
	down.Store(false)
	if !returned {
		select {
		case err := <-ft.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("Run did not return even after the cluster recovered")
		}
	}
	ft.done = nil
}

// dtoHistogram reads a histogram's count and sum.
type dtoHistogram struct {
	count uint64
	sum   float64
}

func (h *dtoHistogram) read(t *testing.T, c prometheus.Collector) {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	m := <-ch
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		t.Fatal(err)
	}
	h.count = pb.GetHistogram().GetSampleCount()
	h.sum = pb.GetHistogram().GetSampleSum()
}

// TestForwarderRoutes: an input with a Route goes to its own index, takes
// its _id from the text (equal lines are one document) and embeds its JSON;
// other inputs are untouched.
func TestForwarderRoutes(t *testing.T) {
	es := newRecES(t, nil)
	var eventsPath string
	ft := newFwdTest(t, es.Server, 0, func(o *Options) {
		eventsPath = filepath.Join(filepath.Dir(o.Inputs[0].Paths[0]), "events.log")
		event := `{"reason":"BackOff","count":2}`
		body := event + "\n" + event + "\nnot json\n"
		if err := os.WriteFile(eventsPath, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		o.Inputs = append(o.Inputs, tail.Input{Name: "events", Paths: []string{eventsPath}, Format: tail.FormatPlain, StartAt: tail.StartAtBeginning})
		o.Settings.Routes = map[string]Route{"events": {Index: "k8s-events-%{+yyyy.MM}", IDFromText: true, Embed: "kubernetes.event"}}
	})
	ft.appendLines("app", 0, 2)
	ft.start()
	waitFor(t, "all documents sent", func() bool { return ft.docs(metrics.ResultSent) >= 5 })
	ft.stop()
	ids := map[string][]string{}
	for _, d := range es.docs() {
		ids[d.index] = append(ids[d.index], d.id)
		if d.index != "k8s-events-"+testEpoch.UTC().Format("2006.01") {
			wantNoField(t, d.doc, "kubernetes")
			continue
		}
		if d.doc["message"] == "not json" {
			wantNoField(t, d.doc, "kubernetes")
			continue
		}
		wantField(t, d.doc, "kubernetes.event.reason", "BackOff")
		wantField(t, d.doc, "event.dataset", "events")
	}
	events := ids["k8s-events-"+testEpoch.UTC().Format("2006.01")]
	if len(events) != 3 || events[0] != events[1] || events[0] == events[2] {
		t.Errorf("event documents' ids = %v, want two equal then one other", events)
	}
	if app := ids["logstash-"+testEpoch.UTC().Format("2006.01.02")]; len(app) != 2 || app[0] == app[1] {
		t.Errorf("app documents' ids = %v, want two distinct ones in the default index", app)
	}
}

// A state_dir that cannot be written (here: a path under a regular file)
// makes every checkpoint fail: each failure is counted, and the lines are
// still delivered.
func TestForwarderCheckpointErrorsAreCounted(t *testing.T) {
	es := newRecES(t, nil)
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ft := newFwdTest(t, es.Server, 0, func(o *Options) { o.StateDir = filepath.Join(blocker, "state") })
	ft.appendLines("hello", 0, 10)
	ft.start()
	waitFor(t, "all documents sent", func() bool { return ft.docs(metrics.ResultSent) >= 10 })
	waitFor(t, "two failed checkpoints", func() bool { return testutil.ToFloat64(ft.self.CheckpointErrors) >= 2 })
	ft.cancel()
	if err := <-ft.done; err == nil {
		t.Error("Run returned no error although its final checkpoint failed")
	}
	ft.done = nil
}

// A reader held back by its cluster does not scan: files that appear in
// the meantime are waiting too, and the buffer gauge says so.
func TestForwarderBufferGaugeCountsFilesNotFoundYet(t *testing.T) {
	es := newRecES(t, func(n int, req bulkRec, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	ft := newFwdTest(t, es.Server, 0, func(o *Options) {
		o.Inputs[0].Paths = []string{filepath.Join(filepath.Dir(o.Inputs[0].Paths[0]), "*.log")}
		o.Settings.MaxDocs = 5
		o.Settings.MaxWait = time.Millisecond
		o.Clock = nil // real time, so max_wait elapses
	})
	ft.clockNow.Store(0)
	ft.appendLines("first", 0, 50) // more batches than the one worker takes: the reader waits
	ft.start()
	waitFor(t, "failing requests", func() bool { return es.hits.Load() >= 3 })
	newFile := filepath.Join(ft.dir, "new.log")
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "new line %d\n", i)
	}
	if err := os.WriteFile(newFile, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the gauge to count the new file", func() bool {
		return testutil.ToFloat64(ft.self.ForwardBufferBytes) >= float64(b.Len())
	})
}

// The forwarder's counters continue across restarts from its checkpoint.
func TestForwarderCountersContinueAfterARestart(t *testing.T) {
	es := newRecES(t, nil)
	ft := newFwdTest(t, es.Server, 0, nil)
	ft.appendLines("x", 0, 10)
	ft.start()
	waitFor(t, "all documents sent", func() bool { return ft.docs(metrics.ResultSent) >= 10 })
	waitFor(t, "the checkpoint", func() bool { return ft.checkpoint() == ft.fileSize() })
	ft.stop()

	ft2 := restartOn(t, ft, es.Server)
	if got := ft2.docs(metrics.ResultSent); got != 10 {
		t.Errorf("sent = %v after the restart, want the 10 of the first run", got)
	}
	ft2.appendLines("y", 0, 5)
	ft2.start()
	waitFor(t, "the new documents sent", func() bool { return ft2.docs(metrics.ResultSent) >= 15 })
	ft2.stop()
	if got := ft2.docs(metrics.ResultSent); got != 15 {
		t.Errorf("sent = %v, want 15", got)
	}
}
