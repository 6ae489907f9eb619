package e2e

import (
	"cmp"
	"fmt"
	"math/rand"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logmeter/logmeter/internal/estest"
)

// chaosMaxDocs is the forward batch size of TestChaos, and the re-sent
// documents it allows per kill. At a few hundred lines per second a batch
// leaves by max_wait well before it is full; only catching up after a
// restart or the outage fills batches.
const (
	chaosMaxDocs = 250
	chaosBatch   = "    batch: {max_docs: 250, max_wait: 200ms}\n"
)

// TestChaos follows an nginx access log that grows at a steady rate and is
// rotated now and then (rename and copytruncate, alternately), counts it
// with rules/nginx.yaml and forwards it to the test Elasticsearch server,
// while logmeter is killed with SIGKILL at random moments and restarted,
// and the server is stopped once for a while. At the end every written
// line must be in the index, once, the rule counters and lines_read must
// be exact, and the documents sent again after the kills must stay within
// a batch per kill.
//
// By default this is the short form (4 kills, a 5s outage, 25s of
// writing); bench/chaos.sh runs the long form through the CHAOS_*
// variables (see chaosParamsFromEnv). The schedule comes from CHAOS_SEED,
// which is logged; the moments the kills hit inside logmeter do not repeat.
func TestChaos(t *testing.T) {
	p := chaosParamsFromEnv(t)
	sched := newChaosSchedule(rand.New(rand.NewSource(p.seed)), p)
	t.Logf("chaos: seed %d (CHAOS_SEED=%d repeats the schedule); %d kills, outage %s, %d lines/s for %s, %d rotations, batch %d docs",
		p.seed, p.seed, p.kills, p.outage, p.rate, p.duration, len(sched.rotations), chaosMaxDocs)
	if p.outage > 0 {
		t.Logf("chaos: schedule: kills at %s; server down from %s to %s; rotations at %s",
			durList(sched.kills), sched.outageAt.Round(time.Millisecond), (sched.outageAt + p.outage).Round(time.Millisecond), durList(sched.rotations))
	} else {
		t.Logf("chaos: schedule: kills at %s; no outage; rotations at %s", durList(sched.kills), durList(sched.rotations))
	}

	es := estest.Start(t)
	tap := newBulkTap(t, es.URL())
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	w, err := newLogWriter(logPath)
	if err != nil {
		t.Fatal(err)
	}
	e := newFwdEnv(t, es, []fwdInput{{name: input, format: "plain", paths: []string{logPath}}}, chaosBatch+fwdRetry)
	routeThrough(t, e, es, tap)
	d := e.start(t)

	start := time.Now()
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		defer w.close()
		writerDone <- writeSteadily(w, start, p.rate, p.duration, sched.rotations, stop)
	}()
	writerFinished := false
	var writerErr error
	t.Cleanup(func() {
		if !writerFinished {
			close(stop)
			<-writerDone
		}
	})
	writerCheck := func() {
		if writerFinished {
			return
		}
		select {
		case writerErr = <-writerDone:
			writerFinished = true
			if writerErr != nil {
				t.Fatalf("writer: %v", writerErr)
			}
		default:
		}
	}

	// The events in time order: kills, and the server's stop and start.
	type event struct {
		at   time.Duration
		kind string // "kill", "stop", "start"
	}
	var events []event
	for _, at := range sched.kills {
		events = append(events, event{at, "kill"})
	}
	if p.outage > 0 {
		events = append(events, event{sched.outageAt, "stop"}, event{sched.outageAt + p.outage, "start"})
	}
	slices.SortStableFunc(events, func(a, b event) int { return cmp.Compare(a.at, b.at) })

	var (
		kills      []chaosKill
		serverDown bool
		stoppedAt  time.Duration
		startTook  time.Duration
		stopTook   time.Duration
	)
	dups := func() int {
		items, distinct := tap.totals()
		return items - distinct
	}
	for _, ev := range events {
		time.Sleep(time.Until(start.Add(ev.at))) // following the schedule, not synchronisation
		writerCheck()
		switch ev.kind {
		case "kill":
			ms := d.scrape()
			k := chaosKill{
				at:         time.Since(start),
				before:     ms.get("logmeter_lines_read_total", "input", input),
				sent:       fwdDocs(ms, "sent"),
				serverDown: serverDown,
			}
			k.written, _ = w.progress()
			k.dupsAtKill = dups()
			d.kill()
			k.saved, _ = checkpointLinesRead(t, e.stateDir)
			began := time.Now()
			d = e.start(t)
			k.restartTook = time.Since(began)
			k.after = d.linesRead()
			kills = append(kills, k)
			down := ""
			if k.serverDown {
				down = " (server down)"
			}
			t.Logf("chaos: kill %d at %s%s: %d lines written; lines_read %v before, %v in the checkpoint, %v after the restart (%s)",
				len(kills), k.at.Round(time.Millisecond), down, k.written, k.before, k.saved, k.after, k.restartTook.Round(time.Millisecond))
			if k.after < k.saved {
				t.Errorf("kill %d: lines_read %v after the restart is below the checkpoint's %v: the counter went back", len(kills), k.after, k.saved)
			}
		case "stop":
			stoppedAt = time.Since(start)
			began := time.Now()
			es.Stop()
			stopTook = time.Since(began)
			serverDown = true
		case "start":
			began := time.Now()
			es.Restart()
			startTook = time.Since(began)
			serverDown = false
			written, _ := w.progress()
			t.Logf("chaos: server stopped at %s (stop took %s), started again at %s (start took %s); %d lines written by then",
				stoppedAt.Round(time.Millisecond), stopTook.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), startTook.Round(time.Millisecond), written)
		}
	}

	if !writerFinished {
		select {
		case writerErr = <-writerDone:
			writerFinished = true
		case <-time.After(p.duration + 30*time.Second):
			t.Fatal("the writer did not finish in time")
		}
	}
	if writerErr != nil {
		t.Fatalf("writer: %v", writerErr)
	}
	want := w.snapshot()
	_, rotated := w.progress()

	// Catching up: the metrics path first, then the index.
	caughtUp := time.Now()
	d.waitLines(want.lines, 60*time.Second)
	indexed := waitIndexed(t, es, want.lines, 2*time.Minute, 20*time.Second)
	t.Logf("chaos: writing ended %s after the start; lines_read and the index caught up %s later",
		p.duration, time.Since(caughtUp).Round(time.Millisecond))
	ms := d.scrape()

	// The index: every written line once, by the sequence number in it.
	docs := storedDocs(t, es, fwdIndexPattern)
	ids := map[string]int{}
	perSeq := make([]int, want.lines)
	var foreign []string
	for _, doc := range docs {
		ids[doc.id]++
		seq, ok := lineSeq(doc.message)
		if !ok || seq >= want.lines {
			foreign = append(foreign, fmt.Sprintf("%s in %s: %q", doc.id, doc.index, doc.message))
			continue
		}
		perSeq[seq]++
	}
	var missing, twice []int
	for seq, n := range perSeq {
		switch {
		case n == 0:
			missing = append(missing, seq)
		case n > 1:
			twice = append(twice, seq)
		}
	}
	items, distinct := tap.totals()
	resent := items - distinct
	unhandled, badAnswer := tap.problems()

	t.Logf("chaos: lines written: %d (%d rotations: %d renames, %d copytruncates; %d kills; outage %s)",
		want.lines, rotated, (rotated+1)/2, rotated/2, len(kills), p.outage)
	t.Logf("chaos: documents in the index: %d (count %d), distinct _ids: %d", len(docs), indexed, len(ids))
	t.Logf("chaos: lines missing from the index: %d; lines in more than one document: %d; documents matching no written line: %d",
		len(missing), len(twice), len(foreign))
	if len(missing) > 0 {
		t.Errorf("%d of %d written lines are not in the index; sequence numbers: %s", len(missing), want.lines, seqList(missing))
	}
	if len(twice) > 0 {
		t.Errorf("%d lines are stored in more than one document; sequence numbers: %s", len(twice), seqList(twice))
	}
	if len(foreign) > 0 {
		t.Errorf("%d documents hold no written line, e.g. %s", len(foreign), foreign[0])
	}
	if len(docs) != want.lines || len(ids) != want.lines {
		t.Errorf("the index holds %d documents with %d distinct _ids, want %d of each", len(docs), len(ids), want.lines)
	}

	// Re-sent documents: what the server indexed beyond one per _id,
	// attributed to the kill after which it came (the tap's count at the
	// next kill, or at the end, less its count at this one).
	var perKill []string
	maxKill := 0
	firstRun := resent // before the first kill
	for i, k := range kills {
		next := resent
		if i+1 < len(kills) {
			next = kills[i+1].dupsAtKill
		}
		n := next - k.dupsAtKill
		note := ""
		if p.outage > 0 && k.at < sched.outageAt+p.outage+startTook && (i+1 == len(kills) || kills[i+1].at > sched.outageAt) {
			note = "*"
		}
		perKill = append(perKill, fmt.Sprintf("%d%s", n, note))
		maxKill = max(maxKill, n)
		if i == 0 {
			firstRun = k.dupsAtKill
		}
	}
	t.Logf("chaos: documents indexed by the server (through the tap): %d for %d distinct _ids: %d re-sent, %.1f per kill, at most %d after one kill (allowed: %d, a batch per kill)",
		items, distinct, resent, float64(resent)/float64(max(len(kills), 1)), maxKill, p.kills*chaosMaxDocs)
	t.Logf("chaos: re-sent after each kill: [%s] (* = the server's outage falls in that interval); before the first kill: %d",
		strings.Join(perKill, " "), firstRun)
	t.Logf("chaos: logmeter_forward_docs_total{result=\"sent\"}: %v (it continues from the forwarder's checkpoint, so sends after the last checkpoint before a kill count again); tap: %d requests the server did not answer, %d unreadable bulk answers",
		fwdDocs(ms, "sent"), unhandled, badAnswer)
	if resent > p.kills*chaosMaxDocs {
		t.Errorf("%d documents were indexed again, more than a batch (%d) per kill (%d kills)", resent, chaosMaxDocs, p.kills)
	}
	if distinct != want.lines {
		t.Errorf("the server indexed %d distinct _ids, want one per written line (%d)", distinct, want.lines)
	}
	if badAnswer > 0 {
		t.Errorf("the tap could not read %d bulk answers: the re-sent count is incomplete", badAnswer)
	}

	// The metrics path: counters continue across the kills and must be exact.
	read := ms.get("logmeter_lines_read_total", "input", input)
	requests, matching := requestsTotal(ms), want.lines-want.unmatched
	series := ms.byLabels("nginx_http_requests_total", "method", "status")
	differ := 0
	for k, v := range want.requests {
		if series[k] != v {
			differ++
		}
	}
	for k := range series {
		if _, ok := want.requests[k]; !ok {
			differ++
		}
	}
	t.Logf("chaos: logmeter_lines_read_total: %v of %d written (%+v); unmatched %v of %d",
		read, want.lines, read-float64(want.lines), ms.get("logmeter_lines_unmatched_total", "input", input), want.unmatched)
	t.Logf("chaos: nginx_http_requests_total: %v of %d matching lines (combined %d, timed %d); %d of %d {method,status} series differ from the written lines",
		requests, matching, want.byKind["combined"], want.byKind["timed"], differ, len(want.requests))
	checkCounts(t, ms, want)
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"logmeter_rotation_lost_bytes_total", []string{"input", input}},
		{"logmeter_forward_lost_bytes_total", nil},
		{"logmeter_forward_docs_total", []string{"result", "failed"}},
		{"logmeter_forward_docs_total", []string{"result", "dropped"}},
		{"logmeter_decode_errors_total", nil},
	} {
		if v := ms.get(c.name, c.labels...); v != 0 {
			t.Errorf("%s%v = %v, want 0", c.name, c.labels, v)
		}
	}
	t.Logf("chaos: run time %s", time.Since(start).Round(time.Millisecond))
}

// chaosKill is what TestChaos saw around one kill.
type chaosKill struct {
	at          time.Duration // since the writer started
	written     int           // lines written at the kill
	before      float64       // lines_read scraped just before the kill
	saved       float64       // lines_read in the checkpoint after it
	after       float64       // lines_read just after the restart
	sent        float64       // the run's logmeter_forward_docs_total{sent}, last scrape
	dupsAtKill  int           // re-sent items the tap had seen at the kill
	serverDown  bool
	restartTook time.Duration
}
