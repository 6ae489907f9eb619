package forward

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ndjson returns a bulk body of n documents.
func testBulkBody(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "{\"create\":{\"_index\":\"logs\",\"_id\":\"id%d\"}}\n{\"message\":\"line %d\"}\n", i, i)
	}
	return b.Bytes()
}

// es8Item is one item of an Elasticsearch 8 bulk answer.
func es8Item(action string, i, status int) string {
	return fmt.Sprintf(`{%q:{"_index":"logs","_id":"id%d","_version":1,"result":"created",`+
		`"_shards":{"total":2,"successful":1,"failed":0},"_seq_no":%d,"_primary_term":1,"status":%d}}`, action, i, i, status)
}

func bulkItemsResponse(errorsFlag bool, items ...string) string {
	return fmt.Sprintf(`{"errors":%t,"took":3,"items":[%s]}`, errorsFlag, strings.Join(items, ","))
}

func okBulkResponse(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = es8Item("create", i, 201)
	}
	return bulkItemsResponse(false, items...)
}

// esAnswer is a canned HTTP answer.
type esAnswer struct {
	status int
	header map[string]string
	body   string
}

func (a esAnswer) write(w http.ResponseWriter) {
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	status := a.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, a.body)
}

// fakeES is an httptest server that records requests and answers with
// what its answer function returns.
type fakeES struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recordedRequest
	hits atomic.Int64
	fn   func(r *http.Request, body []byte) esAnswer
}

type recordedRequest struct {
	method, path string
	header       http.Header
	body         []byte // decoded if gzipped
}

func newFakeES(t *testing.T, fn func(r *http.Request, body []byte) esAnswer) *fakeES {
	t.Helper()
	f := &fakeES{fn: fn}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		var rd io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				esAnswer{status: 400, body: `{"error":{"type":"parse_exception","reason":"bad gzip"}}`}.write(w)
				return
			}
			rd = zr
		}
		body, err := io.ReadAll(rd)
		if err != nil {
			esAnswer{status: 400, body: `{"error":{"type":"parse_exception","reason":"bad body"}}`}.write(w)
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, recordedRequest{r.Method, r.URL.Path, r.Header.Clone(), body})
		f.mu.Unlock()
		f.fn(r, body).write(w)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeES) requests() []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recordedRequest(nil), f.reqs...)
}

func alwaysAnswer(a esAnswer) func(*http.Request, []byte) esAnswer {
	return func(*http.Request, []byte) esAnswer { return a }
}

