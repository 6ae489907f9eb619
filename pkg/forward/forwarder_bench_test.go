package forward

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logmeter/logmeter/pkg/metrics"
	"github.com/logmeter/logmeter/pkg/tail"
)

const benchLines = 100_000

// writeBenchLog writes benchLines nginx-style lines and returns the path.
func writeBenchLog(b *testing.B) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "access.log")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range benchLines {
		fmt.Fprintf(w, `10.0.%d.%d - - [01/May/2024:12:00:%02d +0000] "GET /api/v1/items/%d HTTP/1.1" %d %d "-" "curl/8.0"`+"\n",
			i/256%256, i%256, i%60, i, []int{200, 200, 200, 404, 500}[i%5], 100+i%900)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// nullES answers every Bulk request at once, counting the documents; it
// signals target when the running total reaches it.
type nullES struct {
	*httptest.Server
	items bool // full items answer, else the short {"errors":false}
	docs  atomic.Int64
	mu    sync.Mutex
	goal  int64
	reach chan struct{}
}

func newNullES(b *testing.B, items bool) *nullES {
	es := &nullES{items: items}
	item := []byte(`{"index":{"_index":"logstash-2024.05.01","_id":"x","_version":1,"result":"created","status":201}}`)
	es.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int64
		buf := make([]byte, 64<<10)
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		for {
			k, err := body.Read(buf)
			n += int64(bytes.Count(buf[:k], []byte{'\n'}))
			if err != nil {
				if err != io.EOF {
					return
				}
				break
			}
		}
		docs := n / 2
		w.Header().Set("Content-Type", "application/json")
		if es.items {
			var out bytes.Buffer
			out.Grow(int(docs)*(len(item)+1) + 32)
			out.WriteString(`{"took":1,"errors":false,"items":[`)
			for i := range docs {
				if i > 0 {
					out.WriteByte(',')
				}
				out.Write(item)
			}
			out.WriteString("]}")
			_, _ = w.Write(out.Bytes())
		} else {
			_, _ = io.WriteString(w, `{"took":1,"errors":false}`)
		}
		total := es.docs.Add(docs)
		es.mu.Lock()
		if es.reach != nil && total >= es.goal {
			close(es.reach)
			es.reach = nil
		}
		es.mu.Unlock()
	}))
	b.Cleanup(es.Close)
	return es
}

// expect returns a channel closed once n more documents arrived.
func (es *nullES) expect(n int64) <-chan struct{} {
	es.mu.Lock()
	defer es.mu.Unlock()
	es.goal = es.docs.Load() + n
	es.reach = make(chan struct{})
	return es.reach
}

// BenchmarkForwardNullServer forwards a 100k-line file to a server that
// answers at once; one op is the whole file. Reported: docs/s and
// allocs/doc (process-wide, so the test server's own allocations, small
// for the short answer, are included).
func BenchmarkForwardNullServer(b *testing.B) {
	for _, tc := range []struct {
		name  string
		items bool
		gzip  bool
	}{
		{"short", false, false},
		{"items", true, false},
		{"short-gzip", false, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			path := writeBenchLog(b)
			es := newNullES(b, tc.items)
			client, err := NewClient(ClientOptions{URLs: []string{es.URL}, Timeout: time.Minute, Gzip: tc.gzip})
			if err != nil {
				b.Fatal(err)
			}
			fi, _ := os.Stat(path)
			b.SetBytes(fi.Size())
			b.ReportAllocs()
			var docs int64
			var elapsed time.Duration
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			for b.Loop() {
				reg := prometheus.NewRegistry()
				self, err := metrics.NewSelf(reg, "bench", "bench")
				if err != nil {
					b.Fatal(err)
				}
				f, err := New(Options{
					Settings: Settings{Index: "logstash-%{+yyyy.MM.dd}", MaxDocs: 5000, MaxBytes: 5 << 20,
						MaxWait: time.Second, Workers: 2, FinalTimeout: 10 * time.Second, Host: "node-1"},
					Client:   client,
					Inputs:   []tail.Input{{Name: "nginx", Paths: []string{path}, Format: tail.FormatPlain, StartAt: tail.StartAtBeginning}},
					StateDir: filepath.Join(b.TempDir(), "state"),
					Tail:     tail.RunOptions{PollEvery: 5 * time.Millisecond, ScanEvery: time.Second, CheckpointEvery: 500 * time.Millisecond},
					Self:     self,
				})
				if err != nil {
					b.Fatal(err)
				}
				reached := es.expect(benchLines)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				began := time.Now()
				go func() { done <- f.Run(ctx) }()
				select {
				case <-reached:
				case <-time.After(2 * time.Minute):
					b.Fatalf("only %d documents arrived", es.docs.Load())
				}
				elapsed += time.Since(began)
				cancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				if sent := testutil.ToFloat64(self.ForwardDocs.WithLabelValues(metrics.ResultSent)); sent != benchLines {
					b.Fatalf("sent = %v, want %d", sent, benchLines)
				}
				docs += benchLines
			}
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(docs)/elapsed.Seconds(), "docs/s")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(docs), "allocs/doc")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(docs), "B/doc")
		})
	}
}

// BenchmarkHandle measures the reading goroutine's share per line (index
// name, _id, document) without HTTP: batches are dispatched to a worker
// that drops them.
func BenchmarkHandle(b *testing.B) {
	client, err := NewClient(ClientOptions{URLs: []string{"http://127.0.0.1:1"}})
	if err != nil {
		b.Fatal(err)
	}
	f, err := New(Options{
		Settings: Settings{Index: "logstash-%{+yyyy.MM.dd}", MaxDocs: 5000, Host: "node-1"},
		Client:   client,
		Inputs:   []tail.Input{{Name: "x", Paths: []string{filepath.Join(b.TempDir(), "none.log")}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case bt := <-f.work:
				bt.reset()
				f.pool.Put(bt)
				f.inflight.Add(-1)
			case <-stop:
				return
			}
		}
	}()
	defer close(stop)
	l := benchDocLine()
	l.Time = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		l.Offset += 100
		f.handle(l)
	}
}
