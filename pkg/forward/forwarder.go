package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logmeter/logmeter/pkg/logline"
	"github.com/logmeter/logmeter/pkg/metrics"
	"github.com/logmeter/logmeter/pkg/tail"
)

// drainWait bounds how long a periodic checkpoint waits for confirmations.
const drainWait = 5 * time.Second

// StateFile is the forwarder's own checkpoint in the state directory: its
// positions advance only when Elasticsearch has confirmed the lines.
const StateFile = "forward-positions.json"

// Settings are the forwarder's knobs (from forward.elasticsearch).
type Settings struct {
	Index        string // pattern, e.g. logstash-%{+yyyy.MM.dd}
	DataStream   bool   // op_type create into a data stream
	MaxDocs      int
	MaxBytes     int
	MaxWait      time.Duration
	BufferMax    int64 // bytes not yet confirmed before when_full applies
	DropOldest   bool  // when_full: drop_oldest (else block)
	Workers      int
	CapturesKey  string
	RetryInitial time.Duration
	RetryMax     time.Duration
	FinalTimeout time.Duration // how long a stop may wait for confirmations
	Host         string        // host.name of the documents
	// Routes change how the lines of some inputs (by name) are sent.
	Routes map[string]Route
}

// Route sends the lines of one input differently from the rest.
type Route struct {
	Index string // index pattern instead of Settings.Index; "" = that one
	// IDFromText derives the document _id from the line's text instead of
	// its place in the file: for lines that carry their own identity, so
	// the same event written twice is stored once.
	IDFromText bool
	// Embed, when set, puts the line's text (when it is a JSON object)
	// into the document as structured fields under this dotted path.
	Embed string
}

// route is a Route ready to use.
type route struct {
	index      *indexName
	idFromText bool
	embed      []string
}

// Options wires a Forwarder.
type Options struct {
	Settings Settings
	Client   *Client
	Inputs   []tail.Input
	StateDir string
	Tail     tail.RunOptions // poll, scan and checkpoint rhythm
	Self     *metrics.Self   // may be nil
	Logger   *slog.Logger
	// Enrich, when set, adds metadata (Kubernetes) to each line first.
	Enrich func(*logline.Line)
	// Captures, when set with CapturesKey, returns the captures of the
	// rules that match the line.
	Captures func(*logline.Line, []Capture) []Capture
	// Clock and Sleep are injected by tests.
	Clock func() time.Time
	Sleep func(context.Context, time.Duration) error
}

// Forwarder reads the inputs with its own cursor and ships every line. A
// line's position is checkpointed only after Elasticsearch confirmed it
// (or it was rejected for good and written to the dead-letter file), so
// after a crash or an outage every line arrives at least once; its
// deterministic _id makes the second arrival an overwrite.
type Forwarder struct {
	o      Options
	s      Settings
	log    *slog.Logger
	tailer *tail.Tailer
	index  *indexName
	routes map[string]*route // by input name
	dead   *deadLetter

	ctx      context.Context // Run's: dispatching stops waiting when it ends
	cur      *batch
	pool     sync.Pool
	work     chan *batch
	inflight atomic.Int64 // batches handed to workers and not settled
	unseen   atomic.Int64 // bytes of files the reader has not found yet (see UnseenBytes)
	settled  chan struct{}
	dropping bool
	capBuf   []Capture

	sent, failed, retried, dropped prometheus.Counter
	bufferBytes                    prometheus.Gauge
	bulkSeconds                    prometheus.Observer
	lostBytes                      prometheus.Counter
}

// batch is one Bulk request body with the byte range of each document.
type batch struct {
	buf   []byte
	ends  []int // end of each item (action + source lines) in buf
	first time.Time
}

func (b *batch) reset() {
	b.buf, b.ends = b.buf[:0], b.ends[:0]
}