func newTestClient(t *testing.T, o ClientOptions) *Client {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	c, err := NewClient(o)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// closedURL returns the URL of a server that no longer listens.
func closedURL(t *testing.T) string {
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

func TestBulkAllOK(t *testing.T) {
	const n = 3
	es := newFakeES(t, alwaysAnswer(esAnswer{body: okBulkResponse(n), header: map[string]string{"X-Elastic-Product": "Elasticsearch"}}))
	c := newTestClient(t, ClientOptions{URLs: []string{es.URL + "/"}, UserAgent: "logmeter-test"})
	body := testBulkBody(n)
	res, err := c.Bulk(context.Background(), body, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != n {
		t.Fatalf("got %d results, want %d", len(res), n)
	}
	for i, r := range res {
		if r.Status != 201 || r.Outcome() != OK {
			t.Errorf("result %d = %+v (%v), want 201 OK", i, r, r.Outcome())
		}
	}
	reqs := es.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.path != "/_bulk" {
		t.Errorf("request %s %s, want POST /_bulk", r.method, r.path)
	}
	for k, want := range map[string]string{
		"Content-Type": "application/x-ndjson", "User-Agent": "logmeter-test",
		"Content-Encoding": "", "Authorization": "",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if !bytes.Equal(r.body, body) {
		t.Errorf("server got body %q, want %q", r.body, body)
	}
}

func TestBulkArguments(t *testing.T) {
	es := newFakeES(t, alwaysAnswer(esAnswer{body: okBulkResponse(1)}))
	c := newTestClient(t, ClientOptions{URLs: []string{es.URL}})
	res, err := c.Bulk(context.Background(), nil, 0)
	if err != nil || len(res) != 0 {
		t.Errorf("Bulk(nil, 0) = %v, %v; want no results, no error", res, err)
	}
	for _, tc := range []struct {
		name string
		body []byte
		n    int
	}{
		{"negative n", testBulkBody(1), -1},
		{"zero n with a body", testBulkBody(1), 0},
		{"n without a body", nil, 1},
		{"no final newline", bytes.TrimSuffix(testBulkBody(1), []byte("\n")), 1},
	} {
		if _, err := c.Bulk(context.Background(), tc.body, tc.n); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if h := es.hits.Load(); h != 0 {
		t.Errorf("%d requests sent, want none", h)
	}
}

func TestBulkItemResults(t *testing.T) {
	resp := bulkItemsResponse(true,
		es8Item("index", 0, 201),
		`{"create":{"_index":"logs","_id":"id1","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[id1]: version conflict, document already exists (current version [1])","index":"logs","shard":"0"}}}`,
		`{"index":{"_index":"logs","_id":"id2","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}}}`,
		`{"index":{"_index":"logs","_id":"id3","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}}`,
		`{"index":{"_index":"logs","_id":"id4","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [n] of type [long]","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"x\""}}}}`,
		`{"update":{"_index":"logs","_id":"id5","_version":2,"result":"updated","status":200}}`,
		`{"delete":{"_index":"logs","_id":"id6","result":"not_found","status":404}}`,
		`{"index":{"_index":"logs","_id":"id7","status":500,"error":"RemoteTransportException[boom\nline two]"}}`,
	)
	want := []struct {
		res     ItemResult
		outcome Outcome
	}{
		{ItemResult{Status: 201}, OK},
		{ItemResult{409, "version_conflict_engine_exception", "[id1]: version conflict, document already exists (current version [1])"}, OK},
		{ItemResult{429, "es_rejected_execution_exception", "rejected execution of coordinating operation"}, Retry},
		{ItemResult{503, "unavailable_shards_exception", "primary shard is not active"}, Retry},
		{ItemResult{400, "mapper_parsing_exception", `failed to parse field [n] of type [long] (caused by illegal_argument_exception: For input string: "x")`}, Fail},
		{ItemResult{Status: 200}, OK},
		{ItemResult{Status: 404}, Fail},
		{ItemResult{500, "", "RemoteTransportException[boom line two]"}, Retry},
	}
	es := newFakeES(t, alwaysAnswer(esAnswer{body: resp}))
	c := newTestClient(t, ClientOptions{URLs: []string{es.URL}})
	res, err := c.Bulk(context.Background(), testBulkBody(len(want)), len(want))
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		if res[i] != w.res || res[i].Outcome() != w.outcome {
			t.Errorf("item %d = %+v (%v), want %+v (%v)", i, res[i], res[i].Outcome(), w.res, w.outcome)
		}
	}
}

func TestItemResultOutcome(t *testing.T) {
	for _, tc := range []struct {
		r    ItemResult
		want Outcome
	}{
		{ItemResult{Status: 200}, OK},
		{ItemResult{Status: 201}, OK},
		{ItemResult{Status: 409, ErrType: "version_conflict_engine_exception"}, OK},
		{ItemResult{Status: 429, ErrType: "es_rejected_execution_exception"}, Retry},
		{ItemResult{Status: 429, ErrType: "circuit_breaking_exception"}, Retry},
		{ItemResult{Status: 400, ErrType: "rejected_execution_exception"}, Retry}, // OpenSearch's name
		{ItemResult{Status: 500}, Retry},
		{ItemResult{Status: 503, ErrType: "unavailable_shards_exception"}, Retry},
		{ItemResult{Status: 400, ErrType: "mapper_parsing_exception"}, Fail},
		{ItemResult{Status: 400, ErrType: "document_parsing_exception"}, Fail},
		{ItemResult{Status: 403, ErrType: "security_exception"}, Fail},
		{ItemResult{Status: 404, ErrType: "index_not_found_exception"}, Fail},
		{ItemResult{Status: 302}, Retry},
	} {
		if got := tc.r.Outcome(); got != tc.want {
			t.Errorf("%+v.Outcome() = %v, want %v", tc.r, got, tc.want)
		}
	}
}

// TestBulkResponseFlavours covers answers of Elasticsearch 7/8/9,
// OpenSearch and compatible servers, and malformed ones.
func TestBulkResponseFlavours(t *testing.T) {
	es7 := `{"took":30,"errors":false,"items":[` +
		`{"index":{"_index":"logs","_type":"_doc","_id":"a","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}},` +
		`{"index":{"_index":"logs","_type":"_doc","_id":"b","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":1,"_primary_term":1,"status":201}}]}`
	openSearch := `{"took":12,"errors":true,"items":[` +
		`{"create":{"_index":"logs","_id":"a","_version":1,"result":"created","forced_refresh":false,"_shards":{"total":2,"successful":2,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}},` +
		`{"create":{"_index":"logs","_id":"b","status":429,"error":{"type":"rejected_execution_exception","reason":"rejected execution"}}}]}`
	es9 := `{"errors":false,"took":0,"ingest_took":0,"items":[` + es8Item("create", 0, 201) + `,` + es8Item("create", 1, 201) + `]}`
	ok2 := []ItemResult{{Status: 201}, {Status: 201}}
	zinc2 := []ItemResult{{Status: 200}, {Status: 200}}
	for _, tc := range []struct {
		name    string
		a       esAnswer
		want    []ItemResult
		wantErr string
	}{
		{name: "elasticsearch 7", a: esAnswer{body: es7}, want: ok2},
		{name: "elasticsearch 9", a: esAnswer{body: es9, header: map[string]string{"X-Elastic-Product": "Elasticsearch"}}, want: ok2},
		{name: "opensearch", a: esAnswer{body: openSearch}, want: []ItemResult{{Status: 201}, {429, "rejected_execution_exception", "rejected execution"}}},
		{name: "gzipped answer", a: esAnswer{body: es9, header: map[string]string{"Content-Encoding": "gzip"}}, want: ok2},
		{name: "zincsearch", a: esAnswer{body: `{"message":"bulk data inserted","record_count":2}`}, want: zinc2},
		{name: "errors false without items", a: esAnswer{body: `{"took":1,"errors":false}`}, want: zinc2},
		{name: "zincsearch with another count", a: esAnswer{body: `{"message":"bulk data inserted","record_count":1}`}, wantErr: "record_count is 1 for 2 documents"},
		{name: "zincsearch with status 201", a: esAnswer{status: 201, body: `{"message":"bulk data inserted","record_count":2}`}, wantErr: "no items"},
		{name: "errors true without items", a: esAnswer{body: `{"errors":true}`}, wantErr: "no items"},
		{name: "no items nor errors", a: esAnswer{body: `{"message":"ok"}`}, wantErr: "no items"},
		{name: "error object with 200", a: esAnswer{body: `{"error":{"type":"x","reason":"y"},"errors":false}`}, wantErr: "no items"},
		{name: "fewer items", a: esAnswer{body: bulkItemsResponse(false, es8Item("index", 0, 201))}, wantErr: "1 items for 2 documents"},
		{name: "more items", a: esAnswer{body: okBulkResponse(3)}, wantErr: "more than 2 items"},
		{name: "item without status", a: esAnswer{body: bulkItemsResponse(false, es8Item("index", 0, 201), `{"index":{"_id":"b"}}`)}, wantErr: "item 1 has no status"},
		{name: "unknown action", a: esAnswer{body: bulkItemsResponse(false, es8Item("index", 0, 201), `{"upsert":{"status":201}}`)}, wantErr: "item 1 has no status"},
		{name: "not JSON", a: esAnswer{body: `<html>ok</html>`}, wantErr: "bulk response"},
		{name: "array", a: esAnswer{body: `[]`}, wantErr: "bulk response"},
		{name: "empty", a: esAnswer{body: ``}, wantErr: "unexpected EOF"},
		{name: "cut short", a: esAnswer{body: okBulkResponse(2)[:100]}, wantErr: "bulk response"},
		{name: "items not an array", a: esAnswer{body: `{"items":{}}`}, wantErr: "items"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			es := newFakeES(t, func(*http.Request, []byte) esAnswer {
				if a.header["Content-Encoding"] == "gzip" {
					var b bytes.Buffer
					zw := gzip.NewWriter(&b)
					_, _ = io.WriteString(zw, a.body)
					_ = zw.Close()
					return esAnswer{status: a.status, header: a.header, body: b.String()}
				}
				return a
			})
			c := newTestClient(t, ClientOptions{URLs: []string{es.URL}})
			res, err := c.Bulk(context.Background(), testBulkBody(2), 2)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q (results %+v)", err, tc.wantErr, res)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(res) != fmt.Sprint(tc.want) {
				t.Errorf("results = %+v, want %+v", res, tc.want)
			}
		})
	}
}

func TestBulkGzip(t *testing.T) {
	const n = 50
	es := newFakeES(t, alwaysAnswer(esAnswer{body: okBulkResponse(n)}))
	c := newTestClient(t, ClientOptions{URLs: []string{es.URL}, Gzip: true})
	body := testBulkBody(n)
	for range 2 { // the second time with a pooled gzip writer
		if _, err := c.Bulk(context.Background(), body, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range es.requests() {
		if r.header.Get("Content-Encoding") != "gzip" {
			t.Errorf("Content-Encoding = %q, want gzip", r.header.Get("Content-Encoding"))
		}
		if !bytes.Equal(r.body, body) { // the server decoded it
			t.Errorf("decoded body differs from the one sent")
		}
		if cl := r.header.Get("Content-Length"); cl == "" || cl == fmt.Sprint(len(body)) {
			t.Errorf("Content-Length = %q, want the compressed size", cl)
		}
	}
}

// TestBulkWholeRequestErrors: 429 and 5xx make the client try the next
// URL; other 4xx do not. Either way Bulk fails when no URL answers 2xx.
func TestBulkWholeRequestErrors(t *testing.T) {
	overloaded := esAnswer{status: 429, body: `{"error":{"root_cause":[],"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"},"status":429}`}
	for _, tc := range []struct {
		name       string
		first      esAnswer
		second     esAnswer
		wantErr    string // "" = Bulk succeeds
		wantSecond int64  // requests that reached the second URL
		wantStatus int    // of the StatusError found in err
	}{
		{"429 then ok", overloaded, esAnswer{body: okBulkResponse(1)}, "", 1, 0},
		{"503 then ok", esAnswer{status: 503, body: `{"error":{"type":"cluster_block_exception","reason":"blocked by: [SERVICE_UNAVAILABLE/1/state not recovered]"},"status":503}`}, esAnswer{body: okBulkResponse(1)}, "", 1, 0},
		{"502 from a proxy then ok", esAnswer{status: 502, header: map[string]string{"Content-Type": "text/html"}, body: "<html>bad gateway</html>"}, esAnswer{body: okBulkResponse(1)}, "", 1, 0},
		{"429 twice", overloaded, overloaded, "all 2 Elasticsearch URLs failed", 1, 429},
		{"500 then 429", esAnswer{status: 500, body: `{"error":"internal"}`}, overloaded, "HTTP 500 Internal Server Error: internal", 1, 500},
		{"413 is not retried elsewhere", esAnswer{status: 413, body: `{"error":{"type":"content_too_long_exception","reason":"entity too large"}}`}, esAnswer{body: okBulkResponse(1)}, "HTTP 413 Request Entity Too Large: content_too_long_exception: entity too large", 0, 413},
		{"401", esAnswer{status: 401, body: `{"error":{"type":"security_exception","reason":"missing authentication credentials"}}`}, esAnswer{body: okBulkResponse(1)}, "security_exception", 0, 401},
		{"malformed 200 is not retried elsewhere", esAnswer{body: "{"}, esAnswer{body: okBulkResponse(1)}, "bulk response", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es1 := newFakeES(t, alwaysAnswer(tc.first))
			es2 := newFakeES(t, alwaysAnswer(tc.second))
			c := newTestClient(t, ClientOptions{URLs: []string{es1.URL, es2.URL}})
			res, err := c.Bulk(context.Background(), testBulkBody(1), 1)
			if got := es2.hits.Load(); got != tc.wantSecond {
				t.Errorf("second URL got %d requests, want %d", got, tc.wantSecond)
			}
			if tc.wantErr == "" {
				if err != nil || len(res) != 1 || res[0].Outcome() != OK {
					t.Fatalf("Bulk = %+v, %v; want one OK result", res, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), es1.URL+"/_bulk") {
				t.Errorf("err = %v, want it to name %s/_bulk", err, es1.URL)
			}
			var se *StatusError
			if got := errors.As(err, &se); got != (tc.wantStatus != 0) || got && se.Status != tc.wantStatus {
				t.Errorf("errors.As(StatusError) = %v %+v, want status %d", got, se, tc.wantStatus)
			}
		})
	}
}

func TestBulkConnectionRefusedFailsOver(t *testing.T) {
	es := newFakeES(t, alwaysAnswer(esAnswer{body: okBulkResponse(1)}))
	c := newTestClient(t, ClientOptions{URLs: []string{closedURL(t), es.URL}})
	for i := range 3 {
		if _, err := c.Bulk(context.Background(), testBulkBody(1), 1); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if got := es.hits.Load(); got != 3 {
		t.Errorf("second URL got %d requests, want 3", got)
	}
	// Only the first call tried the dead URL: later ones start with the
	// last good one. With both dead, the error names both.
	c2 := newTestClient(t, ClientOptions{URLs: []string{closedURL(t), closedURL(t)}})
	_, err := c2.Bulk(context.Background(), testBulkBody(1), 1)
	if err == nil || !strings.Contains(err.Error(), "all 2 Elasticsearch URLs failed") {
		t.Errorf("err = %v, want all URLs failed", err)
	}
}

// TestFailoverOrder: the last good URL is tried first; a URL that failed
// goes behind the others.
func TestFailoverOrder(t *testing.T) {
	var down [3]atomic.Bool
	var servers [3]*fakeES
	var urls []string
	for i := range servers {
		servers[i] = newFakeES(t, func(*http.Request, []byte) esAnswer {
			if down[i].Load() {
				return esAnswer{status: 503, body: `{"error":"down"}`}
			}
			return esAnswer{body: okBulkResponse(1)}
		})
		urls = append(urls, servers[i].URL)
	}
	c := newTestClient(t, ClientOptions{URLs: urls})
	hits := func() [3]int64 {
		var h [3]int64
		for i, s := range servers {
			h[i] = s.hits.Load()
		}
		return h
	}
	for _, step := range []struct {
		down [3]bool
		want [3]int64 // cumulative hits after the call
	}{
		{[3]bool{false, false, false}, [3]int64{1, 0, 0}},
		{[3]bool{true, false, false}, [3]int64{2, 1, 0}}, // order now 1 2 0
		{[3]bool{false, false, false}, [3]int64{2, 2, 0}},
		{[3]bool{false, true, false}, [3]int64{2, 3, 1}}, // order now 2 0 1
		{[3]bool{false, false, false}, [3]int64{2, 3, 2}},
		{[3]bool{false, false, true}, [3]int64{3, 3, 3}}, // order now 0 1 2
		{[3]bool{true, true, false}, [3]int64{4, 4, 4}},  // order now 2 0 1
		{[3]bool{false, false, false}, [3]int64{4, 4, 5}},
	} {
		for i := range down {
			down[i].Store(step.down[i])
		}
		if _, err := c.Bulk(context.Background(), testBulkBody(1), 1); err != nil {
			t.Fatalf("down %v: %v", step.down, err)
		}
		if got := hits(); got != step.want {
			t.Fatalf("down %v: hits %v, want %v", step.down, got, step.want)
		}
	}
}

func TestBulkTimeout(t *testing.T) {
	release := make(chan struct{})
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	s1 := httptest.NewServer(http.HandlerFunc(hang))
	s2 := httptest.NewServer(http.HandlerFunc(hang))
	t.Cleanup(func() { close(release); s1.Close(); s2.Close() })

	const timeout = 100 * time.Millisecond
	c := newTestClient(t, ClientOptions{URLs: []string{s1.URL, s2.URL}, Timeout: timeout})
	start := time.Now()
	_, err := c.Bulk(context.Background(), testBulkBody(1), 1)
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline exceeded", err)
	}
	// Each URL is given the timeout once; allow generous scheduling slack.
	if elapsed < 2*timeout || elapsed > 2*timeout+5*time.Second {
		t.Errorf("Bulk took %v, want about %v", elapsed, 2*timeout)
	}
}

func TestBulkCallerCancels(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	var calls atomic.Int64
	s1 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 { // later requests are answered at once
			esAnswer{body: okBulkResponse(1)}.write(w)
			return
		}
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	es2 := newFakeES(t, alwaysAnswer(esAnswer{body: okBulkResponse(1)}))
	t.Cleanup(func() { close(release); s1.Close() })
	c := newTestClient(t, ClientOptions{URLs: []string{s1.URL, es2.URL}})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	_, err := c.Bulk(ctx, testBulkBody(1), 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context canceled", err)
	}
	if h := es2.hits.Load(); h != 0 {
		t.Errorf("second URL got %d requests after the caller gave up", h)
	}
	// The first URL was not blamed: it is still tried first.
	if _, err := c.Bulk(context.Background(), testBulkBody(1), 1); err != nil {
		t.Fatal(err)
	}
	if h1, h2 := calls.Load(), es2.hits.Load(); h1 != 2 || h2 != 0 {
		t.Errorf("requests: %d to the first URL, %d to the second; want 2 and 0", h1, h2)
	}
}

func TestBulkConcurrent(t *testing.T) {
	es := newFakeES(t, func(r *http.Request, body []byte) esAnswer {
		return esAnswer{body: okBulkResponse(bytes.Count(body, []byte("\n")) / 2)}
	})
	c := newTestClient(t, ClientOptions{URLs: []string{closedURL(t), es.URL}, Gzip: true})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				n := 1 + g + i
				res, err := c.Bulk(context.Background(), testBulkBody(n), n)
				if err == nil && len(res) != n {
					err = fmt.Errorf("%d results for %d documents", len(res), n)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestAuthHeaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		cred Credentials
		want string
	}{
		{"none", Credentials{}, ""},
		{"basic", Credentials{Username: "elastic", Password: "changeme"}, "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="},
		{"api key, encoded", Credentials{APIKey: "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="}, "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="},
		{"api key, id:key", Credentials{APIKey: "VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"}, "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="},
		{"bearer", Credentials{Bearer: "eyJhbGciOi.token"}, "Bearer eyJhbGciOi.token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := newFakeES(t, func(r *http.Request, _ []byte) esAnswer {
				if r.URL.Path == "/" {
					return esAnswer{body: `{"version":{"number":"8.15.0"}}`}
				}
				return esAnswer{body: okBulkResponse(1)}
			})
			c := newTestClient(t, ClientOptions{URLs: []string{es.URL}, Auth: tc.cred})
			if _, err := c.Bulk(context.Background(), testBulkBody(1), 1); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Info(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, r := range es.requests() {
				if got := r.header.Get("Authorization"); got != tc.want {
					t.Errorf("%s %s: Authorization = %q, want %q", r.method, r.path, got, tc.want)
				}
			}
		})
	}
}

// TestSecretsNeverInErrors: a server that echoes the Authorization header
// (and the password it decodes from it) in its answers must not make a
// secret appear in an error or a result.
func TestSecretsNeverInErrors(t *testing.T) {
	creds := []Credentials{
		{Username: "elastic", Password: "pw-S3cret!"},
		{APIKey: "key-id:key-S3cret"},
		{APIKey: "a2V5LWlkOmtleS1TM2NyZXQ="},
		{Bearer: "tok-S3cret"},
	}
	echo := func(r *http.Request) string {
		h := r.Header.Get("Authorization")
		s := "header [" + h + "]"
		if u, p, ok := r.BasicAuth(); ok {
			s += " user [" + u + "] password [" + p + "]"
		}
		return s
	}
	answers := map[string]func(r *http.Request) esAnswer{
		"401 json": func(r *http.Request) esAnswer {
			b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": "security_exception", "reason": "bad " + echo(r)}, "status": 401})
			return esAnswer{status: 401, body: string(b)}
		},
		"500 string error": func(r *http.Request) esAnswer {
			b, _ := json.Marshal(map[string]any{"error": echo(r)})
			return esAnswer{status: 500, body: string(b)}
		},
		"403 message": func(r *http.Request) esAnswer {
			b, _ := json.Marshal(map[string]any{"message": echo(r)})
			return esAnswer{status: 403, body: string(b)}
		},
		"401 plain text": func(r *http.Request) esAnswer {
			return esAnswer{status: 401, header: map[string]string{"Content-Type": "text/plain"}, body: echo(r) + "\n"}
		},
		"item error": func(r *http.Request) esAnswer {
			b, _ := json.Marshal(map[string]any{"errors": true, "items": []any{map[string]any{"index": map[string]any{
				"status": 400, "error": map[string]any{"type": "x " + echo(r), "reason": echo(r)}}}}})
			return esAnswer{body: string(b)}
		},
	}
	for _, cred := range creds {
		for name, ans := range answers {
			t.Run(fmt.Sprintf("%v/%s", cred.schemes(), name), func(t *testing.T) {
				es := newFakeES(t, func(r *http.Request, _ []byte) esAnswer { return ans(r) })
				c := newTestClient(t, ClientOptions{URLs: []string{es.URL, es.URL + "/other"}, Auth: cred})
				var texts []string
				res, err := c.Bulk(context.Background(), testBulkBody(1), 1)
				if err != nil {
					texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
				}
				for _, r := range res {
					texts = append(texts, r.ErrType, r.Reason)
				}
				if _, _, err := c.Info(context.Background()); err != nil {
					texts = append(texts, err.Error())
				}
				if err := c.PutIndexTemplate(context.Background(), "t", []byte(`{"index_patterns":["x"]}`)); err != nil {
					texts = append(texts, err.Error())
				}
				if len(texts) == 0 {
					t.Fatal("no error and no item error to check")
				}
				all := strings.Join(texts, "\n")
				for _, sec := range append(cred.secretStrings(), "S3cret") {
					if strings.Contains(all, sec) {
						t.Errorf("secret %q leaked into:\n%s", sec, all)
					}
				}
				if !strings.Contains(all, "[REDACTED]") {
					t.Errorf("expected [REDACTED] in:\n%s", all)
				}
			})
		}
	}
}

func TestCredentialsNeverPrinted(t *testing.T) {
	o := ClientOptions{URLs: []string{"http://es:9200"}, Auth: Credentials{Username: "elastic", Password: "pw-S3cret"}}
	for _, v := range []any{o, &o, o.Auth, &o.Auth, Credentials{APIKey: "k-S3cret"}, Credentials{Bearer: "t-S3cret"}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			if s := fmt.Sprintf(verb, v); strings.Contains(s, "S3cret") || strings.Contains(s, "5333637265") {
				t.Errorf("Sprintf(%s) = %s: shows a secret", verb, s)
			}
		}
	}
	if s := fmt.Sprint(o.Auth); !strings.Contains(s, "basic [REDACTED]") {
		t.Errorf("Sprint(Credentials) = %s, want the scheme", s)
	}
}

func TestNewClientErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       ClientOptions
		wantErr string
	}{
		{"no URL", ClientOptions{}, "no URL"},
		{"credentials in URL", ClientOptions{URLs: []string{"http://elastic:pw-S3cret@es:9200"}}, "holds credentials"},
		{"unparsable URL with a password", ClientOptions{URLs: []string{"http://elastic:pw-S3cret@es:port/"}}, "URL #1 is not a valid URL"},
		{"bad scheme", ClientOptions{URLs: []string{"ftp://es"}}, "scheme"},
		{"no host", ClientOptions{URLs: []string{"http:///x"}}, "no host"},
		{"query", ClientOptions{URLs: []string{"http://es:9200/?pretty"}}, "query"},
		{"two schemes", ClientOptions{URLs: []string{"http://es"}, Auth: Credentials{Username: "u", Password: "pw-S3cret", APIKey: "k-S3cret"}}, "several authentication schemes"},
		{"password only", ClientOptions{URLs: []string{"http://es"}, Auth: Credentials{Password: "pw-S3cret"}}, "without a username"},
		{"newline in a token", ClientOptions{URLs: []string{"http://es"}, Auth: Credentials{Bearer: "pw-S3cret\nX: y"}}, "control characters"},
		{"negative timeout", ClientOptions{URLs: []string{"http://es"}, Timeout: -1}, "negative timeout"},
	} {
		_, err := NewClient(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.wantErr)
		} else if strings.Contains(err.Error(), "S3cret") {
			t.Errorf("%s: err = %v shows a secret", tc.name, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	const initial, max = 500 * time.Millisecond, 30 * time.Second
	half := func() float64 { return 0.5 }
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 8 * time.Second, 15 * time.Second, 15 * time.Second, 15 * time.Second}
	for attempt, w := range want {
		if got := Backoff(attempt, initial, max, half); got != w {
			t.Errorf("Backoff(%d) with 0.5 = %v, want %v", attempt, got, w)
		}
	}
	for _, tc := range []struct {
		attempt      int
		initial, max time.Duration
		rnd          float64
		want         time.Duration
	}{
		{0, initial, max, 0, 0},
		{3, initial, max, 0, 0},
		{1000, initial, max, 0.5, max / 2}, // no overflow
		{1 << 62, initial, max, 0.5, max / 2},
		{-1, initial, max, 0.5, initial / 2},
		{2, initial, 0, 0.5, initial / 2}, // max below initial: initial
		{2, 0, max, 0.5, 0},
		{2, initial, max, 1.5, 2*time.Second - 1}, // a bad source is clamped
		{2, initial, max, -1, 0},
	} {
		rnd := func() float64 { return tc.rnd }
		if got := Backoff(tc.attempt, tc.initial, tc.max, rnd); got != tc.want {
			t.Errorf("Backoff(%d, %v, %v, %v) = %v, want %v", tc.attempt, tc.initial, tc.max, tc.rnd, got, tc.want)
		}
	}
	// Bounds: in [0, min(max, initial*2^attempt)).
	for attempt := range 12 {
		bound := min(max, initial<<attempt)
		if got := Backoff(attempt, initial, max, func() float64 { return 0.999999 }); got >= bound || got < bound*99/100 {
			t.Errorf("Backoff(%d) near the top = %v, want just under %v", attempt, got, bound)
		}
		if got := Backoff(attempt, initial, max, nil); got < 0 || got >= bound {
			t.Errorf("Backoff(%d, nil source) = %v, want in [0, %v)", attempt, got, bound)
		}
	}
}

