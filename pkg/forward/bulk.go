package forward

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// This file is logmeter's thin client for the Elasticsearch REST API: the
// Bulk API, GET / and index templates. It uses only the standard library
// and never checks which product answers, so OpenSearch and
// Elasticsearch-compatible servers work too.

// ClientOptions configure a Client.
type ClientOptions struct {
	// URLs are the nodes (http or https, without credentials; a path
	// prefix is kept). A request goes to one of them and fails over to the
	// next on connection errors, HTTP 429 and 5xx.
	URLs      []string
	Auth      Credentials // at most one scheme
	TLS       *tls.Config // nil: Go's default
	Gzip      bool        // gzip request bodies (Content-Encoding: gzip)
	Timeout   time.Duration
	UserAgent string // empty: "logmeter"
}

// Client talks to one Elasticsearch cluster. It is safe for concurrent use.
type Client struct {
	hc        *http.Client
	bases     []string // URLs without a trailing slash
	auth      string   // Authorization header value, "" for none
	secrets   []string // never put into an error message
	gzip      bool
	timeout   time.Duration
	userAgent string
	gzPool    sync.Pool // *gzip.Writer

	mu    sync.Mutex
	order []int // indexes into bases: the last good URL first, failed ones last
}

// NewClient checks the options and returns a Client. It does not connect.
func NewClient(o ClientOptions) (*Client, error) {
	if len(o.URLs) == 0 {
		return nil, errors.New("elasticsearch client: no URL")
	}
	if err := o.Auth.validate(); err != nil {
		return nil, err
	}
	if o.Timeout < 0 {
		return nil, errors.New("elasticsearch client: negative timeout")
	}
	c := &Client{
		auth:      o.Auth.header(),
		secrets:   o.Auth.secretStrings(),
		gzip:      o.Gzip,
		timeout:   o.Timeout,
		userAgent: o.UserAgent,
	}
	if c.userAgent == "" {
		c.userAgent = "logmeter"
	}
	for i, raw := range o.URLs {
		u, err := url.Parse(raw)
		if err != nil {
			// url.Parse's message quotes the whole URL, which may hold a password.
			return nil, fmt.Errorf("elasticsearch client: URL #%d is not a valid URL", i+1)
		}
		if u.User != nil {
			return nil, fmt.Errorf("elasticsearch client: URL %s holds credentials; use the auth settings", u.Redacted())
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, fmt.Errorf("elasticsearch client: URL %s: the scheme must be http or https", u.Redacted())
		}
		if u.Host == "" {
			return nil, fmt.Errorf("elasticsearch client: URL %s has no host", u.Redacted())
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("elasticsearch client: URL %s must not have a query or fragment", u.Redacted())
		}
		c.bases = append(c.bases, strings.TrimRight(u.String(), "/"))
		c.order = append(c.order, i)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if o.TLS != nil {
		tr.TLSClientConfig = o.TLS.Clone()
	}
	tr.MaxIdleConnsPerHost = 16
	c.hc = &http.Client{Transport: tr}
	return c, nil
}

// Outcome is what to do with one document after a Bulk request.
type Outcome int

const (
	OK    Outcome = iota // stored (or already there)
	Retry                // send it again later
	Fail                 // the server will never take it as it is
)

func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Retry:
		return "retry"
	case Fail:
		return "fail"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// ItemResult is the server's answer for one document of a Bulk request.
type ItemResult struct {
	Status          int    // HTTP status of the item (201, 200, 409, 429, 400, 500...)
	ErrType, Reason string // from the item's error object, if any
}

// Outcome classifies the result:
//   - OK: 2xx, and 409 (a version conflict: with op_type create, or an _id
//     chosen by us, it means the document is already there);
//   - Retry: 429, 5xx, any *rejected_execution_exception (Elasticsearch's
//     es_…, OpenSearch's), and statuses that are neither 2xx nor 4xx;
//   - Fail: other 4xx (mapping errors, invalid documents...).
func (r ItemResult) Outcome() Outcome {
	switch {
	case r.Status >= 200 && r.Status <= 299, r.Status == http.StatusConflict:
		return OK
	case strings.HasSuffix(r.ErrType, "rejected_execution_exception"):
		return Retry
	case r.Status == http.StatusTooManyRequests:
		return Retry
	case r.Status >= 400 && r.Status <= 499:
		return Fail
	}
	return Retry
}

// StatusError is an HTTP status that answered a whole request: the error
// of Bulk, Info and PutIndexTemplate for non-2xx answers. Type and Reason
// come from the Elasticsearch error body, cleaned of any credential.
type StatusError struct {
	Method, URL  string // the URL holds no credentials
	Status       int
	Type, Reason string
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Method, e.URL, e.Status)
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Type != "" {
		b.WriteString(": " + e.Type)
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	return b.String()
}

// failoverError is the error of a request that every URL failed.
type failoverError struct{ errs []error }

func (e *failoverError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "all %d Elasticsearch URLs failed: ", len(e.errs))
	for i, err := range e.errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e *failoverError) Unwrap() []error { return e.errs }

