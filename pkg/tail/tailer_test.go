package tail

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logmeter/logmeter/pkg/logline"
	"github.com/logmeter/logmeter/pkg/metrics"
)

// harness drives a Tailer deterministically: the test moves the clock and
// calls Scan and Poll itself, so nothing sleeps.
type harness struct {
	t      *testing.T
	dir    string
	state  string
	now    time.Time
	inputs []Input
	opts   func(*Options)
	tl     *Tailer
	self   *metrics.Self
	lines  []string
}

func newHarness(t *testing.T, inputs ...Input) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	h.state = filepath.Join(h.dir, "state")
	for i := range inputs {
		for j, p := range inputs[i].Paths {
			inputs[i].Paths[j] = filepath.Join(h.dir, p)
		}
	}
	h.inputs = inputs
	h.start()
	return h
}

// start creates a Tailer as a (re)started process would.
func (h *harness) start() {
	h.t.Helper()
	self, err := metrics.NewSelf(prometheus.NewRegistry(), "test", "test")
	if err != nil {
		h.t.Fatal(err)
	}
	h.self = self
	o := Options{
		Inputs:     h.inputs,
		StateDir:   h.state,
		Clock:      func() time.Time { return h.now },
		Self:       self,
		DrainGrace: 5 * time.Second,
		ReadChunk:  64, // small, so lines straddle reads
	}
	if h.opts != nil {
		h.opts(&o)
	}
	tl, err := New(o, func(l *logline.Line) { h.lines = append(h.lines, string(l.Text)) })
	if err != nil {
		h.t.Fatal(err)
	}
	h.tl = tl
}

func (h *harness) path(name string) string { return filepath.Join(h.dir, name) }

