package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logmeter/logmeter/internal/estest"
)

// chaosParams are TestChaos's knobs. The defaults are the short form the
// test suite runs; bench/chaos.sh sets the long form through the
// environment.
type chaosParams struct {
	kills     int           // CHAOS_KILLS: SIGKILLs of logmeter
	outage    time.Duration // CHAOS_OUTAGE: how long the server is stopped, once (0: never)
	rate      int           // CHAOS_RATE: lines per second
	rotations int           // CHAOS_ROTATIONS: rename and copytruncate, alternately
	duration  time.Duration // CHAOS_DURATION: how long the writer writes
	seed      int64         // CHAOS_SEED: the schedule's random source
}

// chaosParamsFromEnv reads the CHAOS_* variables. Without them the run is
// the short form: 4 kills and a 5s outage in 25s of writing.
func chaosParamsFromEnv(t *testing.T) chaosParams {
	t.Helper()
	p := chaosParams{kills: 4, outage: 5 * time.Second, rate: 300, seed: time.Now().UnixNano()}
	envInt(t, "CHAOS_KILLS", &p.kills)
	envDuration(t, "CHAOS_OUTAGE", &p.outage)
	envInt(t, "CHAOS_RATE", &p.rate)
	envInt64(t, "CHAOS_SEED", &p.seed)
	// About one kill per 5s of writing, plus the outage.
	p.duration = max(10*time.Second, time.Duration(p.kills)*5*time.Second+p.outage)
	envDuration(t, "CHAOS_DURATION", &p.duration)
	p.rotations = int(p.duration / (6 * time.Second))
	envInt(t, "CHAOS_ROTATIONS", &p.rotations)
	switch {
	case p.kills < 0, p.rotations < 0, p.outage < 0:
		t.Fatalf("CHAOS_KILLS, CHAOS_ROTATIONS and CHAOS_OUTAGE must not be negative: %+v", p)
	case p.rate <= 0:
		t.Fatalf("CHAOS_RATE must be positive, not %d", p.rate)
	case p.outage > 0 && p.outage+4*time.Second > p.duration:
		t.Fatalf("CHAOS_DURATION %s leaves no room for an outage of %s", p.duration, p.outage)
	}
	return p
}

func envInt(t *testing.T, name string, dst *int) {
	t.Helper()
	var v int64
	if envInt64(t, name, &v) {
		*dst = int(v)
	}
}

func envInt64(t *testing.T, name string, dst *int64) bool {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: not an integer", name, s)
	}
	*dst = v
	return true
}

// envDuration accepts a Go duration ("30s", "2m") or a number of seconds.
func envDuration(t *testing.T, name string, dst *time.Duration) {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return
	}
	if n, err := strconv.Atoi(s); err == nil {
		*dst = time.Duration(n) * time.Second
		return
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s=%q: not a duration", name, s)
	}
	*dst = d
}

// chaosSchedule is when things happen, as offsets from the writer's start.
type chaosSchedule struct {
	kills     []time.Duration // sorted
	outageAt  time.Duration   // when the server stops (if params.outage > 0)
	rotations []time.Duration // sorted; odd ones (1st, 3rd, ...) rename, even ones copy and truncate
}

// rotationGuard keeps rotations away from the end of the outage: the
// server needs a moment to start and the forwarder to catch up, and until
// it has, it still needs the file that was current when the server
// stopped. The writer keeps three old files, so only two rotations happen
// during the outage and none in the guard after it; more would delete
// lines nobody had forwarded yet, which no agent could ship.
const rotationGuard = 10 * time.Second

