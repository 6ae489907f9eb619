package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logmeter/logmeter/internal/estest"
)

// fwdBatch is the batching of the forwarding tests: small enough that a
// run has many Bulk requests, quick enough to flush a tail.
const fwdBatch = "    batch: {max_docs: 2000, max_wait: 200ms}\n"

// TestForward100kLines ships 100,000 nginx lines from four files, two plain
// and two CRI with runtime times over two days, and checks that each line
// arrives exactly once, in the daily index of its @timestamp, with the ECS
// fields.
func TestForward100kLines(t *testing.T) {
	const (
		perFile = 25000
		total   = 4 * perFile
	)
	es := estest.Start(t)
	dir := t.TempDir()
	plain := []string{filepath.Join(dir, "plain-a.log"), filepath.Join(dir, "plain-b.log")}
	cri := []string{filepath.Join(dir, "cri-c.log"), filepath.Join(dir, "cri-d.log")}

	// expected documents, by path and offset
	type wantDoc struct {
		message, stream, ts string // ts "" for read time
	}
	want := map[string]map[int64]wantDoc{}
	perDay := map[string]int{}

	// Plain files: seq 0..50k, their time is the read time.
	for i, p := range plain {
		var b strings.Builder
		want[p] = map[int64]wantDoc{}
		for j := range perFile {
			text, _, _, _, _ := nginxLine(i*perFile + j)
			want[p][int64(b.Len())] = wantDoc{message: text}
			b.WriteString(text)
			b.WriteByte('\n')
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// CRI files: line k of the 50,000 goes to file k%2, stamped
	// 2024-05-01T00:00:00Z + k*3.456s (+ some nanoseconds): 25,000 lines a
	// day, with the last of May 1st and the first of May 2nd on the edge.
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var cb [2]strings.Builder
	for i := range cri {
		want[cri[i]] = map[int64]wantDoc{}
	}
	for k := range 2 * perFile {
		ts := base.Add(time.Duration(k)*3456*time.Millisecond + time.Duration(k*7919%1000000))
		switch k {
		case perFile - 1:
			ts = time.Date(2024, 5, 1, 23, 59, 59, 999999999, time.UTC)
		case perFile:
			ts = time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
		}
		stream := "stdout"
		if k%10 == 0 {
			stream = "stderr"
		}
		text, _, _, _, _ := nginxLine(2*perFile + k)
		f := k % 2
		want[cri[f]][int64(cb[f].Len())] = wantDoc{message: text, stream: stream, ts: ts.UTC().Format(time.RFC3339Nano)}
		cb[f].WriteString(criLine(ts, stream, text))
		cb[f].WriteByte('\n')
		perDay["logstash-"+ts.Format("2006.01.02")]++
	}
	for i, p := range cri {
		if err := os.WriteFile(p, []byte(cb[i].String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if perDay["logstash-2024.05.01"] != perFile || perDay["logstash-2024.05.02"] != perFile {
		t.Fatalf("test bug: CRI lines per day %v", perDay)
	}

	e := newFwdEnv(t, es, []fwdInput{
		{name: "plain", format: "plain", paths: []string{filepath.Join(dir, "plain-*.log")}},
		{name: "cri", format: "cri", paths: []string{filepath.Join(dir, "cri-*.log")}},
	}, fwdBatch)
	host, _ := os.Hostname()
	startTime := time.Now()
	d := e.start(t)
	took := waitCount(t, es, fwdIndexPattern, total, 120*time.Second)
	endTime := time.Now()
	t.Logf("%d documents indexed %s after the start: %.0f docs/s", total, took.Round(time.Millisecond), float64(total)/took.Seconds())

	ids := checkIDs(t, es, fwdIndexPattern, total)
	_ = ids
	for _, idx := range []string{"logstash-2024.05.01", "logstash-2024.05.02"} {
		n, err := es.Count(idx)
		if err != nil {
			t.Fatal(err)
		}
		if n != perDay[idx] {
			t.Errorf("%s holds %d documents, want %d (CRI lines of that day)", idx, n, perDay[idx])
		}
	}
	// Plain lines are stamped with the read time: today's index (two if
	// the run crossed midnight UTC).
	today := map[string]bool{
		"logstash-" + startTime.UTC().Format("2006.01.02"): true,
		"logstash-" + endTime.UTC().Format("2006.01.02"):   true,
	}
	readTime := 0
	for idx := range today {
		n, err := es.Count(idx)
		if err != nil {
			t.Fatal(err)
		}
		readTime += n
	}
	if readTime != 2*perFile {
		t.Errorf("today's index %v holds %d documents, want %d (the plain lines)", today, readTime, 2*perFile)
	}

	// A sample of documents, spread over files by the hash order of _id.
	cache := map[string][]byte{}
	checked, bad := 0, 0
	seenPath := map[string]int{}
	for _, from := range []int{0, 33000, 66000, total - 250} {
		res, err := es.Search(fwdIndexPattern, map[string]any{
			"query": map[string]any{"match_all": map[string]any{}},
			"sort":  []any{"_id"},
			"from":  from,
			"size":  250,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 250 {
			t.Fatalf("search from %d: %d hits, want 250", from, len(res.Hits))
		}
		for _, h := range res.Hits {
			checked++
			doc, err := decodeDoc(h.Source)
			if err != nil {
				t.Fatalf("document %s: %v: %s", h.ID, err, h.Source)
			}
			problem := func(format string, args ...any) {
				bad++
				if bad <= 10 {
					t.Errorf("document %s in %s: %s\n  %s", h.ID, h.Index, fmt.Sprintf(format, args...), h.Source)
				}
			}
			p := doc.Log.File.Path
			seenPath[p]++
			if doc.Log.Offset == nil {
				problem("no log.offset")
				continue
			}
			w, ok := want[p][*doc.Log.Offset]
			if !ok {
				problem("log.file.path %q, log.offset %d name no line written", p, *doc.Log.Offset)
				continue
			}
			if raw, _ := lineAt(t, cache, p, *doc.Log.Offset); !strings.HasSuffix(raw, w.message) {
				problem("the file holds %q at that offset", raw)
			}
			if doc.Message != w.message {
				problem("message %q, want %q", doc.Message, w.message)
			}
			if doc.Stream != w.stream {
				problem("stream %q, want %q", doc.Stream, w.stream)
			}
			if doc.Host.Name != host {
				problem("host.name %q, want %q", doc.Host.Name, host)
			}
			ts, err := time.Parse(time.RFC3339Nano, doc.Timestamp)
			if err != nil {
				problem("@timestamp %q is not RFC 3339: %v", doc.Timestamp, err)
				continue
			}
			if !strings.HasSuffix(doc.Timestamp, "Z") {
				problem("@timestamp %q is not UTC", doc.Timestamp)
			}
			if w.ts != "" {
				if doc.Timestamp != w.ts {
					problem("@timestamp %q, want the runtime time %q", doc.Timestamp, w.ts)
				}
			} else if ts.Before(startTime.Add(-time.Second)) || ts.After(endTime.Add(time.Second)) {
				problem("@timestamp %q is not a read time within the run (%s .. %s)", doc.Timestamp, startTime.UTC().Format(time.RFC3339Nano), endTime.UTC().Format(time.RFC3339Nano))
			}
			if wantIdx := "logstash-" + ts.UTC().Format("2006.01.02"); h.Index != wantIdx {
				problem("in index %s, want %s", h.Index, wantIdx)
			}
		}
	}
	t.Logf("checked %d sampled documents (%d with a problem), per file: %v", checked, bad, seenPath)
	if len(seenPath) != 4 {
		t.Errorf("the sample covers %d files, want 4: %v", len(seenPath), seenPath)
	}

	ms := d.scrape()
	sent, failed, retried := fwdDocs(ms, "sent"), fwdDocs(ms, "failed"), fwdDocs(ms, "retried")
	t.Logf("logmeter_forward_docs_total: sent %v, failed %v, retried %v", sent, failed, retried)
	if sent < total {
		t.Errorf("logmeter_forward_docs_total{result=\"sent\"} = %v, want >= %d", sent, total)
	}
	if failed != 0 {
		t.Errorf("logmeter_forward_docs_total{result=\"failed\"} = %v, want 0", failed)
	}
	if got := requestsTotal(ms); got == 0 {
		t.Errorf("nginx_http_requests_total is 0: the metrics path counted nothing")
	}
}