func (h *harness) write(name, s string) {
	h.t.Helper()
	if err := os.MkdirAll(filepath.Dir(h.path(name)), 0o755); err != nil {
		h.t.Fatal(err)
	}
	f, err := os.OpenFile(h.path(name), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) rename(from, to string) {
	h.t.Helper()
	if err := os.Rename(h.path(from), h.path(to)); err != nil {
		h.t.Fatal(err)
	}
}

// cycle is one round of the daemon loop: scan, then poll until caught up.
func (h *harness) cycle() {
	h.tl.Scan()
	for h.tl.Poll() {
	}
}

func (h *harness) expect(want ...string) {
	h.t.Helper()
	if !slices.Equal(h.lines, want) {
		h.t.Errorf("lines = %q\nwant    %q", h.lines, want)
	}
	h.lines = nil
}

func (h *harness) counter(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

func plainInput(paths ...string) Input {
	return Input{Name: "in", Paths: paths, Format: FormatPlain, StartAt: StartAtBeginning}
}

func TestPartialLineWaitsForNewline(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	h.write("a.log", "one\ntw")
	h.cycle()
	h.expect("one")
	h.write("a.log", "o\nthree")
	h.cycle()
	h.expect("two")
	h.write("a.log", "\n")
	h.cycle()
	h.expect("three")
}

func TestRenameRotationReadsTheOldFileToItsEnd(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	h.write("a.log", "1\n2\n")
	h.cycle()
	h.expect("1", "2")
	h.write("a.log", "3\n4\n") // not read yet when rotated
	h.rename("a.log", "a.log.1")
	h.write("a.log", "5\n")
	h.write("a.log.1", "late\n") // the writer had not reopened yet
	h.cycle()
	h.expect("3", "4", "late", "5")
	if n := len(h.tl.followers); n != 2 {
		t.Errorf("following %d files during the drain grace, want 2", n)
	}
	h.now = h.now.Add(6 * time.Second)
	h.cycle()
	if n := len(h.tl.followers); n != 1 {
		t.Errorf("following %d files after the grace, want 1", n)
	}
	if got := h.counter(h.self.FilesWatched.WithLabelValues("in")); got != 1 {
		t.Errorf("files watched = %v, want 1", got)
	}
	h.write("a.log", "6\n")
	h.cycle()
	h.expect("6")
}

func TestCopyTruncateReadsTheCopy(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	h.write("a.log", "1\n2\n")
	h.cycle()
	h.expect("1", "2")
	h.write("a.log", "3\n4\n")
	data, _ := os.ReadFile(h.path("a.log"))
	if err := os.WriteFile(h.path("a.log.1"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(h.path("a.log"), 0); err != nil {
		t.Fatal(err)
	}
	h.write("a.log", "5\n")
	h.cycle()
	h.expect("3", "4", "5")
	if lost := h.counter(h.self.RotationLostBytes.WithLabelValues("in")); lost != 0 {
		t.Errorf("lost bytes = %v, want 0", lost)
	}
}

// A file truncated and written past the old offset again between two looks
// has a larger size than before: only its fingerprint shows it is new.
func TestTruncatedAndRegrownIsDetectedByFingerprint(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	h.write("a.log", "1\n")
	h.cycle()
	h.write("a.log", "22\n333\n")
	h.cycle()
	h.expect("1", "22", "333")
	if err := os.Truncate(h.path("a.log"), 0); err != nil {
		t.Fatal(err)
	}
	h.write("a.log", "fresh content, longer than before\n")
	h.cycle()
	h.expect("fresh content, longer than before")
}

func TestTruncationWithoutCopyIsCounted(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	h.opts = func(o *Options) { o.ReadChunk = 4 }
	h.start()
	h.write("a.log", "1\n")
	h.cycle()
	h.expect("1")
	// Make the tailer see the file grow without reading all of it: stat
	// happens in check, reading in read; simulate a reader that is behind
	// by recording the size by hand.
	h.write("a.log", "2222\n")
	f := h.tl.followers[0]
	f.size = 7
	if err := os.Truncate(h.path("a.log"), 0); err != nil {
		t.Fatal(err)
	}
	h.write("a.log", "x\n")
	h.cycle()
	h.expect("x")
	if lost := h.counter(h.self.RotationLostBytes.WithLabelValues("in")); lost != 5 {
		t.Errorf("lost bytes = %v, want 5", lost)
	}
}

func TestDeletedFileIsReadToItsEnd(t *testing.T) {
	h := newHarness(t, plainInput("*.log"))
	h.write("a.log", "1\n")
	h.cycle()
	h.expect("1")
	h.write("a.log", "2\n3")
	if err := os.Remove(h.path("a.log")); err != nil {
		t.Fatal(err)
	}
	h.cycle()
	h.expect("2")
	h.now = h.now.Add(10 * time.Second)
	h.cycle()
	h.expect("3") // the unterminated last line is delivered when the file is let go
	if n := len(h.tl.followers); n != 0 {
		t.Errorf("still following %d files", n)
	}
}

func TestCheckpointResumeAfterCrash(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	h.write("a.log", "1\n2\npart")
	h.cycle()
	h.expect("1", "2")
	if err := h.tl.Checkpoint(json.RawMessage(`{"k":1}`)); err != nil {
		t.Fatal(err)
	}
	h.write("a.log", "ial\n3\n")
	h.cycle()
	h.expect("partial", "3")
	// kill -9: no Close, no final checkpoint. The next process resumes at
	// the checkpoint, so the lines after it are read again (at least once).
	h.start()
	if got := string(h.tl.Restored()); got != `{"k":1}` {
		t.Errorf("restored extra = %s", got)
	}
	h.cycle()
	h.expect("partial", "3")
	h.write("a.log", "4\n")
	h.cycle()
	h.expect("4")
}

func TestStartAt(t *testing.T) {
	end := plainInput("*.log")
	end.StartAt = StartAtEnd
	h := newHarness(t, end)
	h.write("old.log", "old1\nold2\nunfinished")
	h.start() // a first start with files already there
	h.cycle()
	h.expect()
	h.write("old.log", " line\nnew\n")
	h.cycle()
	h.expect("unfinished line", "new")
	h.write("later.log", "from a file created while running\n")
	h.cycle()
	h.expect("from a file created while running")
	if err := h.tl.Checkpoint(nil); err != nil {
		t.Fatal(err)
	}
	// Not a first start any more: a file that appeared while down is read
	// from its beginning despite start_at: end.
	h.write("while-down.log", "a\n")
	h.start()
	h.cycle()
	h.expect("a")
}

func TestInodeReuseIsANewFile(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	h.write("a.log", "first file content\n")
	h.cycle()
	h.expect("first file content")
	if err := h.tl.Checkpoint(nil); err != nil {
		t.Fatal(err)
	}
	// Replace the content in place, keeping the inode: same dev/ino, other
	// fingerprint, as a recycled inode looks.
	if err := os.WriteFile(h.path("a.log"), []byte("other file, same inode and longer\nx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.cycle()
	h.expect("other file, same inode and longer", "x")
}

func TestRotatedWhileDown(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	h.write("a.log", "1\n")
	h.cycle()
	h.expect("1")
	if err := h.tl.Checkpoint(nil); err != nil {
		t.Fatal(err)
	}
	h.write("a.log", "2\n")
	h.rename("a.log", "a.log.1")
	h.write("a.log", "3\n")
	h.start()
	h.cycle()
	slices.Sort(h.lines)
	h.expect("2", "3")
}

func TestTooLongLines(t *testing.T) {
	in := plainInput("a.log")
	in.MaxLineBytes = 8
	h := newHarness(t, in)
	long := strings.Repeat("x", 70<<10) // longer than the physical limit too
	h.write("a.log", "short\n"+long+"\nafter\n")
	h.cycle()
	if len(h.lines) != 3 || h.lines[0] != "short" || h.lines[1] != "xxxxxxxx" || h.lines[2] != "after" {
		t.Errorf("lines = %.40q", h.lines)
	}
	if got := h.counter(h.self.DecodeErrors.WithLabelValues("in", ReasonTooLong)); got != 1 {
		t.Errorf("too_long = %v, want 1", got)
	}
}

func TestMultilineRecords(t *testing.T) {
	in := plainInput("a.log")
	in.Multiline = &MultilineConfig{Start: regexp.MustCompile(`^\S`), Timeout: 2 * time.Second}
	h := newHarness(t, in)
	h.write("a.log", "Exception in main\n\tat A.b(A.java:1)\n\tat C.d(C.java:2)\nnext\n")
	h.cycle()
	h.expect("Exception in main\n\tat A.b(A.java:1)\n\tat C.d(C.java:2)")
	if err := h.tl.Checkpoint(nil); err != nil {
		t.Fatal(err)
	}
	h.now = h.now.Add(3 * time.Second)
	h.cycle()
	h.expect("next") // flushed by the timeout
}

func TestGlobDiscoveryAndExclusion(t *testing.T) {
	in := plainInput("pods/**/*.log")
	in.Exclude = []string{"*_kube-system_*", "kube-system_*"} // containers/ and pods/ layouts
	h := newHarness(t, in)
	h.write("pods/shop_web_1/nginx/0.log", "a\n")
	h.write("pods/kube-system_dns_2/dns/0.log", "excluded\n")
	h.write("pods/shop_web_1/nginx/0.log.gz", "not a match\n")
	h.cycle()
	h.expect("a")
	h.write("pods/shop_api_3/api/0.log", "new file\n")
	h.cycle()
	h.expect("new file")
	if err := os.Remove(h.path("pods/shop_api_3/api/0.log")); err != nil {
		t.Fatal(err)
	}
	h.now = h.now.Add(time.Minute)
	h.cycle()
	if n := len(h.tl.followers); n != 1 {
		t.Errorf("following %d files, want 1", n)
	}
}

func TestSymlinkedContainerLogsFollowTheirTargetThroughRotation(t *testing.T) {
	h := newHarness(t, Input{Name: "containers", Paths: []string{"containers/*.log"}, Format: FormatCRI, StartAt: StartAtBeginning})
	target := "pods/shop_web_1/nginx/0.log"
	h.write(target, "2024-05-01T12:00:00Z stdout F one\n")
	h.link(target, "containers/web_shop_nginx-abc.log")
	h.cycle()
	h.expect("one")
	// kubelet rotates by renaming N.log and starting a new one.
	h.write(target, "2024-05-01T12:00:01Z stdout F two\n")
	h.rename(target, target+".20240501-120001")
	h.write(target, "2024-05-01T12:00:02Z stdout P thr\n2024-05-01T12:00:02Z stdout F ee\n")
	h.cycle()
	h.expect("two", "three")
}

func TestDescriptorsAreBounded(t *testing.T) {
	h := newHarness(t, plainInput("*.log"))
	h.opts = func(o *Options) { o.MaxOpenFiles = 2; o.IdleClose = time.Second }
	h.start()
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		h.write(n+".log", n+"\n")
	}
	h.cycle()
	if len(h.lines) != 5 {
		t.Fatalf("lines = %q", h.lines)
	}
	h.lines = nil
	h.now = h.now.Add(2 * time.Second)
	h.cycle()
	if h.tl.open > 2 {
		t.Errorf("%d files open, want at most 2", h.tl.open)
	}
	h.write("a.log", "a2\n")
	h.write("e.log", "e2\n")
	h.cycle()
	slices.Sort(h.lines)
	h.expect("a2", "e2")
}

// TestUnfollowablePathsAreReportedOnce: a directory and a FIFO matched by an
// input's glob are skipped (the FIFO without blocking), logged and counted
// once while they persist and again when they come back; the good file
// next to them is read.
func TestUnfollowablePathsAreReportedOnce(t *testing.T) {
	h := newHarness(t, plainInput("*.log"))
	h.write("good.log", "one\n")
	if err := os.Mkdir(h.path("dir.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(h.path("pipe.log"), 0o644); err != nil {
		t.Fatal(err)
	}
	notRegular := h.self.FileErrors.WithLabelValues("in", FileNotRegular)
	for range 3 {
		h.cycle()
	}
	h.expect("one")
	if got := h.counter(notRegular); got != 2 {
		t.Errorf("not_regular = %v after three scans, want 2 (the directory and the FIFO, once each)", got)
	}
	if got := h.counter(h.self.FilesWatched.WithLabelValues("in")); got != 1 {
		t.Errorf("files watched = %v, want 1", got)
	}
	// Gone and back: reported again.
	if err := os.Remove(h.path("pipe.log")); err != nil {
		t.Fatal(err)
	}
	h.cycle()
	if err := syscall.Mkfifo(h.path("pipe.log"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.write("good.log", "two\n")
	h.cycle()
	h.expect("two")
	if got := h.counter(notRegular); got != 3 {
		t.Errorf("not_regular = %v, want 3 after the FIFO came back", got)
	}
}

// TestOpenRegularDoesNotBlockOnFIFO: a FIFO swapped in between the scan's
// stat and the open is refused at once.
func TestOpenRegularDoesNotBlockOnFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.log")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := openRegular(p)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errNotRegular) {
			t.Errorf("openRegular(FIFO) = %v, want errNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("openRegular blocked on a FIFO")
	}
}

// TestCheckpointErrorsAreCountedAndReadingGoesOn: a state_dir that cannot
// be written (here: below a regular file) fails every checkpoint, counted in
// logmeter_checkpoint_errors_total, and lines are still delivered.
func TestCheckpointErrorsAreCountedAndReadingGoesOn(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "a.log")
	if err := os.WriteFile(logPath, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := metrics.NewSelf(prometheus.NewRegistry(), "test", "test")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []string
	tl, err := New(Options{Inputs: []Input{plainInput(logPath)}, StateDir: filepath.Join(blocker, "state"), Self: self},
		func(l *logline.Line) { mu.Lock(); lines = append(lines, string(l.Text)); mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- tl.Run(ctx, RunOptions{PollEvery: 5 * time.Millisecond, ScanEvery: 20 * time.Millisecond, CheckpointEvery: 10 * time.Millisecond})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(self.CheckpointErrors) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Error("Run returned no error although its final checkpoint failed")
	}
	if got := testutil.ToFloat64(self.CheckpointErrors); got < 2 {
		t.Errorf("checkpoint errors = %v, want at least 2", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(lines, []string{"one", "two"}) {
		t.Errorf("lines = %q, want one, two", lines)
	}
}

// TestDeliveredLinesCarryNoEarlierMetadata: the handler may attach
// metadata (the pod) to a line; the next line, maybe of another file, must
// arrive without it.
func TestDeliveredLinesCarryNoEarlierMetadata(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.log", "b.log"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name+" 1\n"+name+" 2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stale []string
	tl, err := New(Options{Inputs: []Input{plainInput(filepath.Join(dir, "*.log"))}, StateDir: filepath.Join(dir, "state")},
		func(l *logline.Line) {
			if l.Kube != nil {
				stale = append(stale, string(l.Text)+" came with "+l.Kube.Pod)
			}
			l.Kube = &logline.Kube{Pod: filepath.Base(l.Source)}
		})
	if err != nil {
		t.Fatal(err)
	}
	tl.Scan()
	for tl.Poll() {
	}
	if len(stale) > 0 {
		t.Errorf("lines arrived with the metadata of earlier lines: %q", stale)
	}
}