// Bulk sends body, the NDJSON of n documents (an action line and a
// source line per document, each ending in "\n"), to POST /_bulk and
// returns one result per document, in order.
//
// A non-nil error means the request as a whole failed: no usable answer
// (connection refused, timeout), HTTP 429, 5xx or 4xx on the whole
// request, an unparsable answer, or one whose number of items is not n.
// The caller retries the whole batch later (documents have fixed _ids, so
// one stored anyway is overwritten, not duplicated). On connection errors,
// timeouts, 429 and 5xx the next URL is tried, each URL once per call;
// other errors are returned at once. errors.As finds a *StatusError for
// HTTP statuses. body is not read after Bulk returns.
//
// Compatible servers: an answer with status 200 and no "items" is taken as
// n OK results (status 200) when it says "errors":false, or, as
// ZincSearch's {"message":"bulk data inserted","record_count":N} does,
// when its record_count is n.
func (c *Client) Bulk(ctx context.Context, body []byte, n int) ([]ItemResult, error) {
	switch {
	case n < 0:
		return nil, errors.New("bulk: negative document count")
	case n == 0 && len(body) == 0:
		return []ItemResult{}, nil
	case n == 0 || len(body) == 0:
		return nil, errors.New("bulk: the body and the document count disagree")
	case body[len(body)-1] != '\n':
		return nil, errors.New(`bulk: the body must end with "\n"`)
	}
	req := esRequest{method: http.MethodPost, path: "/_bulk", body: body, contentType: "application/x-ndjson"}
	if c.gzip {
		var err error
		if req.body, err = c.compress(body); err != nil {
			return nil, err
		}
		req.gzipped = true
	}
	var results []ItemResult
	err := c.do(ctx, &req, func(resp *http.Response) error {
		var err error
		results, err = parseBulkResponse(resp.Body, resp.StatusCode, n, c.clean)
		return err
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// compress gzips body at the fastest level: log lines compress well
// anyway and the CPU goes to reading files.
func (c *Client) compress(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(body)/4 + 64)
	zw, _ := c.gzPool.Get().(*gzip.Writer)
	if zw == nil {
		var err error
		if zw, err = gzip.NewWriterLevel(&buf, gzip.BestSpeed); err != nil {
			return nil, err
		}
	} else {
		zw.Reset(&buf)
	}
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("bulk: gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("bulk: gzip: %w", err)
	}
	zw.Reset(io.Discard)
	c.gzPool.Put(zw)
	return buf.Bytes(), nil
}

// bulkItem is the body of one entry of a bulk answer's items.
type bulkItem struct {
	Status int            `json:"status"`
	Error  *bulkItemError `json:"error"`
}

// bulkItemEntry is one entry of items: {"index": {...}} (or create,
// update, delete). All four point to the same bulkItem.
type bulkItemEntry struct {
	Index  *bulkItem `json:"index"`
	Create *bulkItem `json:"create"`
	Update *bulkItem `json:"update"`
	Delete *bulkItem `json:"delete"`
}

// bulkItemError is an item's error: an object with type, reason and
// caused_by, or (very old or compatible servers) a string.
type bulkItemError struct {
	Type, Reason string
}

func (e *bulkItemError) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &e.Reason)
	}
	var o struct {
		Type     string `json:"type"`
		Reason   string `json:"reason"`
		CausedBy *struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"caused_by"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	e.Type, e.Reason = o.Type, o.Reason
	if cb := o.CausedBy; cb != nil && (cb.Type != "" || cb.Reason != "") {
		e.Reason += " (caused by " + cb.Type + ": " + cb.Reason + ")"
	}
	return nil
}