// newChaosSchedule draws the kill and outage times from rng and spreads
// the rotations evenly over the time the guard leaves.
func newChaosSchedule(rng *rand.Rand, p chaosParams) chaosSchedule {
	var s chaosSchedule
	span := func(lo, hi time.Duration) time.Duration {
		if hi <= lo {
			return lo
		}
		return lo + time.Duration(rng.Int63n(int64(hi-lo)))
	}
	for range p.kills {
		s.kills = append(s.kills, span(500*time.Millisecond, p.duration))
	}
	slices.Sort(s.kills)
	rotations := p.rotations
	if p.outage > 0 {
		s.outageAt = span(p.duration/5, p.duration-p.outage-2*time.Second)
		inside := min(2, rotations)
		for i := range inside {
			s.rotations = append(s.rotations, s.outageAt+p.outage*time.Duration(i+1)/time.Duration(inside+1))
		}
		rotations -= inside
	}
	// The rest evenly over the active time: the run without the outage
	// and its guard.
	blockedFrom, blocked := p.duration, time.Duration(0)
	if p.outage > 0 {
		blockedFrom = s.outageAt
		blocked = min(p.outage+rotationGuard, p.duration-s.outageAt)
	}
	active := p.duration - blocked
	for i := range rotations {
		at := active * time.Duration(i+1) / time.Duration(rotations+1)
		if at >= blockedFrom {
			at += blocked
		}
		s.rotations = append(s.rotations, at)
	}
	slices.Sort(s.rotations)
	return s
}

// writeSteadily appends lines with w at rate lines per second for
// duration from start, in small writes every 10ms (each split inside a
// line), and rotates at the given offsets, alternating rename and
// copytruncate. It returns when the time is over or stop is closed.
func writeSteadily(w *logWriter, start time.Time, rate int, duration time.Duration, rotations []time.Duration, stop <-chan struct{}) error {
	tick := time.NewTicker(10 * time.Millisecond) // pacing the writer, not synchronisation
	defer tick.Stop()
	next := 0
	for {
		select {
		case <-stop:
			return fmt.Errorf("stopped after %s", time.Since(start).Round(time.Millisecond))
		case <-tick.C:
		}
		elapsed := min(time.Since(start), duration)
		written, _ := w.progress()
		if due := int(float64(rate)*elapsed.Seconds()) - written; due > 0 {
			if err := w.write(due); err != nil {
				return err
			}
		}
		for next < len(rotations) && rotations[next] <= elapsed {
			rotate := w.rotateRename
			if next%2 == 1 {
				rotate = w.rotateCopyTruncate
			}
			if err := rotate(); err != nil {
				return fmt.Errorf("rotation %d: %w", next+1, err)
			}
			next++
		}
		if elapsed >= duration {
			return nil
		}
	}
}

// bulkTap is a pass-through proxy between logmeter and the test server
// that counts, per _id, the bulk items the server answered with a 2xx
// status: each time it indexed or overwrote a document. The server keeps
// one document per _id, and logmeter_forward_docs_total starts from zero
// at every start, so what a killed run had sent is seen only here. When
// the server does not answer (it is stopped), the tap closes logmeter's
// connection, as the stopped server would.
type bulkTap struct {
	upstream string
	client   *http.Client
	srv      *httptest.Server

	mu        sync.Mutex
	items     int            // bulk items answered 2xx
	perID     map[string]int // the same, by _id
	unhandled int            // requests the server did not answer
	badAnswer int            // bulk answers the tap could not decode
}

func newBulkTap(t *testing.T, upstream string) *bulkTap {
	t.Helper()
	tp := &bulkTap{
		upstream: upstream,
		client:   &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{}},
		perID:    map[string]int{},
	}
	tp.srv = httptest.NewServer(http.HandlerFunc(tp.serve))
	t.Cleanup(tp.srv.Close)
	return tp
}

// URL is the address logmeter is configured with.
func (tp *bulkTap) URL() string { return tp.srv.URL }

