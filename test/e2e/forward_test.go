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
const (
	fwdMaxDocs = 2000
	fwdBatch   = "    batch: {max_docs: 2000, max_wait: 200ms}\n"
)

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

	checkIDs(t, es, fwdIndexPattern, total)
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
	var pages []samplePage
	for _, idx := range indices(t, es, fwdIndexPattern) {
		n, err := es.Count(idx)
		if err != nil {
			t.Fatal(err)
		}
		for _, from := range []int{0, n/2 - 100, n - 200} {
			pages = append(pages, samplePage{idx, max(from, 0)})
		}
	}
	for _, pg := range pages {
		res, err := es.Search(pg.index, map[string]any{
			"query": map[string]any{"match_all": map[string]any{}},
			"sort":  []any{"_id"},
			"from":  pg.from,
			"size":  200,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) == 0 {
			t.Fatalf("search of %s from %d: no hits", pg.index, pg.from)
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

type samplePage struct {
	index string
	from  int
}

// fwdRetry keeps retries quick so that a test does not wait long for the
// next attempt after the server is back.
const fwdRetry = "    retry: {initial_backoff: 100ms, max_backoff: 1s}\n"

// TestForwardOutage stops the server while a writer appends ~20k lines over
// ~6s: the metrics path must count every line while the server is down, the
// forwarder must retry and report a backlog, and after the restart every
// line must arrive once.
func TestForwardOutage(t *testing.T) {
	const (
		bursts     = 60
		burstLines = 334
		pace       = 100 * time.Millisecond
		total      = bursts * burstLines
	)
	es := estest.Start(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	w, err := newLogWriter(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	e := newFwdEnv(t, es, []fwdInput{{name: input, format: "plain", paths: []string{logPath}}}, fwdBatch+fwdRetry)
	d := e.start(t)

	writerDone := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(pace) // pacing the writer, not synchronisation
		defer tick.Stop()
		for range bursts {
			select {
			case <-stop:
				writerDone <- nil
				return
			case <-tick.C:
			}
			if err := w.write(burstLines); err != nil {
				writerDone <- err
				return
			}
		}
		writerDone <- nil
	}()
	writerFinished := false
	t.Cleanup(func() {
		if !writerFinished {
			close(stop)
			<-writerDone
		}
	})

	waitFor(t, 20*time.Second, "a third of the lines written", func() (bool, string) {
		n, _ := w.progress()
		return n >= total/3, fmt.Sprintf("%d lines", n)
	})
	stoppedAt := time.Now()
	es.Stop()
	atStop, _ := w.progress()
	ms := d.scrape()
	retriedAtStop := fwdDocs(ms, "retried")
	t.Logf("server stopped with %d lines written (the stop took %s); forward docs sent %v, retried %v so far",
		atStop, time.Since(stoppedAt).Round(time.Millisecond), fwdDocs(ms, "sent"), retriedAtStop)

	// While the server is down, scrape until the writer is done, the rule
	// counters have every matching line written, the forwarder retried and
	// logmeter_forward_buffer_bytes (refreshed every second) shows the
	// backlog: the forwarder has read at most its confirmed lines, a batch
	// per worker, the batch it waits to hand over and a read chunk.
	var (
		polls                      int
		maxBehind                  float64 // matching lines written but not counted, at a scrape
		buffer, maxBuffer, retried float64
		counted, matched, sent     float64
		unread                     int64
		done                       bool
		want                       tally
	)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if !done {
			select {
			case err := <-writerDone:
				writerFinished, done = true, true
				if err != nil {
					t.Fatalf("writer: %v", err)
				}
			default:
			}
		}
		want = w.snapshot() // before the scrape: the scrape must count at least these
		ms = d.scrape()
		polls++
		matched = float64(want.lines - want.unmatched)
		counted = requestsTotal(ms)
		maxBehind = max(maxBehind, matched-counted)
		buffer = ms.get("logmeter_forward_buffer_bytes")
		maxBuffer = max(maxBuffer, buffer)
		retried, sent = fwdDocs(ms, "retried"), fwdDocs(ms, "sent")
		unread = unreadAtLeast(want, int(sent)+3*fwdMaxDocs)
		if done && counted >= matched && retried > retriedAtStop && buffer >= float64(unread) {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
	t.Logf("outage of %s, %d scrapes: all %d lines written (%d after the stop); nginx_http_requests_total %v of %v matching lines (at most %v behind at a scrape); forward docs sent %v, retried %v; logmeter_forward_buffer_bytes %v (max %v), at least %d bytes unread",
		time.Since(stoppedAt).Round(time.Millisecond), polls, want.lines, want.lines-atStop, counted, matched, maxBehind, sent, retried, buffer, maxBuffer, unread)
	if !done {
		t.Fatal("the writer did not finish within 30s of the stop")
	}
	if counted != matched {
		t.Errorf("while Elasticsearch is down, nginx_http_requests_total reached %v, want %v: the metrics path waits for the forwarder", counted, matched)
	}
	checkCounts(t, ms, want)
	if retried <= retriedAtStop {
		t.Errorf("logmeter_forward_docs_total{result=\"retried\"} stayed at %v during the outage", retried)
	}
	if maxBuffer <= 0 || buffer < float64(unread) {
		t.Errorf("logmeter_forward_buffer_bytes = %v (max %v) at the end of the outage, but at least %d bytes are unread (%d lines written, %v confirmed)", buffer, maxBuffer, unread, want.lines, sent)
	}

	restart := time.Now()
	es.Restart()
	took := waitCount(t, es, fwdIndexPattern, want.lines, 60*time.Second)
	t.Logf("server restarted in %s; all %d documents indexed %s after the restart", (time.Since(restart) - took).Round(time.Millisecond), want.lines, time.Since(restart).Round(time.Millisecond))
	checkIDs(t, es, fwdIndexPattern, want.lines)
	ms = d.scrape()
	t.Logf("logmeter_forward_docs_total: sent %v, retried %v, failed %v; buffer_bytes %v", fwdDocs(ms, "sent"), fwdDocs(ms, "retried"), fwdDocs(ms, "failed"), ms.get("logmeter_forward_buffer_bytes"))
	if v := fwdDocs(ms, "failed"); v != 0 {
		t.Errorf("logmeter_forward_docs_total{result=\"failed\"} = %v, want 0", v)
	}
}

// TestForwardKill kills logmeter with SIGKILL while it forwards 30k lines
// and restarts it: every line must arrive, once per _id.
func TestForwardKill(t *testing.T) {
	const total = 30000
	es := estest.Start(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	w, err := newLogWriter(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.write(total); err != nil {
		t.Fatal(err)
	}
	w.close()
	e := newFwdEnv(t, es, []fwdInput{{name: input, format: "plain", paths: []string{logPath}}}, fwdBatch+fwdRetry)
	d := e.start(t)
	started := time.Now()
	var sent1 float64
	waitFor(t, 30*time.Second, "some documents confirmed", func() (bool, string) {
		sent1 = fwdDocs(d.scrape(), "sent")
		return sent1 >= total/2, fmt.Sprintf("sent %v", sent1)
	})
	d.kill()
	firstRun := time.Since(started)
	if sent1 >= total {
		t.Fatalf("all %d documents were confirmed before the kill: nothing to test", total)
	}
	confirmed := checkpointedLines(t, e.stateDir, logPath)
	indexed, err := es.Count(fwdIndexPattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SIGKILL %s after the start, at sent %v; %d lines confirmed in forward-positions.json, %d documents indexed", firstRun.Round(time.Millisecond), sent1, confirmed, indexed)
	if indexed >= total {
		t.Fatalf("all %d documents were indexed before the kill: nothing to test", total)
	}
	if confirmed > indexed {
		t.Errorf("the forward checkpoint covers %d lines but only %d documents are indexed: lines lost", confirmed, indexed)
	}
	if confirmed == 0 {
		t.Errorf("%v documents confirmed over %s, but the forward checkpoint covers none", sent1, firstRun)
	}

	d = e.start(t)
	took := waitCount(t, es, fwdIndexPattern, total, 60*time.Second)
	checkIDs(t, es, fwdIndexPattern, total)
	ms := d.scrape()
	sent2 := fwdDocs(ms, "sent")
	// The counter continues from the forward checkpoint (the confirmed
	// lines); the second run sends the lines after it, of which
	// indexed-confirmed were there already.
	resent := int(sent2) - confirmed - (total - indexed)
	t.Logf("after the restart: %d documents within %s; sent %v documents in all, %d of them already indexed (re-sent, overwritten)", total, took.Round(time.Millisecond), sent2, resent)
	if want := float64(total); sent2 != want {
		t.Errorf("logmeter_forward_docs_total{result=\"sent\"} = %v after the restart, want %v: %d confirmed before the kill (restored) and the %d lines after the checkpoint", sent2, want, confirmed, total-confirmed)
	}
	if v := fwdDocs(ms, "failed"); v != 0 {
		t.Errorf("logmeter_forward_docs_total{result=\"failed\"} = %v, want 0", v)
	}
}

// TestForwardRotationWhileDown rotates the log (rename) twice while the
// server is stopped: the forwarder's cursor still holds the first file and
// must find the second when the server is back, losing nothing.
func TestForwardRotationWhileDown(t *testing.T) {
	es := estest.Start(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	w, err := newLogWriter(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	e := newFwdEnv(t, es, []fwdInput{{name: input, format: "plain", paths: []string{logPath}}}, fwdBatch+fwdRetry)
	d := e.start(t)
	const a, b, c, dd = 1000, 5000, 5000, 1000
	if err := w.write(a); err != nil {
		t.Fatal(err)
	}
	waitCount(t, es, fwdIndexPattern, a, 30*time.Second)
	es.Stop()
	if err := w.write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.rotateRename(); err != nil {
		t.Fatal(err)
	}
	if err := w.write(c); err != nil {
		t.Fatal(err)
	}
	if err := w.rotateRename(); err != nil {
		t.Fatal(err)
	}
	if err := w.write(dd); err != nil {
		t.Fatal(err)
	}
	want := w.snapshot()
	d.waitLines(want.lines, 10*time.Second)
	ms := d.scrape()
	checkCounts(t, ms, want)
	sent := fwdDocs(ms, "sent")
	t.Logf("while the server is down: %d lines written over 3 files, 2 renames; metrics path read %v; forward sent %v, retried %v",
		want.lines, ms.get("logmeter_lines_read_total", "input", input), sent, fwdDocs(ms, "retried"))
	// The forwarder cannot have read more than the confirmed lines, a batch
	// per worker and one more: logmeter_forward_buffer_bytes ("the unread
	// bytes") must show the rest within a few polls.
	unread := unreadAtLeast(want, int(sent)+3*fwdMaxDocs)
	var buffer float64
	bufferDeadline := time.Now().Add(3 * time.Second)
	for buffer < float64(unread) && time.Now().Before(bufferDeadline) {
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
		buffer = d.scrape().get("logmeter_forward_buffer_bytes")
	}
	t.Logf("logmeter_forward_buffer_bytes = %v with at least %d bytes unread by the forwarder", buffer, unread)
	if buffer < float64(unread) {
		t.Errorf("logmeter_forward_buffer_bytes = %v during the outage, but at least %d bytes are unread (%d lines written, %v confirmed)", buffer, unread, want.lines, sent)
	}

	restart := time.Now()
	es.Restart()
	waitCount(t, es, fwdIndexPattern, want.lines, 60*time.Second)
	t.Logf("all %d documents indexed %s after the restart", want.lines, time.Since(restart).Round(time.Millisecond))
	checkIDs(t, es, fwdIndexPattern, want.lines)
	ms = d.scrape()
	if v := ms.get("logmeter_forward_lost_bytes_total"); v != 0 {
		t.Errorf("logmeter_forward_lost_bytes_total = %v, want 0", v)
	}
	if v := ms.get("logmeter_rotation_lost_bytes_total", "input", input); v != 0 {
		t.Errorf("logmeter_rotation_lost_bytes_total = %v, want 0", v)
	}
	if v := fwdDocs(ms, "failed"); v != 0 {
		t.Errorf("logmeter_forward_docs_total{result=\"failed\"} = %v, want 0", v)
	}
}