// parseBulkResponse reads a bulk answer with a streaming decoder, so that
// a 5000-item answer is never held whole. clean sanitises error reasons.
func parseBulkResponse(r io.Reader, status, n int, clean func(string, int) string) ([]ItemResult, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, fmt.Errorf("bulk response: %w", err)
	}
	var (
		results     []ItemResult
		haveItems   bool
		errorsFlag  *bool
		recordCount *int64
		topError    bool
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("bulk response: %w", err)
		}
		key, _ := tok.(string)
		switch key {
		case "items":
			haveItems = true
			if results, err = parseBulkItems(dec, n, clean); err != nil {
				return nil, err
			}
		case "errors":
			errorsFlag = new(bool)
			err = dec.Decode(errorsFlag)
		case "record_count":
			recordCount = new(int64)
			err = dec.Decode(recordCount)
		default:
			topError = topError || key == "error"
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return nil, fmt.Errorf("bulk response: %q: %w", key, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, fmt.Errorf("bulk response: %w", err)
	}
	if haveItems {
		return results, nil
	}
	// A compatible server's short answer (see Bulk).
	ok := status == http.StatusOK && !topError &&
		(errorsFlag == nil || !*errorsFlag) &&
		((errorsFlag != nil && recordCount == nil) || (recordCount != nil && *recordCount == int64(n)))
	if !ok {
		if recordCount != nil && *recordCount != int64(n) {
			return nil, fmt.Errorf("bulk response: record_count is %d for %d documents", *recordCount, n)
		}
		return nil, errors.New("bulk response: no items")
	}
	results = make([]ItemResult, n)
	for i := range results {
		results[i].Status = http.StatusOK
	}
	return results, nil
}

// maxItemReason bounds an item's Reason (Elasticsearch quotes a preview of
// the offending value).
const maxItemReason = 1024

func parseBulkItems(dec *json.Decoder, n int, clean func(string, int) string) ([]ItemResult, error) {
	if err := expectDelim(dec, '['); err != nil {
		return nil, fmt.Errorf("bulk response: items: %w", err)
	}
	results := make([]ItemResult, 0, n)
	var item bulkItem
	var entry bulkItemEntry
	for dec.More() {
		if len(results) == n {
			return nil, fmt.Errorf("bulk response: more than %d items for %d documents", n, n)
		}
		item = bulkItem{}
		entry = bulkItemEntry{&item, &item, &item, &item}
		if err := dec.Decode(&entry); err != nil {
			return nil, fmt.Errorf("bulk response: item %d: %w", len(results), err)
		}
		if item.Status == 0 {
			return nil, fmt.Errorf("bulk response: item %d has no status", len(results))
		}
		res := ItemResult{Status: item.Status}
		if e := item.Error; e != nil {
			res.ErrType = clean(e.Type, 128)
			res.Reason = clean(e.Reason, maxItemReason)
		}
		results = append(results, res)
	}
	if err := expectDelim(dec, ']'); err != nil {
		return nil, fmt.Errorf("bulk response: items: %w", err)
	}
	if len(results) != n {
		return nil, fmt.Errorf("bulk response: %d items for %d documents", len(results), n)
	}
	return results, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", string(want), tok)
	}
	return nil
}