func TestInfo(t *testing.T) {
	for _, tc := range []struct {
		name          string
		a             esAnswer
		version, dist string
		wantErr       string
	}{
		{"elasticsearch 8", esAnswer{header: map[string]string{"X-Elastic-Product": "Elasticsearch"},
			body: `{"name":"n","cluster_name":"c","version":{"number":"8.15.0","build_flavor":"default","lucene_version":"9.11.1"},"tagline":"You Know, for Search"}`}, "8.15.0", "elasticsearch", ""},
		{"elasticsearch 7.10", esAnswer{body: `{"name":"n","version":{"number":"7.10.2","build_flavor":"default"},"tagline":"You Know, for Search"}`}, "7.10.2", "", ""},
		{"opensearch", esAnswer{body: `{"name":"n","version":{"distribution":"opensearch","number":"2.17.0","minimum_wire_compatibility_version":"7.10.0"},"tagline":"The OpenSearch Project: https://opensearch.org/"}`}, "2.17.0", "opensearch", ""},
		{"compatible", esAnswer{body: `{"name":"zinc","version":{"number":"0.4.10"}}`}, "0.4.10", "", ""},
		{"numeric version", esAnswer{body: `{"version":{"number":8}}`}, "8", "", ""},
		{"no version", esAnswer{body: `{}`}, "", "", ""},
		{"not JSON", esAnswer{body: `<html>`}, "", "", "info response"},
		{"401", esAnswer{status: 401, body: `{"error":{"type":"security_exception","reason":"unable to authenticate user [elastic]"},"status":401}`}, "", "", "GET " /* URL */},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := newFakeES(t, alwaysAnswer(tc.a))
			c := newTestClient(t, ClientOptions{URLs: []string{es.URL}})
			v, d, err := c.Info(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || v != tc.version || d != tc.dist {
				t.Errorf("Info = %q, %q, %v; want %q, %q", v, d, err, tc.version, tc.dist)
			}
			if r := es.requests(); len(r) != 1 || r[0].method != http.MethodGet || r[0].path != "/" {
				t.Errorf("requests %+v, want GET /", r)
			}
		})
	}
}

