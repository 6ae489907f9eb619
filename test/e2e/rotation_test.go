package e2e

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestRotationAndKills is the acceptance test: numbered nginx
// lines are written in bursts while the log is rotated 20 times (rename
// and copytruncate, alternately) and logmeter is killed with SIGKILL twice
// and restarted. Every line must be counted exactly once.
//
// The writer does not rotate while logmeter is down (TestRotatedWhileDown
// covers that), and rotations are further apart than scan_interval
// (TestFastRenameRotation covers closer ones).
func TestRotationAndKills(t *testing.T) {
	const (
		bursts      = 60
		burstLines  = 150
		perRotation = 3                      // bursts between rotations: 20 rotations
		pace        = 100 * time.Millisecond // between bursts: a rotation every 300ms > scan_interval
	)
	start := time.Now()
	e := newEnv(t, nginxRules(), "")
	w, err := newLogWriter(e.logPath)
	if err != nil {
		t.Fatal(err)
	}
	d := e.start(t)

	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		defer w.close()
		tick := time.NewTicker(pace) // pacing the writer, not synchronisation
		defer tick.Stop()
		for i := range bursts {
			select {
			case <-stop:
				writerDone <- fmt.Errorf("stopped after %d bursts", i)
				return
			case <-tick.C:
			}
			if err := w.write(burstLines); err != nil {
				writerDone <- err
				return
			}
			if (i+1)%perRotation != 0 {
				continue
			}
			n := (i + 1) / perRotation
			rotate := w.rotateCopyTruncate
			if n%2 == 1 {
				rotate = w.rotateRename // odd rotations rename, even ones copy and truncate
			}
			w.gate.Lock()
			err := rotate()
			w.gate.Unlock()
			if err != nil {
				writerDone <- fmt.Errorf("rotation %d: %w", n, err)
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

	// Kill 1 right after rotation 5 (a rename: the old file is still being
	// read); kill 2 in the middle of the second burst after rotation 11.
	kills := []struct{ afterRotations, extraLines int }{
		{5, 0},
		{11, burstLines + burstLines/2},
	}
	for k, kill := range kills {
		wantLines := kill.afterRotations*perRotation*burstLines + kill.extraLines
		waitFor(t, 20*time.Second, fmt.Sprintf("writer at rotation %d and %d lines", kill.afterRotations, wantLines), func() (bool, string) {
			select {
			case err := <-writerDone:
				writerFinished = true
				t.Fatalf("writer ended early: %v", err)
			default:
			}
			l, r := w.progress()
			return r >= kill.afterRotations && l >= wantLines, fmt.Sprintf("rotation %d, %d lines", r, l)
		})
		w.gate.Lock() // the writer goes on writing but does not rotate until the restart
		before := d.linesRead()
		written, _ := w.progress()
		d.kill()
		saved, _ := checkpointLinesRead(t, e.stateDir)
		d = e.start(t)
		after := d.linesRead()
		w.gate.Unlock()
		t.Logf("kill %d: %d lines written; lines_read %v just before SIGKILL, %v in the checkpoint, %v just after the restart: at least %v lines read again",
			k+1, written, before, saved, after, before-saved)
		if saved > before {
			t.Errorf("kill %d: checkpoint has lines_read %v, more than the %v scraped before the kill", k+1, saved, before)
		}
		if after < saved {
			t.Errorf("kill %d: lines_read %v after the restart is below the checkpoint's %v: the counter went back", k+1, after, saved)
		}
	}

	select {
	case err = <-writerDone:
		writerFinished = true
	case <-time.After(30 * time.Second):
		t.Fatal("writer did not finish within 30s")
	}
	if err != nil {
		t.Fatalf("writer: %v", err)
	}
	want := w.snapshot()
	if _, r := w.progress(); r != 20 {
		t.Fatalf("writer rotated %d times, want 20", r)
	}
	d.waitLines(want.lines, 20*time.Second)
	ms := d.scrape()
	t.Logf("written: %d lines (%d combined, %d timed, %d unmatched), %d bytes, 20 rotations, 2 kills; logmeter_bytes_read_total %v",
		want.lines, want.byKind["combined"], want.byKind["timed"], want.unmatched, want.bytes, ms.get("logmeter_bytes_read_total", "input", input))
	if lost := ms.get("logmeter_rotation_lost_bytes_total", "input", input); lost != 0 {
		t.Errorf("logmeter_rotation_lost_bytes_total = %v, want 0", lost)
	}
	checkCounts(t, ms, want)
	t.Logf("run time %s", time.Since(start).Round(time.Millisecond))
}

// TestRotatedWhileDown rotates the log while logmeter is stopped, after
// lines were appended that it has not read: on restart it must read them
// from the rotated file (rename) or from the copy (copytruncate).
func TestRotatedWhileDown(t *testing.T) {
	for _, mode := range []string{"rename", "copytruncate"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, nginxRules(), "")
			w, err := newLogWriter(e.logPath)
			if err != nil {
				t.Fatal(err)
			}
			defer w.close()
			d := e.start(t)
			const a, b, c = 400, 300, 200
			if err := w.write(a); err != nil {
				t.Fatal(err)
			}
			d.waitLines(a, 10*time.Second)
			// SIGTERM writes the checkpoint at exactly a lines; a SIGKILL after
			// a later checkpoint is the same situation.
			if code := d.stop(syscall.SIGTERM, 10*time.Second); code != 0 {
				t.Fatalf("exit status %d after SIGTERM", code)
			}
			if v, _ := checkpointLinesRead(t, e.stateDir); v != a {
				t.Fatalf("checkpoint has lines_read %v, want %d", v, a)
			}
			if err := w.write(b); err != nil { // unread when the file rotates
				t.Fatal(err)
			}
			rotate := w.rotateRename
			if mode == "copytruncate" {
				rotate = w.rotateCopyTruncate
			}
			if err := rotate(); err != nil {
				t.Fatal(err)
			}
			if err := w.write(c); err != nil {
				t.Fatal(err)
			}
			want := w.snapshot()
			d = e.start(t)
			got := d.waitLines(want.lines, 3*time.Second)
			ms := d.scrape()
			lost := ms.get("logmeter_rotation_lost_bytes_total", "input", input)
			t.Logf("%s while stopped: %d lines written (%d before the stop, %d after it before the rotation, the rest after); lines_read %v, rotation_lost_bytes %v",
				mode, want.lines, a, want.lines-a-c, got, lost)
			if mode == "copytruncate" {
				checkCounts(t, ms, want)
				return
			}
			if lost != 0 {
				t.Errorf("logmeter_rotation_lost_bytes_total = %v, want 0", lost)
			}
			checkCounts(t, ms, want)
		})
	}
}