func (tp *bulkTap) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // logmeter went away while sending
	}
	// Not r's context: a request the server got counts even when logmeter
	// is killed before the answer.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, tp.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, h := range []string{"Authorization", "Content-Type", "Content-Encoding", "Accept"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := tp.client.Do(req)
	var answer []byte
	if err == nil {
		answer, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err != nil {
		tp.mu.Lock()
		tp.unhandled++
		tp.mu.Unlock()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	if resp.StatusCode/100 == 2 && strings.HasSuffix(r.URL.Path, "/_bulk") {
		tp.count(answer)
	}
	for k, vs := range resp.Header {
		if k != "Content-Length" && k != "Content-Encoding" { // the answer is passed on decoded
			w.Header()[k] = vs
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

func (tp *bulkTap) count(answer []byte) {
	var br struct {
		Items []map[string]struct {
			ID     string `json:"_id"`
			Status int    `json:"status"`
		} `json:"items"`
	}
	err := json.Unmarshal(answer, &br)
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if err != nil {
		tp.badAnswer++
		return
	}
	for _, item := range br.Items {
		for _, res := range item {
			if res.Status/100 == 2 {
				tp.items++
				tp.perID[res.ID]++
			}
		}
	}
}

// totals returns the items the server indexed and their distinct _ids.
func (tp *bulkTap) totals() (items, distinct int) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.items, len(tp.perID)
}

// problems returns the requests the server did not answer and the bulk
// answers the tap could not read.
func (tp *bulkTap) problems() (unhandled, badAnswer int) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.unhandled, tp.badAnswer
}

// routeThrough points the configuration of e at the tap instead of the
// server.
func routeThrough(t *testing.T, e *fwdEnv, es *estest.Server, tp *bulkTap) {
	t.Helper()
	data, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	from, to := fmt.Sprintf("urls: [%q]", es.URL()), fmt.Sprintf("urls: [%q]", tp.URL())
	if !bytes.Contains(data, []byte(from)) {
		t.Fatalf("test bug: %s has no %s", e.cfgPath, from)
	}
	if err := os.WriteFile(e.cfgPath, bytes.Replace(data, []byte(from), []byte(to), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// storedDoc is one document of the index: its _id, index and message.
type storedDoc struct {
	id, index, message string
}

// storedDocs returns every document in the indices matching pattern,
// paging through each index on its own.
func storedDocs(t *testing.T, es *estest.Server, pattern string) []storedDoc {
	t.Helper()
	const page = 5000
	var docs []storedDoc
	for _, idx := range indices(t, es, pattern) {
		for from := 0; ; from += page {
			res, err := es.Search(idx, map[string]any{
				"query":   map[string]any{"match_all": map[string]any{}},
				"sort":    []any{"_id"},
				"_source": []string{"message"},
				"from":    from,
				"size":    page,
			})
			if err != nil {
				t.Fatalf("listing the documents of %s: %v", idx, err)
			}
			for _, h := range res.Hits {
				var src struct {
					Message string `json:"message"`
				}
				if err := json.Unmarshal(h.Source, &src); err != nil {
					t.Fatalf("document %s in %s: %v: %s", h.ID, idx, err, h.Source)
				}
				docs = append(docs, storedDoc{id: h.ID, index: h.Index, message: src.Message})
			}
			if len(res.Hits) < page || from+len(res.Hits) >= res.Total {
				break
			}
		}
	}
	return docs
}

// lineSeq returns the sequence number nginxLine wrote into text ("/item/N"
// in the request), if text is exactly that line.
func lineSeq(text string) (int, bool) {
	i := strings.Index(text, "/item/")
	if i < 0 {
		return 0, false
	}
	digits := text[i+len("/item/"):]
	end := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		digits = digits[:end]
	}
	seq, err := strconv.Atoi(digits)
	if err != nil {
		return 0, false
	}
	if want, _, _, _, _ := nginxLine(seq); want != text {
		return seq, false
	}
	return seq, true
}

// seqList shows up to 10 sequence numbers.
func seqList(seqs []int) string {
	var b strings.Builder
	for i, s := range seqs {
		if i == 10 {
			fmt.Fprintf(&b, " ... (%d in all)", len(seqs))
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(s))
	}
	return b.String()
}

// durList shows offsets rounded to 0.1s.
func durList(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Round(100 * time.Millisecond).String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// waitIndexed polls the document count of the forwarding indices until it
// reaches want (or passes it, which the caller reports) and returns the
// last count. It gives up, for the caller's report, after timeout or when
// the count has not moved for stall.
func waitIndexed(t *testing.T, es *estest.Server, want int, timeout, stall time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	n, moved := -1, time.Now()
	for {
		c, err := esCount(es, fwdIndexPattern)
		if err == nil && c != n {
			n, moved = c, time.Now()
		}
		if n >= want {
			return n
		}
		if time.Now().After(deadline) || time.Since(moved) > stall {
			t.Logf("the index holds %d documents, want %d; it did not change for %s (last error: %v)", n, want, time.Since(moved).Round(time.Second), err)
			return n
		}
		time.Sleep(200 * time.Millisecond) // polling interval, not synchronisation
	}
}