func TestPutIndexTemplate(t *testing.T) {
	const composable = `{"index_patterns":["logstash-*"],"priority":200,"composed_of":[],"_meta":{"by":"logmeter"},` +
		`"template":{"settings":{"number_of_shards":1},"mappings":{"properties":{"message":{"type":"text"}}}}}`
	const legacy = `{"index_patterns":["logstash-*"],"mappings":{"properties":{"message":{"type":"text"}}},"order":200,"settings":{"number_of_shards":1}}`
	notFound := esAnswer{status: 404, body: `{"error":"Incorrect HTTP method for uri [/_index_template/logmeter] and method [PUT]"}`}
	for _, tc := range []struct {
		name       string
		composable esAnswer
		legacy     esAnswer
		wantPaths  []string
		wantErr    string
	}{
		{"composable", esAnswer{body: `{"acknowledged":true}`}, esAnswer{}, []string{"/_index_template/logmeter"}, ""},
		{"404: legacy", notFound, esAnswer{body: `{"acknowledged":true}`}, []string{"/_index_template/logmeter", "/_template/logmeter"}, ""},
		{"405: legacy", esAnswer{status: 405}, esAnswer{body: `{"acknowledged":true}`}, []string{"/_index_template/logmeter", "/_template/logmeter"}, ""},
		{"400 invalid index name: legacy", esAnswer{status: 400, body: `{"error":{"type":"invalid_index_name_exception","reason":"Invalid index name [_index_template], must not start with '_'."},"status":400}`},
			esAnswer{body: `{"acknowledged":true}`}, []string{"/_index_template/logmeter", "/_template/logmeter"}, ""},
		{"400 bad mapping: no fallback", esAnswer{status: 400, body: `{"error":{"type":"mapper_parsing_exception","reason":"unknown type [txt]"}}`},
			esAnswer{body: `{"acknowledged":true}`}, []string{"/_index_template/logmeter"}, "mapper_parsing_exception"},
		{"both fail", notFound, esAnswer{status: 400, body: `{"error":{"type":"illegal_argument_exception","reason":"not served"}}`},
			[]string{"/_index_template/logmeter", "/_template/logmeter"}, "HTTP 404 Not Found: Incorrect HTTP method for uri [/_index_template/logmeter] and method [PUT]; legacy template: PUT "},
		{"403: no fallback", esAnswer{status: 403, body: `{"error":{"type":"security_exception","reason":"action [indices:admin/index_template/put] is unauthorized"}}`},
			esAnswer{body: `{"acknowledged":true}`}, []string{"/_index_template/logmeter"}, "is unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := newFakeES(t, func(r *http.Request, _ []byte) esAnswer {
				if strings.HasPrefix(r.URL.Path, "/_template/") {
					return tc.legacy
				}
				return tc.composable
			})
			c := newTestClient(t, ClientOptions{URLs: []string{es.URL}})
			err := c.PutIndexTemplate(context.Background(), "logmeter", []byte(composable))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			reqs := es.requests()
			var paths []string
			for _, r := range reqs {
				paths = append(paths, r.path)
				if r.method != http.MethodPut || r.header.Get("Content-Type") != "application/json" {
					t.Errorf("%s %s with Content-Type %q, want PUT with application/json", r.method, r.path, r.header.Get("Content-Type"))
				}
			}
			if fmt.Sprint(paths) != fmt.Sprint(tc.wantPaths) {
				t.Fatalf("paths %v, want %v", paths, tc.wantPaths)
			}
			if string(reqs[0].body) != composable {
				t.Errorf("composable body %s, want %s", reqs[0].body, composable)
			}
			if len(reqs) == 2 && string(reqs[1].body) != legacy {
				t.Errorf("legacy body %s, want %s", reqs[1].body, legacy)
			}
		})
	}
}