// TestFastRenameRotation rotates by rename twice within one scan_interval,
// after logmeter saw the path missing between the rename and the create:
// the file created in between lives only briefly under the followed name,
// and its lines must still be read.
func TestFastRenameRotation(t *testing.T) {
	e := newEnv(t, nginxRules(), "{poll_interval: 50ms, scan_interval: 1s, checkpoint_interval: 200ms}")
	w, err := newLogWriter(e.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	d := e.start(t)
	if err := w.write(100); err != nil {
		t.Fatal(err)
	}
	d.waitLines(100, 10*time.Second)

	// Rename access.log away and let the writer add lines to the renamed
	// file; once logmeter has read them it has polled after the rename and
	// seen access.log missing.
	if err := w.shift(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := w.write(10); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the lines written after the rename", func() (bool, string) {
		v := d.linesRead()
		return v == 110, fmt.Sprintf("lines_read %v", v)
	})
	if err := w.f.Close(); err != nil {
		t.Fatal(err)
	}
	w.f, err = os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	// This generation is renamed away again at once, well within the 1s
	// scan_interval, the way a busy log rotated by size can be.
	if err := w.write(200); err != nil {
		t.Fatal(err)
	}
	if err := w.rotateRename(); err != nil {
		t.Fatal(err)
	}
	if err := w.write(50); err != nil {
		t.Fatal(err)
	}
	want := w.snapshot()
	got := d.waitLines(want.lines, 3*time.Second)
	ms := d.scrape()
	lost := ms.get("logmeter_rotation_lost_bytes_total", "input", input)
	t.Logf("two renames within scan_interval: %d lines written, lines_read %v, rotation_lost_bytes %v", want.lines, got, lost)
	checkCounts(t, ms, want)
}
