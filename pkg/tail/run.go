package tail

import (
	"context"
	"encoding/json"
	"time"
)

// RunOptions sets the rhythm of Run.
type RunOptions struct {
	PollEvery       time.Duration // read appended data at least this often
	ScanEvery       time.Duration // look for new files this often
	CheckpointEvery time.Duration
	// Wake, when it delivers, makes Run poll at once (file-system events).
	Wake <-chan struct{}
	// Extra returns the pipeline state saved with each checkpoint. It runs
	// in Run's goroutine, between lines, so it sees the same moment as the
	// offsets.
	Extra func() json.RawMessage
	// Do runs functions in Run's goroutine, e.g. SetInputs on a reload.
	Do <-chan func()
	// Watcher, when set, is told which directories to watch after scans;
	// its Wake channel should be passed as Wake.
	Watcher *Watcher
	// AfterPoll runs after each round of reading (e.g. to flush a batch
	// that waited long enough).
	AfterPoll func()
	// BeforeCheckpoint runs before each checkpoint; when it reports false
	// the checkpoint is skipped (e.g. deliveries not confirmed yet). The
	// last one, at shutdown, gets FinalTimeout to finish.
	BeforeCheckpoint func(ctx context.Context) bool
	FinalTimeout     time.Duration
}

// Run follows files until ctx is done, then writes a last checkpoint and
// releases the files. Lines are delivered in Run's goroutine.
func (t *Tailer) Run(ctx context.Context, o RunOptions) error {
	extra := func() json.RawMessage {
		if o.Extra == nil {
			return nil
		}
		return o.Extra()
	}
	// With file-system events, new data is read as it is written; the full
	// poll is then only the net for what events miss, and need not run as
	// often (each one stats every followed file).
	pollEvery := o.PollEvery
	if o.Watcher != nil {
		pollEvery = max(pollEvery, minWatchedPoll)
	}
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	scan := time.NewTicker(o.ScanEvery)
	defer scan.Stop()
	ckpt := time.NewTicker(o.CheckpointEvery)
	defer ckpt.Stop()
	defer t.Close()

	var lastScan time.Time
	// What the next round reads: everything (at start, on the poll timer,
	// after a scan found files, while catching up, when events were lost)
	// or the files events named.
	all := true
	scanNow := func() {
		t.Scan()
		all = true // files found now are read at once, not at the next poll
		lastScan = t.now()
		if o.Watcher != nil {
			o.Watcher.Watch(t.Dirs())
		}
	}
	scanNow()
	checkpoint := func(ctx context.Context) error {
		if !t.Changed() {
			// Nothing was read or found since the last one: rewriting the
			// same state (with many series, a large file) is wasted work.
			return nil
		}
		if o.BeforeCheckpoint != nil && !o.BeforeCheckpoint(ctx) {
			return nil
		}
		return t.Checkpoint(extra())
	}
	final := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), max(o.FinalTimeout, time.Second))
		defer cancel()
		return checkpoint(ctx)
	}
	var touched Touched
	var lastWake time.Time
	for {
		var more bool
		if all {
			more = t.Poll()
		} else {
			more = t.PollFiles(touched.Files)
		}
		all = more // a backlog is read on at once, all files in turn
		if o.AfterPoll != nil {
			o.AfterPoll()
		}
		if more {
			// Still catching up with a backlog: do what is due (checkpoints
			// above all, so a crash during a long catch-up does not start it
			// over) without waiting, then read on.
			select {
			case <-ctx.Done():
				return final()
			case <-ckpt.C:
				if err := checkpoint(ctx); err != nil {
					t.checkpointFailed(err)
				}
			case <-scan.C:
				scanNow()
			case f := <-o.Do:
				f()
				t.dirty = true
				scanNow()
			default:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return final()
		case <-poll.C:
			all = true
		case <-o.Wake:
			// Files written one line at a time send an event per line: wait
			// a moment so that one round reads the lines of many events.
			if wait := wakeGap - time.Since(lastWake); wait > 0 {
				select {
				case <-ctx.Done():
					return final()
				case <-time.After(wait):
				}
			}
			lastWake = time.Now()
			touched = Touched{All: true}
			if o.Watcher != nil {
				touched = o.Watcher.Take()
			}
			all = touched.All
			// Events also announce new files: look for them, at most once
			// a second (a busy directory sends a stream of events).
			if touched.Created && t.now().Sub(lastScan) >= time.Second {
				scanNow()
			}
		case <-scan.C:
			scanNow()
		case f := <-o.Do:
			f()
			t.dirty = true
			scanNow()
		case <-ckpt.C:
			if err := checkpoint(ctx); err != nil {
				t.checkpointFailed(err)
			}
		}
	}
}

// minWatchedPoll is the shortest full-poll interval while events are
// watched.
const minWatchedPoll = time.Second

// wakeGap is the shortest time between two rounds started by events. It
// bounds the rounds per second whatever the number of writers, at the cost
// of that much delay for a line.
const wakeGap = 20 * time.Millisecond

// checkpointFailed reports a checkpoint that could not be written (a full
// or read-only state_dir): reading goes on, and the next checkpoint tries
// again; until one succeeds a restart resumes from the last good one.
func (t *Tailer) checkpointFailed(err error) {
	t.log.Error("checkpoint failed; reading goes on, a restart would resume from the last saved checkpoint", "err", err)
	if c := t.opts.CheckpointErrors; c != nil {
		c.Inc()
	}
}