// New prepares a Forwarder; it reads its checkpoint from o.StateDir.
func New(o Options) (*Forwarder, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	s := o.Settings
	s.Workers = max(s.Workers, 1)
	s.MaxDocs = max(s.MaxDocs, 1)
	if s.MaxBytes <= 0 {
		s.MaxBytes = 5 << 20
	}
	if s.MaxWait <= 0 {
		s.MaxWait = time.Second
	}
	if s.RetryInitial <= 0 {
		s.RetryInitial = 500 * time.Millisecond
	}
	if s.RetryMax < s.RetryInitial {
		s.RetryMax = max(30*time.Second, s.RetryInitial)
	}
	if o.Client == nil {
		return nil, errors.New("forward: no Elasticsearch client")
	}
	idx, err := parseIndexName(s.Index)
	if err != nil {
		return nil, err
	}
	routes := map[string]*route{}
	for input, r := range s.Routes {
		rt := &route{index: idx, idFromText: r.IDFromText}
		if r.Index != "" {
			if rt.index, err = parseIndexName(r.Index); err != nil {
				return nil, err
			}
		}
		if r.Embed != "" {
			rt.embed = strings.Split(r.Embed, ".")
			if slices.Contains(rt.embed, "") {
				return nil, fmt.Errorf("forward: route of input %s: embed path %q has an empty key", input, r.Embed)
			}
		}
		routes[input] = rt
	}
	f := &Forwarder{
		o: o, s: s, log: o.Logger, index: idx, routes: routes,
		work:    make(chan *batch),
		settled: make(chan struct{}, 1),
		dead:    newDeadLetter(o.StateDir, 64<<20),
	}
	f.pool.New = func() any { return &batch{} }
	f.cur = f.pool.Get().(*batch)
	if self := o.Self; self != nil {
		f.sent = self.ForwardDocs.WithLabelValues(metrics.ResultSent)
		f.failed = self.ForwardDocs.WithLabelValues(metrics.ResultFailed)
		f.retried = self.ForwardDocs.WithLabelValues(metrics.ResultRetried)
		f.dropped = self.ForwardDocs.WithLabelValues(metrics.ResultDropped)
		f.bufferBytes = self.ForwardBufferBytes
		self.ForwardBufferMaxBytes.Set(float64(s.BufferMax))
		f.bulkSeconds = self.ForwardBulkDuration
		f.lostBytes = self.ForwardLostBytes
	}
	f.tailer, err = tail.New(tail.Options{
		Inputs:    o.Inputs,
		StateDir:  o.StateDir,
		StateFile: StateFile,
		// A small share per poll: the reader waits for the cluster within a
		// poll, and checkpoints come between polls.
		PollShare:        256 << 10,
		Logger:           o.Logger.With("path", "forward"),
		Clock:            o.Clock,
		CheckpointErrors: checkpointErrors(o.Self),
		OnLost: func(input string, n int64) {
			if f.lostBytes != nil {
				f.lostBytes.Add(float64(n))
			}
		},
	}, f.handle)
	if err != nil {
		return nil, err
	}
	f.restoreCounters(f.tailer.Restored())
	return f, nil
}

// checkpointErrors is the counter the forwarder's own checkpoint failures
// go to: the same as the metrics path's, as both leave state_dir unsaved.
func checkpointErrors(self *metrics.Self) prometheus.Counter {
	if self == nil {
		return nil
	}
	return self.CheckpointErrors
}

// SetInputs changes the inputs on a reload; call it through Do.
func (f *Forwarder) SetInputs(inputs []tail.Input) { f.tailer.SetInputs(inputs) }