// benchResponse is an Elasticsearch 8 answer for n documents, one in
// every errEvery with a mapping error (0: none).
func benchResponse(n, errEvery int) []byte {
	items := make([]string, n)
	for i := range items {
		items[i] = es8Item("create", i, 201)
		if errEvery > 0 && i%errEvery == 0 {
			items[i] = fmt.Sprintf(`{"create":{"_index":"logstash-2025.01.01","_id":"id%d","status":400,"error":{"type":"document_parsing_exception","reason":"[1:42] failed to parse field [n] of type [long] in document with id 'id%d'. Preview of field's value: 'abc'","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"abc\""}}}}`, i, i)
		}
	}
	return []byte(bulkItemsResponse(errEvery > 0, items...))
}

func BenchmarkBulkParse(b *testing.B) {
	const n = 5000
	clean := func(s string, _ int) string { return s }
	for _, bc := range []struct {
		name     string
		errEvery int
	}{{"all_ok", 0}, {"errors_1pct", 100}, {"errors_all", 1}} {
		resp := benchResponse(n, bc.errEvery)
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(resp)))
			b.ReportAllocs()
			for b.Loop() {
				res, err := parseBulkResponse(bytes.NewReader(resp), 200, n, clean)
				if err != nil || len(res) != n {
					b.Fatal(err, len(res))
				}
			}
		})
	}
}