// Info calls GET / and returns the server's version number and its
// distribution: "opensearch" when the answer says so, "elasticsearch" when
// the X-Elastic-Product header does (Elasticsearch 7.14 and later), else ""
// (older Elasticsearch or a compatible server). It never refuses a server.
func (c *Client) Info(ctx context.Context) (version, distribution string, err error) {
	req := esRequest{method: http.MethodGet, path: "/"}
	err = c.do(ctx, &req, func(resp *http.Response) error {
		var info struct {
			Version struct {
				Number       json.RawMessage `json:"number"`
				Distribution string          `json:"distribution"`
			} `json:"version"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info); err != nil {
			return fmt.Errorf("info response: %w", err)
		}
		num := info.Version.Number
		if err := json.Unmarshal(num, &version); err != nil {
			version = string(num) // a number, or absent
		}
		version = c.clean(version, 64)
		switch {
		case strings.EqualFold(info.Version.Distribution, "opensearch"):
			distribution = "opensearch"
		case strings.EqualFold(resp.Header.Get("X-Elastic-Product"), "Elasticsearch"):
			distribution = "elasticsearch"
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return version, distribution, nil
}

// PutIndexTemplate installs the composable index template body (PUT
// /_index_template/NAME). When the server answers 404, 405 or 400 to it
// (Elasticsearch 7.0-7.7, some compatible servers), it installs it through
// the legacy endpoint (PUT /_template/NAME) instead, moving "template"'s
// settings, mappings and aliases to the top level and "priority" to
// "order", and dropping what legacy templates lack (composed_of,
// data_stream, _meta...). A 400 that says the body itself is wrong
// (mapper_parsing_exception, x_content_parse_exception, parse_exception)
// is returned as is.
func (c *Client) PutIndexTemplate(ctx context.Context, name string, body []byte) error {
	if name == "" {
		return errors.New("index template: empty name")
	}
	discard := func(*http.Response) error { return nil }
	req := esRequest{method: http.MethodPut, path: "/_index_template/" + url.PathEscape(name), body: body, contentType: "application/json"}
	err := c.do(ctx, &req, discard)
	var se *StatusError
	if err == nil || !errors.As(err, &se) || !legacyTemplateFallback(se) {
		return err
	}
	legacy, cerr := legacyTemplate(body)
	if cerr != nil {
		return fmt.Errorf("%w; cannot make a legacy template of it: %v", err, cerr)
	}
	req = esRequest{method: http.MethodPut, path: "/_template/" + url.PathEscape(name), body: legacy, contentType: "application/json"}
	if lerr := c.do(ctx, &req, discard); lerr != nil {
		return fmt.Errorf("%v; legacy template: %w", err, lerr)
	}
	return nil
}

func legacyTemplateFallback(se *StatusError) bool {
	switch se.Status {
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return true
	case http.StatusBadRequest:
		switch se.Type {
		case "mapper_parsing_exception", "x_content_parse_exception", "parse_exception":
			return false
		}
		return true
	}
	return false
}

// legacyTemplate turns a composable index template into a legacy one.
func legacyTemplate(body []byte) ([]byte, error) {
	var t map[string]json.RawMessage
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, err
	}
	if inner, ok := t["template"]; ok {
		var parts map[string]json.RawMessage
		if err := json.Unmarshal(inner, &parts); err != nil {
			return nil, fmt.Errorf("template: %w", err)
		}
		for _, k := range []string{"settings", "mappings", "aliases"} {
			if v, ok := parts[k]; ok {
				t[k] = v
			}
		}
	}
	if p, ok := t["priority"]; ok {
		t["order"] = p
	}
	for _, k := range []string{"template", "priority", "composed_of", "data_stream", "_meta",
		"allow_auto_create", "deprecated", "ignore_missing_component_templates"} {
		delete(t, k)
	}
	return json.Marshal(t)
}

// Backoff returns the delay before retry number attempt (0-based):
// "full jitter", a uniformly random duration in [0, d) where d is initial
// doubled attempt times, capped at max. rnd returns values in [0, 1);
// nil uses math/rand/v2.
func Backoff(attempt int, initial, max time.Duration, rnd func() float64) time.Duration {
	if initial <= 0 {
		return 0
	}
	if max < initial {
		max = initial
	}
	if attempt < 0 {
		attempt = 0
	}
	d := max
	if attempt < 62 {
		if f := float64(initial) * math.Exp2(float64(attempt)); f < float64(max) {
			d = time.Duration(f)
		}
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	x := rnd()
	if !(x >= 0) { // also NaN
		x = 0
	}
	if x >= 1 {
		x = math.Nextafter(1, 0)
	}
	return time.Duration(x * float64(d))
}

// esRequest is one HTTP request, replayable on each URL.
type esRequest struct {
	method, path string
	body         []byte // nil: no body
	contentType  string
	gzipped      bool
}

// do sends req to the URLs in failover order until one answers with
// something other than a connection error, 429 or 5xx, and calls handle
// for a 2xx answer (its body is read within the per-request timeout).
func (c *Client) do(ctx context.Context, req *esRequest, handle func(*http.Response) error) error {
	c.mu.Lock()
	order := append([]int(nil), c.order...)
	c.mu.Unlock()
	var errs []error
	for _, i := range order {
		err, failover := c.attempt(ctx, i, req, handle)
		if err == nil || !failover {
			c.moveURL(i, true)
			return err
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break // our caller gave up: not the node's fault
		}
		c.moveURL(i, false)
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return &failoverError{errs: errs}
}

// moveURL puts URL i first (good) or last (failed) in the failover order.
func (c *Client) moveURL(i int, good bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.order
	if good && o[0] == i || !good && o[len(o)-1] == i {
		return
	}
	k := 0
	for k < len(o) && o[k] != i {
		k++
	}
	if good {
		copy(o[1:k+1], o[:k])
		o[0] = i
	} else {
		copy(o[k:], o[k+1:])
		o[len(o)-1] = i
	}
}

// attempt sends req to URL i. failover says whether another URL may do
// better: connection errors, timeouts, 429, 5xx and answers cut short.
func (c *Client) attempt(ctx context.Context, i int, req *esRequest, handle func(*http.Response) error) (err error, failover bool) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	u := c.bases[i] + req.path
	// The transport may read a request body after Do returns (when the
	// server answers early); the guard stops that once we return, so the
	// caller may reuse its buffer.
	guard := &bodyGuard{}
	defer guard.release()
	var body io.Reader
	if req.body != nil {
		body = guard.reader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return c.cleanErr(err), false
	}
	if req.body != nil {
		hr.ContentLength = int64(len(req.body))
		hr.GetBody = func() (io.ReadCloser, error) { return guard.reader(req.body), nil }
		hr.Header.Set("Content-Type", req.contentType)
		if req.gzipped {
			hr.Header.Set("Content-Encoding", "gzip")
		}
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", c.userAgent)
	if c.auth != "" {
		hr.Header.Set("Authorization", c.auth)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return c.cleanErr(err), true
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 256<<10)) // keep the connection
		_ = resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.statusError(req.method, u, resp), resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	}
	rec := &readErrRecorder{r: resp.Body}
	resp.Body = rec
	if err := handle(resp); err != nil {
		if rec.err != nil && rec.err != io.EOF {
			return c.cleanErr(fmt.Errorf("%s %s: reading the answer: %w", req.method, u, rec.err)), true
		}
		return c.cleanErr(fmt.Errorf("%s %s: %w", req.method, u, err)), false
	}
	return nil, false
}

// bodyGuard makes request body readers that fail once released.
type bodyGuard struct {
	mu       sync.Mutex
	released bool
}

type guardedReader struct {
	g *bodyGuard
	r *bytes.Reader
}

var errBodyReleased = errors.New("request body read after the request ended")

func (g *bodyGuard) reader(b []byte) io.ReadCloser {
	return guardedReader{g: g, r: bytes.NewReader(b)}
}

func (g *bodyGuard) release() {
	g.mu.Lock()
	g.released = true
	g.mu.Unlock()
}

func (r guardedReader) Read(p []byte) (int, error) {
	r.g.mu.Lock()
	defer r.g.mu.Unlock()
	if r.g.released {
		return 0, errBodyReleased
	}
	return r.r.Read(p)
}

func (guardedReader) Close() error { return nil }

// readErrRecorder remembers the error of reading an answer's body, to
// tell a connection cut short from malformed JSON.
type readErrRecorder struct {
	r   io.ReadCloser
	err error
}

func (r *readErrRecorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
}

func (r *readErrRecorder) Close() error { return r.r.Close() }

// maxErrorBody bounds what is read of a non-2xx answer.
const maxErrorBody = 64 << 10

// statusError describes a non-2xx answer from its Elasticsearch error body
// ({"error":{"type":..,"reason":..}}, {"error":"..."}, {"message":"..."}
// or short plain text), with credentials removed.
func (c *Client) statusError(method, u string, resp *http.Response) *StatusError {
	e := &StatusError{Method: method, URL: u, Status: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var eb struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(b, &eb) == nil {
		var ie bulkItemError
		if len(eb.Error) > 0 && ie.UnmarshalJSON(eb.Error) == nil {
			e.Type, e.Reason = ie.Type, ie.Reason
		}
		if e.Reason == "" {
			e.Reason = eb.Message
		}
	} else if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/plain") {
		e.Reason = string(b)
	}
	e.Type = c.clean(e.Type, 128)
	e.Reason = c.clean(e.Reason, 300)
	return e
}

// clean makes s safe for an error message: credentials replaced by
// [REDACTED], control characters by spaces, at most max bytes.
func (c *Client) clean(s string, max int) string {
	if s == "" {
		return s
	}
	for _, sec := range c.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
	}
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return ' '
			}
			return r
		}, s)
	}
	s = strings.TrimSpace(s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// cleanErr returns err, or a copy of its message without credentials if
// it holds any (the copy does not unwrap, so the original cannot leak).
func (c *Client) cleanErr(err error) error {
	msg := err.Error()
	for _, sec := range c.secrets {
		if strings.Contains(msg, sec) {
			return errors.New(c.clean(msg, math.MaxInt))
		}
	}
	return err
}