// Run ships lines until ctx is done. At the end it waits up to
// FinalTimeout for the batches in flight, checkpoints what was confirmed,
// and returns.
func (f *Forwarder) Run(ctx context.Context) error {
	f.ctx = ctx
	sendCtx, stopSending := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range f.s.Workers {
		wg.Go(func() {
			for b := range f.work {
				f.send(sendCtx, b)
				b.reset()
				f.pool.Put(b)
				if f.inflight.Add(-1) == 0 {
					select {
					case f.settled <- struct{}{}:
					default:
					}
				}
			}
		})
	}
	// The buffer gauge is kept by its own goroutine: the reading one may be
	// waiting for the cluster, which is exactly when the gauge matters.
	gaugeCtx, stopGauge := context.WithCancel(ctx)
	defer stopGauge()
	if f.bufferBytes != nil {
		wg.Go(func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				// Files that appeared while the reader waits are waiting too.
				f.unseen.Store(f.tailer.UnseenBytes())
				f.bufferBytes.Set(float64(f.tailer.PendingBytes() + f.unseen.Load()))
				select {
				case <-gaugeCtx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}
	ro := f.o.Tail
	ro.AfterPoll = f.afterPoll
	ro.BeforeCheckpoint = f.drain
	ro.Extra = f.saveCounters
	ro.FinalTimeout = f.s.FinalTimeout
	err := f.tailer.Run(ctx, ro)
	stopSending()
	stopGauge()
	close(f.work)
	wg.Wait()
	f.dead.close()
	return err
}

// handle turns one line into a document of the current batch (tailer
// goroutine).
func (f *Forwarder) handle(l *logline.Line) {
	if f.dropping {
		if f.dropped != nil {
			f.dropped.Inc()
		}
		return
	}
	if f.o.Enrich != nil {
		f.o.Enrich(l)
	}
	ts := l.Time
	if ts.IsZero() {
		ts = f.o.Clock()
	}
	b := f.cur
	if len(b.ends) == 0 {
		b.first = f.o.Clock()
	}
	op := `{"index":{"_index":`
	if f.s.DataStream {
		op = `{"create":{"_index":`
	}
	index, id, rt := f.index, docID, (*route)(nil)
	if len(f.routes) > 0 {
		if rt = f.routes[l.Input]; rt != nil {
			index = rt.index
			if rt.idFromText {
				id = textID
			}
		}
	}
	b.buf = append(b.buf, op...)
	b.buf = appendJSONString(b.buf, []byte(index.name(ts)))
	b.buf = append(b.buf, `,"_id":"`...)
	b.buf = append(b.buf, id(l)...)
	b.buf = append(b.buf, "\"}}\n"...)
	var caps []Capture
	if f.s.CapturesKey != "" && f.o.Captures != nil {
		f.capBuf = f.o.Captures(l, f.capBuf[:0])
		caps = f.capBuf
	}
	b.buf = appendDocument(b.buf, l, ts, f.s.Host, f.s.CapturesKey, caps)
	if rt != nil && rt.embed != nil && !f.documentHas(rt.embed[0], l, caps) {
		b.buf = appendEmbedded(b.buf, rt.embed, l.Text)
	}
	b.buf = append(b.buf, '\n')
	b.ends = append(b.ends, len(b.buf))
	if len(b.ends) >= f.s.MaxDocs || len(b.buf) >= f.s.MaxBytes {
		f.dispatch(f.ctx)
	}
}

// documentHas reports whether the document of l already has the top-level
// key: embedding under it would write the key twice, which Elasticsearch
// refuses.
func (f *Forwarder) documentHas(key string, l *logline.Line, caps []Capture) bool {
	switch key {
	case "@timestamp", "message", "stream", "log", "event", "host":
		return true
	case "kubernetes":
		return l.Kube != nil
	}
	return key == f.s.CapturesKey && len(caps) > 0
}

// dispatch hands the current batch to a worker, waiting for one to be free:
// that wait is the back-pressure that holds back only this path. With
// when_full: drop_oldest and more than buffer.max_bytes waiting, a batch
// that would have to wait is dropped (and counted) instead, so the reader
// moves on. It reports whether the batch left (sent or dropped); when ctx
// ends first the batch stays, unconfirmed, and is read again after a restart.
func (f *Forwarder) dispatch(ctx context.Context) bool {
	if len(f.cur.ends) == 0 {
		return true
	}
	if ctx == nil {
		ctx = context.Background()
	}
	f.inflight.Add(1)
	select {
	case f.work <- f.cur:
	default:
		if f.overLimit() {
			f.dropCurrent()
			return true
		}
		// While waiting, the backlog can still grow past the limit (new
		// files, say): look again now and then.
		recheck := time.NewTicker(time.Second)
		defer recheck.Stop()
	wait:
		for {
			select {
			case f.work <- f.cur:
				break wait
			case <-ctx.Done():
				f.inflight.Add(-1)
				return false
			case <-recheck.C:
				if f.overLimit() {
					f.dropCurrent()
					return true
				}
			}
		}
	}
	f.cur = f.pool.Get().(*batch)
	return true
}

// dropCurrent drops the batch dispatch was handing over (drop_oldest),
// counting its documents.
func (f *Forwarder) dropCurrent() {
	f.inflight.Add(-1)
	f.count(f.dropped, len(f.cur.ends))
	f.cur.reset()
}

// overLimit reports whether, with when_full: drop_oldest, more than
// buffer.max_bytes wait: the current batch, what the followed files hold
// beyond it, and files not found yet (as of the gauge's last look).
func (f *Forwarder) overLimit() bool {
	return f.s.DropOldest && f.s.BufferMax > 0 &&
		f.tailer.PendingBytes()+f.unseen.Load()+int64(len(f.cur.buf)) > f.s.BufferMax
}

// afterPoll flushes a batch that waited long enough and applies the buffer
// limit (tailer goroutine).
func (f *Forwarder) afterPoll() {
	if len(f.cur.ends) > 0 && f.o.Clock().Sub(f.cur.first) >= f.s.MaxWait {
		f.dispatch(f.ctx)
	}
	pending := f.tailer.Lag()
	if f.s.DropOldest && f.s.BufferMax > 0 {
		// With drop_oldest, data beyond the limit is read and counted as
		// dropped instead of waiting for the cluster.
		over := pending > f.s.BufferMax
		if over != f.dropping {
			f.dropping = over
			if over {
				f.log.Warn("forward buffer full: dropping the oldest lines", "pending_bytes", pending, "max_bytes", f.s.BufferMax)
			}
		}
	}
}

// drain dispatches the current batch and waits until every batch in flight
// is settled, so the checkpoint that follows covers only confirmed lines.
//
// A periodic checkpoint waits at most drainWait: while the cluster is away
// the checkpoint is skipped rather than holding up the reader (which then
// keeps applying drop_oldest and serving reloads).
func (f *Forwarder) drain(ctx context.Context) bool {
	if _, final := ctx.Deadline(); !final {
		wait := drainWait
		if f.s.DropOldest {
			// The reader must keep moving to drop: wait a little only.
			wait = min(100*time.Millisecond, f.o.Tail.CheckpointEvery/4)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	if !f.dispatch(ctx) {
		return false
	}
	for f.inflight.Load() > 0 {
		select {
		case <-f.settled:
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
			// settled is a hint; re-check the count.
		}
	}
	return true
}

// send delivers one batch, retrying what the cluster could not take now
// (whole-request failures, items answered 429 or 5xx) with exponential
// backoff and jitter until it succeeds or ctx ends. Items rejected for good
// go to the dead-letter file.
func (f *Forwarder) send(ctx context.Context, b *batch) {
	items := make([]int, len(b.ends)) // indexes of items still to send
	for i := range items {
		items[i] = i
	}
	var scratch []byte
	for attempt := 0; len(items) > 0; attempt++ {
		// The whole batch is sent as it is; only a retry of some of its
		// items needs a body of its own.
		body := b.buf
		if len(items) < len(b.ends) {
			scratch = scratch[:0]
			for _, i := range items {
				start := 0
				if i > 0 {
					start = b.ends[i-1]
				}
				scratch = append(scratch, b.buf[start:b.ends[i]]...)
			}
			body = scratch
		}
		began := time.Now()
		results, err := f.o.Client.Bulk(ctx, body, len(items))
		if f.bulkSeconds != nil {
			f.bulkSeconds.Observe(time.Since(began).Seconds())
		}
		if err != nil {
			if ctx.Err() != nil {
				return // stopping: not confirmed, read again after the restart
			}
			if attempt == 0 || attempt%10 == 0 {
				f.log.Warn("bulk request failed; will retry", "docs", len(items), "attempt", attempt+1, "err", err)
			}
			f.count(f.retried, len(items))
			if f.o.Sleep(ctx, Backoff(attempt, f.s.RetryInitial, f.s.RetryMax, rand.Float64)) != nil {
				return
			}
			continue
		}
		var retry []int
		for k, r := range results {
			switch r.Outcome() {
			case OK:
				f.count(f.sent, 1)
			case Fail:
				f.count(f.failed, 1)
				start := 0
				if items[k] > 0 {
					start = b.ends[items[k]-1]
				}
				f.dead.write(b.buf[start:b.ends[items[k]]], r, f.log)
			default:
				retry = append(retry, items[k])
			}
		}
		items = retry
		if len(items) > 0 {
			f.count(f.retried, len(items))
			if f.o.Sleep(ctx, Backoff(attempt, f.s.RetryInitial, f.s.RetryMax, rand.Float64)) != nil {
				return
			}
		}
	}
}

func (f *Forwarder) count(c prometheus.Counter, n int) {
	if c != nil {
		c.Add(float64(n))
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
